// Incremental copy of committed builds from one mirror store to another (fs → S3, S3 → fs, …), in
// the publish order of ARCHITECTURE §4 so the destination never shows a half build:
//   1. blobs   the ones the source's build.json files reference and the destination lacks, each
//              hashed while it streams through a local spool file and refused if its bytes do not
//              match its digest (bad bytes never reach the destination)
//   2. records build.json, create-only: an identical one already there is skipped, a different one
//              with the same id is a conflict and is never overwritten
//   3. view    (linking destinations) the browsable outputs/ tree, relinking what is missing
//   4. aliases latest (only ever forward, like publish), stable, and the source's pins
//   5. index   index.json brought up to date by the destination from its own build records
// As in a publish, a publish intent keeps the destination's GC away from the blobs until the
// records referencing them are written, and steps 2–5 run under the series lock. Every step skips
// what is already done, so an interrupted sync completes when rerun, and a repeated one copies and
// writes nothing. Builds the source no longer has are left alone: the destination has its own
// retention.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { parseBuildRecord, type BuildRecord } from './build-record.js';
import { waitForGc, writeIntent } from './blobs.js';
import { blobKey, buildRecordKey, formatTrainSeries, seriesLockKey, validateTrain, type TrainSeries } from './layout.js';
import { withLease, type LeaseOptions } from './lease.js';
import { writePins } from './pins.js';
import { NotFoundInMirrorError, listReleases, listSeries, listTrains } from './query.js';
import { buildRecordBytes, listBuildIds, readBuildRecord, readIndex, syncIndex, writeAlias } from './series.js';
import { PreconditionFailedError, type MirrorStore } from './stores/store.js';
import { copyBlob, ensureView, planAliases, sameRecord } from './sync-steps.js';
import { materialiseViewIfSupported } from './view.js';

export interface SyncOptions {
  /** Only this train (default: every train of the source). */
  train?: string;
  /** Blobs copied at once (default 4). */
  concurrency?: number;
  /** Where blobs are spooled while being verified (default the OS temp dir). */
  tmpDir?: string;
  lock?: LeaseOptions;
  /** How long the destination's GC must spare blobs if this sync dies mid-way (default 6 h). */
  intentTtlMs?: number;
  now?: () => Date;
  /** One line per build copied, for progress output. */
  log?: (message: string) => void;
}

export interface SyncFailure {
  series: string;
  buildId?: string;
  error: string;
}

export interface SeriesSyncReport extends TrainSeries {
  /** Committed builds in the source. */
  builds: number;
  copied: string[];
  /** Builds already in the destination, identical. */
  present: number;
  blobsCopied: number;
  blobsSkipped: number;
  bytesCopied: number;
  viewLinks: number;
  /** Aliases and pins changed in the destination, e.g. `latest → 20240501T120000Z`. */
  moved: string[];
  failures: SyncFailure[];
}

export interface SyncReport {
  from: string;
  to: string;
  series: SeriesSyncReport[];
  buildsCopied: number;
  buildsPresent: number;
  blobsCopied: number;
  blobsSkipped: number;
  bytesCopied: number;
  failures: SyncFailure[];
}

