// Promotion and pins as the controller offers them: a ref as consumers write it (release by
// codename or number), resolved against the mirror; promotion also moves the registry's `-stable`
// tags first when the build was pushed, so the mirror's stable never names images the registry
// does not call stable. Errors about the caller's input are usage errors.
import { text } from 'node:stream/consumers';
import { formatTrainSeries, validatePinName, validateRelease, validateSeries, validateTrain, type TrainSeries } from '../../mirror/layout.js';
import { LifecycleError, promote as promoteStable, removePin, setPin } from '../../mirror/lifecycle.js';
import { NotFoundInMirrorError, openOutput, resolveRef, showBuild } from '../../mirror/query.js';
import { parseInstant } from '../../mirror/ref.js';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { findRelease } from '../catalog/releases.js';
import { UsageError } from '../errors.js';
import type { RegistryTarget } from '../registry/config.js';
import { promote as promoteImages, type ImageRecord } from '../registry/publish.js';

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
    imagesTagged = (await promoteImages(images, ts.release, ts.train, registry)).length;
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

/** `seriesRef` is `TRAIN/RELEASE/SERIES`; a pin that does not exist is reported as not found. */
export async function unpinRef(store: MirrorStore, seriesRef: string, name: string): Promise<TrainSeries> {
  const parts = seriesRef.split('/');
  if (parts.length !== 3) throw new UsageError(`invalid series ${JSON.stringify(seriesRef)}: expected TRAIN/RELEASE/SERIES`);
  const [train = '', release = '', series = ''] = parts;
  const ts = checked(() => ({ train: validateTrain(train), release: validateRelease(normaliseRelease(release)), series: validateSeries(series) }));
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
