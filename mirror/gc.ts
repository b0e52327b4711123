// Garbage collection of blobs and orphan build folders. A blob goes only when no committed
// build.json references it AND it was last written longer ago than the grace period AND no live
// publish intent names it. Deletion runs under the GC lock, which publishes wait on before they
// look up which blobs exist; after taking the lock, GC re-reads intents and any build committed
// since its first scan. So a blob a publish has found present, or has just uploaded, is never
// deleted under it.
import { BLOBS_PREFIX, GC_LOCK_KEY, buildPrefix, buildRecordKey, digestFromBlobKey, type TrainSeries } from './layout.js';
import { readIntents } from './blobs.js';
import { withLease, type LeaseOptions } from './lease.js';
import { listReleases, listSeries, listTrains } from './query.js';
import { listBuildIds, readRecords } from './series.js';
import { FsStore } from './stores/fs.js';
import type { MirrorStore } from './stores/store.js';

export interface GcOptions {
  /** Only blobs last written longer ago than this are collected (default 24 h). */
  graceMs?: number;
  dryRun?: boolean;
  now?: () => Date;
  lock?: LeaseOptions;
}

export interface GcCandidate {
  key: string;
  size: number;
  reason: string;
}

export interface GcReport {
  dryRun: boolean;
  /** Blobs (and orphan view files) deleted, or that would be on a dry run. */
  deleted: GcCandidate[];
  bytesFreed: number;
  referencedBlobs: number;
  /** Unreferenced blobs kept because they are younger than the grace period or named by a publish intent. */
  protectedBlobs: number;
  builds: number;
}

interface Scan {
  /** build.json keys already read. */
  seen: Set<string>;
  referenced: Set<string>;
  /** Build folders (prefixes) without a build.json. */
  orphanFolders: Set<string>;
}

async function allSeries(store: MirrorStore): Promise<TrainSeries[]> {
  const out: TrainSeries[] = [];
  for (const train of await listTrains(store)) {
    for (const release of await listReleases(store, train)) {
      for (const series of await listSeries(store, train, release)) out.push({ train, release, series });
    }
  }
  return out;
}

/** Reads every build.json not yet in `scan.seen`, adding its digests to the referenced set. */
async function scanRecords(store: MirrorStore, scan: Scan): Promise<void> {
  for (const ts of await allSeries(store)) {
    const ids = await listBuildIds(store, ts);
    const fresh = ids.filter((id) => !scan.seen.has(buildRecordKey(ts, id)));
    const records = await readRecords(store, ts, fresh);
    const found = new Set(records.map((r) => r.buildId));
    for (const r of records) {
      scan.seen.add(buildRecordKey(ts, r.buildId));
      scan.orphanFolders.delete(buildPrefix(ts, r.buildId));
      for (const f of Object.values(r.files)) scan.referenced.add(f.digest);
    }
    for (const id of fresh) if (!found.has(id)) scan.orphanFolders.add(buildPrefix(ts, id));
  }
}

export async function collectGarbage(store: MirrorStore, options: GcOptions = {}): Promise<GcReport> {
  const now = options.now ?? (() => new Date());
  const graceMs = options.graceMs ?? 24 * 3600_000;
  const scan: Scan = { seen: new Set(), referenced: new Set(), orphanFolders: new Set() };
  await scanRecords(store, scan);

  const findCandidates = async (protectedDigests: ReadonlySet<string>) => {
    const cutoff = now().getTime() - graceMs;
    const candidates: GcCandidate[] = [];
    let young = 0;
    for await (const info of store.list(BLOBS_PREFIX)) {
      const digest = digestFromBlobKey(info.key);
      if (!digest || scan.referenced.has(digest)) continue;
      if (info.modified.getTime() > cutoff || protectedDigests.has(digest)) {
        young += 1;
        continue;
      }
      candidates.push({ key: info.key, size: info.size, reason: `unreferenced since at least ${info.modified.toISOString()}` });
    }
    // A folder with a view but no build.json is what a crash during retention leaves behind.
    // (View files are hard links, so their times are the blob's and say nothing about the folder;
    // what matters is that build.json is absent now, checked again just before deleting.)
    for (const folder of scan.orphanFolders) {
      if (await store.stat(`${folder}build.json`)) continue;
      for await (const info of store.list(folder)) {
        if (info.key.endsWith('/build.json')) continue;
        candidates.push({ key: info.key, size: info.size, reason: `view of a deleted build (${folder})` });
      }
    }
    return { candidates, young };
  };

  const report = (deleted: GcCandidate[], protectedBlobs: number, dryRun: boolean): GcReport => ({
    dryRun,
    deleted,
    bytesFreed: deleted.reduce((s, c) => s + c.size, 0),
    referencedBlobs: scan.referenced.size,
    protectedBlobs,
    builds: scan.seen.size,
  });

  if (options.dryRun) {
    const { digests } = await readIntents(store, now());
    const { candidates, young } = await findCandidates(digests);
    return report(candidates, young, true);
  }

  return withLease(store, GC_LOCK_KEY, { purpose: 'gc', ...options.lock }, async () => {
    // Under the lock no publish can newly find a blob present; catch up with what happened before.
    const intents = await readIntents(store, now());
    await scanRecords(store, scan);
    const { candidates, young } = await findCandidates(intents.digests);
    for (let i = 0; i < candidates.length; i += 500) await store.delete(candidates.slice(i, i + 500).map((c) => c.key));
    if (intents.expired.length > 0) await store.delete(intents.expired);
    // Temporary files of writers that crashed mid-write (filesystem store only).
    if (store instanceof FsStore) await store.removeStaleTemp(new Date(now().getTime() - graceMs));
    return report(candidates, young, false);
  });
}
