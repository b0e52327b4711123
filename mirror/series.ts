// Reading and writing the objects of one train/release/series: build records, alias objects and
// the derived index. Callers that write hold the series lock (see lease.ts); reads need none,
// because every object is replaced atomically.
import pLimit from 'p-limit';
import { parseBuildRecord, serialiseBuildRecord, type BuildRecord } from './build-record.js';
import {
  LayoutError,
  aliasKey,
  buildIdFromFolder,
  buildRecordKey,
  indexKey,
  isBuildId,
  seriesPrefix,
  type AliasName,
  type TrainSeries,
} from './layout.js';
import { buildIndex, indexEntryFromRecord, parseSeriesIndex, serialiseSeriesIndex, type IndexEntry, type SeriesIndex } from './series-index.js';
import type { MirrorStore } from './stores/store.js';

/** Build ids that have a folder under the series, ascending. One listing, no reads. */
export async function listBuildIds(store: MirrorStore, ts: TrainSeries): Promise<string[]> {
  const prefix = seriesPrefix(ts);
  const ids: string[] = [];
  for (const folder of await store.listPrefixes(prefix)) {
    const id = buildIdFromFolder(prefix, folder);
    if (id) ids.push(id);
  }
  return ids.sort();
}

export async function readBuildRecord(store: MirrorStore, ts: TrainSeries, buildId: string): Promise<BuildRecord | undefined> {
  const key = buildRecordKey(ts, buildId);
  const bytes = await store.get(key);
  return bytes ? parseBuildRecord(bytes, key) : undefined;
}

export function buildRecordBytes(record: BuildRecord): Buffer {
  return Buffer.from(serialiseBuildRecord(record), 'utf8');
}

/** The build id an alias object names, or undefined when the alias was never set. */
export async function readAlias(store: MirrorStore, ts: TrainSeries, alias: AliasName): Promise<string | undefined> {
  const key = aliasKey(ts, alias);
  const bytes = await store.get(key);
  if (!bytes) return undefined;
  const id = bytes.toString('utf8').trim();
  if (!isBuildId(id)) throw new LayoutError(`alias object ${key}`, id, 'does not contain a build id');
  return id;
}

/** Alias objects are tiny text files holding the build id, so `curl …/latest_build` is useful as is. */
export async function writeAlias(store: MirrorStore, ts: TrainSeries, alias: AliasName, buildId: string): Promise<void> {
  if (!isBuildId(buildId)) throw new LayoutError('build id', buildId, 'expected YYYYMMDDTHHMMSSZ');
  await store.put(aliasKey(ts, alias), `${buildId}\n`, { contentType: 'text/plain' });
}

/** The stored index, or undefined when it is missing or unreadable (it is derived, so never fatal). */
/**
 * Parsed indices kept per store, keyed by index key and revalidated with one stat: a long-running
 * reader (the mirror server, the controller) parses a 10 000-build index once, not per request.
 */
const parsedIndices = new WeakMap<MirrorStore, Map<string, { size: number; modified: number; index: SeriesIndex }>>();
/** Objects changed this recently are always re-read: some stores keep modification times in whole seconds. */
const SETTLE_MS = 2000;

/** The series index, or undefined when missing or unreadable. The result is shared: treat it as read-only. */
export async function readIndex(store: MirrorStore, ts: TrainSeries): Promise<SeriesIndex | undefined> {
  const key = indexKey(ts);
  const info = await store.stat(key);
  if (!info) return undefined;
  let cache = parsedIndices.get(store);
  const cached = cache?.get(key);
  const modified = info.modified.getTime();
  if (cached && cached.size === info.size && cached.modified === modified && Date.now() - modified > SETTLE_MS) return cached.index;
  const bytes = await store.get(key);
  if (!bytes) return undefined;
  let index: SeriesIndex;
  try {
    index = parseSeriesIndex(bytes, key);
  } catch {
    return undefined;
  }
  if (!cache) parsedIndices.set(store, (cache = new Map<string, { size: number; modified: number; index: SeriesIndex }>()));
  if (bytes.length === info.size) cache.set(key, { size: info.size, modified, index });
  return index;
}

export async function writeIndex(store: MirrorStore, ts: TrainSeries, index: SeriesIndex): Promise<void> {
  await store.put(indexKey(ts), serialiseSeriesIndex(index), { contentType: 'application/json' });
}

/** Reads build.json of each id (bounded concurrency); ids without a record are left out. */
export async function readRecords(store: MirrorStore, ts: TrainSeries, ids: readonly string[], concurrency = 16): Promise<BuildRecord[]> {
  const limit = pLimit(concurrency);
  const records = await Promise.all(ids.map((id) => limit(() => readBuildRecord(store, ts, id))));
  return records.filter((r): r is BuildRecord => r !== undefined);
}

/** Builds the listing by reading every build.json: the fallback when there is no usable index. */
export async function scanEntries(store: MirrorStore, ts: TrainSeries): Promise<IndexEntry[]> {
  const records = await readRecords(store, ts, await listBuildIds(store, ts));
  return records.map(indexEntryFromRecord);
}

export interface SyncIndexOptions {
  now?: Date;
  /** Records just committed (saves reading them back). */
  upsert?: readonly BuildRecord[];
  /** Build ids just deleted. */
  remove?: readonly string[];
  /** Ignore the stored index and read every build.json. */
  full?: boolean;
}

/**
 * Brings index.json in line with the committed builds and writes it. Besides the given changes it
 * heals what an interrupted writer left behind: builds committed but never indexed are read and
 * added, and entries whose folder is gone are dropped. Costs one listing plus one read per
 * unindexed build. The caller holds the series lock.
 */
export async function syncIndex(store: MirrorStore, ts: TrainSeries, options: SyncIndexOptions = {}): Promise<SeriesIndex> {
  const ids = new Set(await listBuildIds(store, ts));
  const removed = new Set(options.remove ?? []);
  const current = options.full ? undefined : await readIndex(store, ts);
  const entries = new Map<string, IndexEntry>();
  for (const e of current?.builds ?? []) if (ids.has(e.buildId) && !removed.has(e.buildId)) entries.set(e.buildId, e);
  for (const rec of options.upsert ?? []) entries.set(rec.buildId, indexEntryFromRecord(rec));
  const missing = [...ids].filter((id) => !entries.has(id) && !removed.has(id));
  for (const rec of await readRecords(store, ts, missing)) entries.set(rec.buildId, indexEntryFromRecord(rec));
  const index = buildIndex(ts, entries.values(), options.now ?? new Date());
  await writeIndex(store, ts, index);
  return index;
}