export class SyncFailedError extends Error {
  constructor(readonly report: SyncReport) {
    const first = report.failures[0];
    const where = first ? `${first.series}${first.buildId ? `/${first.buildId}` : ''}` : '';
    super(`sync ${report.from} → ${report.to}: ${report.failures.length} problem(s); first ${where}: ${first?.error ?? ''}`);
    this.name = 'SyncFailedError';
  }
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

interface Ctx {
  from: MirrorStore;
  to: MirrorStore;
  options: SyncOptions;
  now: () => Date;
  spool: string;
}

interface SeriesRun {
  ctx: Ctx;
  ts: TrainSeries;
  label: string;
  report: SeriesSyncReport;
  /** Build ids whose destination record differs from the source's. */
  conflicts: Set<string>;
  fail(err: unknown, buildId?: string): void;
}

/** Sorts the source's builds into those the destination lacks and those it has (identical). */
async function classify(run: SeriesRun): Promise<{ pending: BuildRecord[]; present: BuildRecord[] }> {
  const { from, to } = run.ctx;
  const pending: BuildRecord[] = [];
  const present: BuildRecord[] = [];
  for (const id of await listBuildIds(from, run.ts)) {
    try {
      const record = await readBuildRecord(from, run.ts, id);
      if (!record) continue; // a folder without build.json is not a committed build
      run.report.builds += 1;
      const key = buildRecordKey(run.ts, id);
      const theirs = await to.get(key);
      if (!theirs) pending.push(record);
      else if (sameRecord(parseBuildRecord(theirs, `${to.location} ${key}`), record)) present.push(record);
      else {
        run.conflicts.add(id);
        run.fail(new Error('a different build.json with this id exists in the destination; not overwritten'), id);
      }
    } catch (err) {
      run.fail(err, id);
    }
  }
  return { pending, present };
}

/** Step 1: copies the blobs `pending` builds need; returns the builds whose blobs are now all there. */
async function copyBlobs(run: SeriesRun, pending: readonly BuildRecord[]): Promise<BuildRecord[]> {
  const { ctx, report } = run;
  const sizes = new Map<string, number>();
  for (const r of pending) for (const f of Object.values(r.files)) sizes.set(f.digest, f.size);
  await waitForGc(ctx.to, ctx.options.lock?.waitMs ?? 10 * 60_000, ctx.now);
  const refused = new Map<string, string>();
  const limit = pLimit(ctx.options.concurrency ?? 4);
  await Promise.all(
    [...sizes].map(([digest, size]) =>
      limit(async () => {
        try {
          if ((await ctx.to.stat(blobKey(digest)))?.size === size) {
            report.blobsSkipped += 1;
            return;
          }
          await copyBlob(ctx.from, ctx.to, digest, size, ctx.spool);
          report.blobsCopied += 1;
          report.bytesCopied += size;
        } catch (err) {
          refused.set(digest, message(err));
        }
      }),
    ),
  );
  // A build whose blobs did not all arrive is not committed: its record would point at nothing.
  return pending.filter((r) => {
    const bad = Object.entries(r.files).find(([, f]) => refused.has(f.digest));
    if (bad) run.fail(new Error(`not copied: ${bad[0]}: ${refused.get(bad[1].digest) ?? ''}`), r.buildId);
    return !bad;
  });
}

/** Whether a destination that already has every build still lacks a view file, an alias, a pin or index entries. */
async function needsRepair(run: SeriesRun, present: readonly BuildRecord[], ids: ReadonlySet<string>): Promise<boolean> {
  const { from, to } = run.ctx;
  for (const record of present) if ((await ensureView(to, run.ts, record, false)) > 0) return true;
  if ((await planAliases(from, to, run.ts, ids, run.conflicts)).moved.length > 0) return true;
  const indexed = new Set((await readIndex(to, run.ts))?.builds.map((b) => b.buildId));
  return [...ids].some((id) => !indexed.has(id));
}

/** Steps 2–5, under the destination's series lock. */
async function commit(run: SeriesRun, ready: readonly BuildRecord[], present: BuildRecord[]): Promise<void> {
  const { ctx, ts, label, report } = run;
  const to = ctx.to;
  await withLease(to, seriesLockKey(ts), { purpose: `sync ${label}`, ...ctx.options.lock }, async (lease) => {
    await lease.assertHeld();
    const committed: BuildRecord[] = [];
    for (const record of ready) {
      try {
        await to.put(buildRecordKey(ts, record.buildId), buildRecordBytes(record), { ifAbsent: true, contentType: 'application/json' });
        committed.push(record);
        report.copied.push(record.buildId);
        ctx.options.log?.(`copied ${label}/${record.buildId}`);
      } catch (err) {
        // Written meanwhile by another sync or publish: fine if it is the same build.
        if (!(err instanceof PreconditionFailedError)) {
          run.fail(err, record.buildId);
          continue;
        }
        const theirs = await readBuildRecord(to, ts, record.buildId);
        if (theirs && sameRecord(theirs, record)) {
          present.push(record);
          continue;
        }
        run.conflicts.add(record.buildId);
        run.fail(new Error('a different build.json with this id appeared in the destination; not overwritten'), record.buildId);
      }
    }
    report.present = present.length;
    const ids = new Set<string>();
    // New builds get their view as a publish makes it; present ones only what an interruption left out.
    for (const record of committed) report.viewLinks += await materialiseViewIfSupported(to, ts, record);
    for (const record of present) report.viewLinks += await ensureView(to, ts, record, true);
    for (const record of [...committed, ...present]) ids.add(record.buildId);
    const plan = await planAliases(ctx.from, to, ts, ids, run.conflicts);
    if (plan.latest) await writeAlias(to, ts, 'latest', plan.latest);
    if (plan.stable) await writeAlias(to, ts, 'stable', plan.stable);
    if (plan.pins) await writePins(to, ts, plan.pins);
    report.moved.push(...plan.moved);
    await syncIndex(to, ts, { now: ctx.now(), upsert: committed });
  });
}

async function syncSeries(ctx: Ctx, ts: TrainSeries): Promise<SeriesSyncReport> {
  const label = formatTrainSeries(ts);
  const report: SeriesSyncReport = { ...ts, builds: 0, copied: [], present: 0, blobsCopied: 0, blobsSkipped: 0, bytesCopied: 0, viewLinks: 0, moved: [], failures: [] };
  const run: SeriesRun = {
    ctx,
    ts,
    label,
    report,
    conflicts: new Set(),
    fail: (err, buildId) => report.failures.push({ series: label, ...(buildId ? { buildId } : {}), error: message(err) }),
  };
  const { pending, present } = await classify(run);
  report.present = present.length;
  // Look before locking: a repeated sync that finds everything in place writes nothing at all.
  if (pending.length === 0) {
    if (present.length > 0 && (await needsRepair(run, present, new Set(present.map((r) => r.buildId))))) await commit(run, [], present);
    return report;
  }
  const digests = pending.flatMap((r) => Object.values(r.files).map((f) => f.digest));
  const intent = await writeIntent(ctx.to, `sync ${label}`, digests, ctx.options.intentTtlMs ?? 6 * 3600_000, ctx.now());
  try {
    const ready = await copyBlobs(run, pending);
    if (ready.length > 0 || present.length > 0) await commit(run, ready, present);
  } finally {
    await intent.release();
  }
  return report;
}

/** Every train/release/series of the source (or of one train). */
async function sourceSeries(from: MirrorStore, train?: string): Promise<TrainSeries[]> {
  const trains = await listTrains(from);
  if (train !== undefined && !trains.includes(validateTrain(train))) {
    throw new NotFoundInMirrorError(`no train ${train} in ${from.location}; trains: ${trains.join(', ') || '(none)'}`);
  }
  const out: TrainSeries[] = [];
  for (const t of train === undefined ? trains : [train]) {
    for (const release of await listReleases(from, t)) {
      for (const series of await listSeries(from, t, release)) out.push({ train: t, release, series });
    }
  }
  return out;
}

/** Copies what `to` lacks of `from`'s committed builds. Throws SyncFailedError (with the report) if anything could not be copied. */
export async function syncMirror(from: MirrorStore, to: MirrorStore, options: SyncOptions = {}): Promise<SyncReport> {
  const list = await sourceSeries(from, options.train);
  const spool = await mkdtemp(join(options.tmpDir ?? tmpdir(), 'heliostat-sync-'));
  const ctx: Ctx = { from, to, options, now: options.now ?? (() => new Date()), spool };
  const series: SeriesSyncReport[] = [];
  try {
    for (const ts of list) series.push(await syncSeries(ctx, ts));
  } finally {
    await rm(spool, { recursive: true, force: true });
  }
  const sum = (pick: (s: SeriesSyncReport) => number) => series.reduce((n, s) => n + pick(s), 0);
  const report: SyncReport = {
    from: from.location,
    to: to.location,
    series,
    buildsCopied: sum((s) => s.copied.length),
    buildsPresent: sum((s) => s.present),
    blobsCopied: sum((s) => s.blobsCopied),
    blobsSkipped: sum((s) => s.blobsSkipped),
    bytesCopied: sum((s) => s.bytesCopied),
    failures: series.flatMap((s) => s.failures),
  };
  if (report.failures.length > 0) throw new SyncFailedError(report);
  return report;
}
