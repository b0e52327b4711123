// Read side of the mirror: what trains, releases, series and builds exist, what a ref points at,
// and the bytes of one output file. Listings come from index.json (one read, however many builds)
// and fall back to reading every build.json only when the index is missing or unreadable.
import type { Readable } from 'node:stream';
import type { BuildRecord } from './build-record.js';
import {
  blobKey,
  buildRecordKey,
  formatTrainSeries,
  isBuildId,
  validateOutputPath,
  validateRelease,
  validateSeries,
  validateTrain,
  type TrainSeries,
} from './layout.js';
import { isPinLive, readPins } from './pins.js';
import { formatRef, parseRef, type BuildRef, type ParseRefOptions } from './ref.js';
import { newestSuccessAsOf, type IndexEntry } from './series-index.js';
import { readAlias, readBuildRecord, readIndex, scanEntries } from './series.js';
import type { ByteRange, MirrorStore } from './stores/store.js';

export class NotFoundInMirrorError extends Error {
  /** Asking for a train, build, alias or pin the mirror does not have is bad input, not a failure. */
  readonly usage = true;
  constructor(message: string) {
    super(message);
    this.name = 'NotFoundInMirrorError';
  }
}

/** Folder names under `prefix` that pass `valid`, without the trailing slash, sorted. */
async function childNames(store: MirrorStore, prefix: string, valid: (name: string) => unknown): Promise<string[]> {
  const names: string[] = [];
  for (const folder of await store.listPrefixes(prefix)) {
    const name = folder.slice(prefix.length, -1);
    try {
      valid(name);
      names.push(name);
    } catch {
      // not a mirror folder (blobs/, meta/, stray directories)
    }
  }
  return names;
}

export async function listTrains(store: MirrorStore): Promise<string[]> {
  // validateTrain refuses the reserved top-level names (blobs, meta), so only trains remain.
  return childNames(store, '', validateTrain);
}

export async function listReleases(store: MirrorStore, train: string): Promise<string[]> {
  return childNames(store, `${validateTrain(train)}/`, validateRelease);
}

export async function listSeries(store: MirrorStore, train: string, release: string): Promise<string[]> {
  return childNames(store, `${validateTrain(train)}/${validateRelease(release)}/`, validateSeries);
}

export interface BuildListing {
  /** `index` when served from index.json, `scan` when every build.json had to be read. */
  source: 'index' | 'scan';
  builds: IndexEntry[];
}

/** Every build of a series, ascending by build id. */
export async function listBuilds(store: MirrorStore, ts: TrainSeries): Promise<BuildListing> {
  const index = await readIndex(store, ts);
  if (index) return { source: 'index', builds: index.builds };
  return { source: 'scan', builds: await scanEntries(store, ts) };
}

export async function showBuild(store: MirrorStore, ts: TrainSeries, buildId: string): Promise<BuildRecord> {
  const record = await readBuildRecord(store, ts, buildId);
  if (!record) throw new NotFoundInMirrorError(`no build ${formatTrainSeries(ts)}/${buildId}`);
  return record;
}

export interface ResolvedRef extends TrainSeries {
  buildId: string;
  /** The ref as given, normalised (e.g. `reference/2024.1/noble/latest`). */
  ref: string;
}

/**
 * Resolves a ref to a committed build. `as-of:T` is the newest successful build that had
 * *finished* by T, i.e. what `latest` would have named at T: a build started before T but still
 * running at T had no artifacts yet.
 */
export async function resolveRef(store: MirrorStore, ref: BuildRef | string, options: ParseRefOptions & { now?: Date } = {}): Promise<ResolvedRef> {
  const parsed = typeof ref === 'string' ? parseRef(ref, options) : ref;
  const ts: TrainSeries = { train: parsed.train, release: parsed.release, series: parsed.series };
  const text = formatRef(parsed);
  const found = (buildId: string): ResolvedRef => ({ ...ts, buildId, ref: text });
  const sel = parsed.selector;
  switch (sel.kind) {
    case 'build': {
      if (!(await store.stat(buildRecordKey(ts, sel.buildId)))) throw new NotFoundInMirrorError(`${text}: no such build`);
      return found(sel.buildId);
    }
    case 'latest':
    case 'stable': {
      const id = await readAlias(store, ts, sel.kind);
      if (!id) throw new NotFoundInMirrorError(`${text}: ${sel.kind} is not set`);
      return found(id);
    }
    case 'pin': {
      const pin = (await readPins(store, ts)).pins[sel.name];
      if (!pin) throw new NotFoundInMirrorError(`${text}: no pin named ${sel.name}`);
      if (!isPinLive(pin, options.now ?? new Date())) throw new NotFoundInMirrorError(`${text}: pin expired at ${pin.expiresAt ?? ''}`);
      return found(pin.buildId);
    }
    case 'as-of': {
      const entry = newestSuccessAsOf({ schema: 1, ...ts, updatedAt: '', builds: (await listBuilds(store, ts)).builds }, sel.at);
      if (!entry) throw new NotFoundInMirrorError(`${text}: no successful build had finished by ${sel.at.toISOString()}`);
      return found(entry.buildId);
    }
  }
}

export interface OpenedOutput {
  stream: Readable;
  /** Size of the whole file (not of the range). */
  size: number;
  digest: string;
  path: string;
  buildId: string;
}

/** Opens one output file of a build by its outputs path, resolving through build.json to its blob. */
export async function openOutput(store: MirrorStore, ts: TrainSeries, buildId: string, path: string, range?: ByteRange): Promise<OpenedOutput> {
  if (!isBuildId(buildId)) throw new NotFoundInMirrorError(`no build ${buildId}`);
  validateOutputPath(path);
  const record = await showBuild(store, ts, buildId);
  const file = record.files[path];
  if (!file) throw new NotFoundInMirrorError(`build ${formatTrainSeries(ts)}/${buildId} has no output ${path}`);
  const stream = await store.getStream(blobKey(file.digest), range);
  return { stream, size: file.size, digest: file.digest, path, buildId };
}
