// Changing what a series offers after publish: promotion to stable, named pins, retention, and
// repair after an interrupted writer. Every mutation runs under the series lock, the same one
// publishes take, so it never races an alias move or an index rewrite.
import { formatTrainSeries, seriesLockKey, validatePinName, validateRelease, validateSeries, validateTrain, type TrainSeries } from './layout.js';
import { withLease, type LeaseOptions } from './lease.js';
import { isPinLive, readPins, writePins, type Pin } from './pins.js';
import { NotFoundInMirrorError, listBuilds, listReleases, listSeries } from './query.js';
import { decideRetention, validatePolicy, type RetentionDecision, type RetentionPolicy } from './retention.js';
import { listBuildIds, readAlias, readBuildRecord, readRecords, syncIndex, writeAlias } from './series.js';
import { canLink } from './stores/linking.js';
import type { MirrorStore } from './stores/store.js';
import { deleteBuildObjects, materialiseView } from './view.js';

export interface LifecycleOptions {
  lock?: LeaseOptions;
  now?: () => Date;
}

export class LifecycleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LifecycleError';
  }
}

function underLock<T>(store: MirrorStore, ts: TrainSeries, purpose: string, options: LifecycleOptions, work: () => Promise<T>): Promise<T> {
  return withLease(store, seriesLockKey(ts), { purpose: `${purpose} ${formatTrainSeries(ts)}`, ...options.lock }, work);
}

/** Points stable_build at a committed, successful build. Returns the build it pointed at before. */
export async function promote(store: MirrorStore, ts: TrainSeries, buildId: string, options: LifecycleOptions = {}): Promise<{ previous?: string }> {
  return underLock(store, ts, 'promote', options, async () => {
    const record = await readBuildRecord(store, ts, buildId);
    if (!record) throw new NotFoundInMirrorError(`no build ${formatTrainSeries(ts)}/${buildId}`);
    if (record.result !== 'success') throw new LifecycleError(`cannot promote ${buildId}: its result is ${record.result}`);
    const previous = await readAlias(store, ts, 'stable');
    await writeAlias(store, ts, 'stable', buildId);
    return previous ? { previous } : {};
  });
}

export interface PinOptions extends LifecycleOptions {
  expiresAt?: Date;
  note?: string;
}

/** Creates or moves a named pin to a committed build (any result: a consumer may pin a failure to study it). */
export async function setPin(store: MirrorStore, ts: TrainSeries, name: string, buildId: string, options: PinOptions = {}): Promise<Pin> {
  validatePinName(name);
  const now = (options.now ?? (() => new Date()))();
  if (options.expiresAt && options.expiresAt.getTime() <= now.getTime()) throw new LifecycleError(`pin ${name}: expiry is in the past`);
  return underLock(store, ts, 'pin', options, async () => {
    if (!(await readBuildRecord(store, ts, buildId))) throw new NotFoundInMirrorError(`no build ${formatTrainSeries(ts)}/${buildId}`);
    const file = await readPins(store, ts);
    const pin: Pin = {
      buildId,
      createdAt: now.toISOString(),
      ...(options.expiresAt ? { expiresAt: options.expiresAt.toISOString() } : {}),
      ...(options.note ? { note: options.note } : {}),
    };
    file.pins[name] = pin;
    await writePins(store, ts, file);
    return pin;
  });
}

/** Removes a pin; false when there was none by that name. */
export async function removePin(store: MirrorStore, ts: TrainSeries, name: string, options: LifecycleOptions = {}): Promise<boolean> {
  validatePinName(name);
  return underLock(store, ts, 'unpin', options, async () => {
    const file = await readPins(store, ts);
    if (!file.pins[name]) return false;
    delete file.pins[name];
    await writePins(store, ts, file);
    return true;
  });
}

export async function listPins(store: MirrorStore, ts: TrainSeries, now = new Date()): Promise<{ name: string; pin: Pin; live: boolean }[]> {
  const file = await readPins(store, ts);
  return Object.entries(file.pins).map(([name, pin]) => ({ name, pin, live: isPinLive(pin, now) }));
}

export interface RetentionOptions extends LifecycleOptions {
  /** Build ids of this series whose images are in use; never dropped. */
  inUse?: readonly string[];
  dryRun?: boolean;
}

export interface RetentionReport extends TrainSeries {
  decision: RetentionDecision;
  dryRun: boolean;
  /** Build ids actually deleted (empty on a dry run). */
  deleted: string[];
}

