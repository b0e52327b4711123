// Promotion and pins as the controller offers them: a ref as consumers write it (release by
// codename or number), resolved against the mirror; promotion also moves the registry's `-stable`
// tags first when the build was pushed, so the mirror's stable never names images the registry
// does not call stable. Errors about the caller's input are usage errors.
import { text } from 'node:stream/consumers';
import { collectGarbage } from '../../mirror/gc.js';
import { buildRecordKey, formatTrainSeries, validatePinName, validateRelease, validateSeries, validateTrain, type TrainSeries } from '../../mirror/layout.js';
import { applyRetention, LifecycleError, promote as promoteStable, removePin, setPin } from '../../mirror/lifecycle.js';
import { listBuilds, NotFoundInMirrorError, openOutput, resolveRef, showBuild } from '../../mirror/query.js';
import type { RetentionPolicy } from '../../mirror/retention.js';
import { parseInstant } from '../../mirror/ref.js';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { findRelease } from '../catalog/releases.js';
import { UsageError } from '../errors.js';
import { tagSeries, type RegistryTarget } from '../registry/config.js';
import { promote as promoteImages, type ImageRecord } from '../registry/publish.js';
import type { GcResult } from './types.js';

const normaliseRelease = (release: string) => findRelease(release)?.number ?? release;

async function resolve(store: MirrorStore, ref: string) {
  try {
    return await resolveRef(store, ref, { normaliseRelease });
  } catch (error) {
    if (error instanceof NotFoundInMirrorError) throw error;
    throw asUsage(error);
  }
}

function asUsage(error: unknown): Error {
  if (error instanceof Error && (error as { usage?: unknown }).usage === true) return error;
  return new UsageError(error instanceof Error ? error.message : String(error));
}

export interface PromoteResult {
  ref: string;
  buildId: string;
  series: TrainSeries;
  previous?: string;
  imagesTagged: number;
}

export async function promoteRef(store: MirrorStore, ref: string, registry: RegistryTarget | undefined): Promise<PromoteResult> {
  const found = await resolve(store, ref);
  const ts: TrainSeries = { train: found.train, release: found.release, series: found.series };
  const record = await showBuild(store, ts, found.buildId);
  if (record.result !== 'success') throw new UsageError(`cannot promote ${formatTrainSeries(ts)}/${found.buildId}: its result is ${record.result}`);
  let imagesTagged = 0;
  if (registry && record.files['images.json']) {
    const opened = await openOutput(store, ts, found.buildId, 'images.json');
    const images = JSON.parse(await text(opened.stream)) as ImageRecord[];
    imagesTagged = (await promoteImages(images, ts.release, ts.train, registry, {}, tagSeries(ts.release, ts.series))).length;
  }
  try {
    const { previous } = await promoteStable(store, ts, found.buildId);
    return { ref: found.ref, buildId: found.buildId, series: ts, ...(previous ? { previous } : {}), imagesTagged };
  } catch (error) {
    if (error instanceof LifecycleError) throw new UsageError(error.message);
    throw error;
  }
}

export async function pinRef(
  store: MirrorStore,
  ref: string,
  name: string,
  options: { expiresAt?: string; note?: string },
  now: Date,
): Promise<{ ref: string; buildId: string; series: TrainSeries; expiresAt?: string }> {
  const pinName = checkedName(name);
  const expiresAt = options.expiresAt === undefined ? undefined : checked(() => parseInstant(options.expiresAt ?? ''));
  if (expiresAt && expiresAt.getTime() <= now.getTime()) throw new UsageError(`pin ${pinName}: expiresAt is not in the future`);
  // A note is shown one line per pin in listings: control characters would break them.
  // eslint-disable-next-line no-control-regex
  if (options.note !== undefined && (options.note.length > 1024 || /[\u0000-\u001f\u007f]/.test(options.note))) {
    throw new UsageError('note must be one line of at most 1024 characters');
  }
  const found = await resolve(store, ref);
  const ts: TrainSeries = { train: found.train, release: found.release, series: found.series };
  try {
    const pin = await setPin(store, ts, pinName, found.buildId, { ...(expiresAt ? { expiresAt } : {}), ...(options.note ? { note: options.note } : {}), now: () => now });
    return { ref: found.ref, buildId: found.buildId, series: ts, ...(pin.expiresAt ? { expiresAt: pin.expiresAt } : {}) };
  } catch (error) {
    if (error instanceof LifecycleError) throw new UsageError(error.message);
    throw error;
  }
}

/** `TRAIN/RELEASE/SERIES` (release by codename or number) as the mirror names it. */
export function parseSeriesRef(seriesRef: string): TrainSeries {
  const parts = seriesRef.split('/');
  if (parts.length !== 3) throw new UsageError(`invalid series ${JSON.stringify(seriesRef)}: expected TRAIN/RELEASE/SERIES`);
  const [train = '', release = '', series = ''] = parts;
  return checked(() => ({ train: validateTrain(train), release: validateRelease(normaliseRelease(release)), series: validateSeries(series) }));
}

/** `seriesRef` is `TRAIN/RELEASE/SERIES`; a pin that does not exist is reported as not found. */
export async function unpinRef(store: MirrorStore, seriesRef: string, name: string): Promise<TrainSeries> {
  const ts = parseSeriesRef(seriesRef);
  const pinName = checkedName(name);
  if (!(await removePin(store, ts, pinName))) throw new NotFoundInMirrorError(`no pin named ${pinName} in ${formatTrainSeries(ts)}`);
  return ts;
}

function checkedName(name: string): string {
  return checked(() => validatePinName(name));
}

function checked<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    throw asUsage(error);
  }
}

/** A build that can run in the model: committed, successful, with its rocks in a registry. */
export async function resolveAttachable(store: MirrorStore, ref: string): Promise<{ ref: string; series: TrainSeries; buildId: string }> {
  const found = await resolve(store, ref);
  const ts: TrainSeries = { train: found.train, release: found.release, series: found.series };
  const record = await showBuild(store, ts, found.buildId);
  const where = `${formatTrainSeries(ts)}/${found.buildId}`;
  if (record.result !== 'success') throw new UsageError(`cannot attach ${where}: its result is ${record.result}`);
  if (!record.rocks.some((r) => r.image)) throw new UsageError(`cannot attach ${where}: it was pushed to no registry, so the model cannot pull its images`);
  return { ref: found.ref, series: ts, buildId: found.buildId };
}

/** The newest successful build of a series published before `buildId`. */
export async function previousSuccess(store: MirrorStore, ts: TrainSeries, buildId: string): Promise<string | undefined> {
  const { builds } = await listBuilds(store, ts);
  return builds.filter((b) => b.result === 'success' && b.buildId < buildId).at(-1)?.buildId;
}

/** Which of the candidate series holds `buildId`. */
export async function seriesHolding(store: MirrorStore, candidates: readonly TrainSeries[], buildId: string): Promise<TrainSeries | undefined> {
  for (const ts of candidates) if (await store.stat(buildRecordKey(ts, buildId))) return ts;
  return undefined;
}

export interface GcPlan {
  /** Series with a retention policy, and the build ids of each that run in the model. */
  series: Array<{ series: TrainSeries; policy: RetentionPolicy; inUse: readonly string[] }>;
  dryRun: boolean;
  now: () => Date;
}

/** Retention of each series (as configured), then blob GC over the whole mirror. */
export async function gcMirror(store: MirrorStore, plan: GcPlan): Promise<GcResult> {
  const retention: GcResult['retention'] = [];
  for (const { series, policy, inUse } of plan.series) {
    // A configured train never built has nothing to keep or drop (and no index to write).
    if ((await listBuilds(store, series)).builds.length === 0) continue;
    const report = await applyRetention(store, series, policy, { inUse, dryRun: plan.dryRun, now: plan.now });
    if (report.decision.drop.length > 0) retention.push({ ...series, drop: report.decision.drop.map((d) => ({ buildId: d.buildId, reason: d.reason })), deleted: report.deleted });
  }
  const gc = await collectGarbage(store, { dryRun: plan.dryRun, now: plan.now });
  return {
    dryRun: plan.dryRun,
    retention,
    gc: { objects: gc.deleted.length, bytesFreed: gc.bytesFreed, referencedBlobs: gc.referencedBlobs, protectedBlobs: gc.protectedBlobs, builds: gc.builds },
  };
}