/** Applies a retention policy to one series: decides from index + aliases + pins, then deletes what it drops. */
export async function applyRetention(store: MirrorStore, ts: TrainSeries, policy: RetentionPolicy, options: RetentionOptions = {}): Promise<RetentionReport> {
  validatePolicy(policy);
  const now = (options.now ?? (() => new Date()))();
  const decide = async (): Promise<RetentionDecision> => {
    // Applying syncs the index first so a build committed but never indexed is not overlooked;
    // a dry run only reads (index, or every build.json when there is none).
    const builds = options.dryRun ? (await listBuilds(store, ts)).builds : (await syncIndex(store, ts, { now })).builds;
    const pins = Object.entries((await readPins(store, ts)).pins).map(([name, p]) => ({ name, ...p }));
    const [latest, stable] = [await readAlias(store, ts, 'latest'), await readAlias(store, ts, 'stable')];
    return decideRetention({
      builds,
      policy,
      now,
      pins,
      ...(latest ? { latest } : {}),
      ...(stable ? { stable } : {}),
      ...(options.inUse ? { inUse: options.inUse } : {}),
    });
  };
  if (options.dryRun) return { ...ts, decision: await decide(), dryRun: true, deleted: [] };
  return underLock(store, ts, 'retention', options, async () => {
    const decision = await decide();
    const deleted: string[] = [];
    for (const { buildId } of decision.drop) {
      await deleteBuildObjects(store, ts, buildId);
      deleted.push(buildId);
    }
    if (deleted.length > 0) await syncIndex(store, ts, { now, remove: deleted });
    return { ...ts, decision, dryRun: false, deleted };
  });
}

/** Applies one train's policy to every release/series of it. `inUse` entries are `<release>/<series>/<build-id>`. */
export async function applyTrainRetention(
  store: MirrorStore,
  train: string,
  policy: RetentionPolicy,
  options: Omit<RetentionOptions, 'inUse'> & { inUse?: readonly string[] } = {},
): Promise<RetentionReport[]> {
  validateTrain(train);
  const reports: RetentionReport[] = [];
  for (const release of await listReleases(store, train)) {
    for (const series of await listSeries(store, train, release)) {
      const prefix = `${validateRelease(release)}/${validateSeries(series)}/`;
      const inUse = (options.inUse ?? []).filter((r) => r.startsWith(prefix)).map((r) => r.slice(prefix.length));
      reports.push(await applyRetention(store, { train, release, series }, policy, { ...options, inUse }));
    }
  }
  return reports;
}

export interface RepairReport extends TrainSeries {
  builds: number;
  viewsMaterialised: number;
  latestMovedTo?: string;
}

/**
 * Finishes what an interrupted publish left undone: rebuilds index.json from every build.json,
 * re-links the consumer view of every build (linking stores), and moves latest to the newest
 * successful build if it is newer than the current one. Safe to run at any time.
 */
export async function repairSeries(store: MirrorStore, ts: TrainSeries, options: LifecycleOptions = {}): Promise<RepairReport> {
  const now = (options.now ?? (() => new Date()))();
  return underLock(store, ts, 'repair', options, async () => {
    const ids = await listBuildIds(store, ts);
    const records = await readRecords(store, ts, ids);
    let viewsMaterialised = 0;
    if (canLink(store)) for (const r of records) viewsMaterialised += await materialiseView(store, ts, r);
    const latest = await readAlias(store, ts, 'latest');
    const newest = records.filter((r) => r.result === 'success').at(-1);
    let latestMovedTo: string | undefined;
    if (newest && (latest === undefined || newest.buildId > latest)) {
      await writeAlias(store, ts, 'latest', newest.buildId);
      latestMovedTo = newest.buildId;
    }
    await syncIndex(store, ts, { now, upsert: records, full: true });
    return { ...ts, builds: records.length, viewsMaterialised, ...(latestMovedTo ? { latestMovedTo } : {}) };
  });
}

/** Rebuilds index.json from every build.json of the series (it is derived data); returns the build count. */
export async function reindex(store: MirrorStore, ts: TrainSeries, options: LifecycleOptions = {}): Promise<number> {
  const now = (options.now ?? (() => new Date()))();
  return underLock(store, ts, 'reindex', options, async () => (await syncIndex(store, ts, { now, full: true })).builds.length);
}
