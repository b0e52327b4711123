// The StarlingX consumer view on stores that can hard-link (the filesystem store):
// `<train>/<release>/<series>/<build-id>/outputs/<path>` becomes a real file sharing its inode with
// the blob, so a plain web server or rsync can serve the mirror tree as it is, at no extra space.
// Stores without links (S3) serve the same view by resolving through build.json instead.
import pLimit from 'p-limit';
import type { BuildRecord } from './build-record.js';
import { blobKey, buildPrefix, buildRecordKey, outputKey, type TrainSeries } from './layout.js';
import { canLink, type LinkingStore } from './stores/linking.js';
import type { MirrorStore } from './stores/store.js';

/** Links every file of a committed build into its outputs/ folder; returns how many links were made. */
export async function materialiseView(store: LinkingStore, ts: TrainSeries, record: BuildRecord, concurrency = 8): Promise<number> {
  const limit = pLimit(concurrency);
  const files = Object.entries(record.files);
  await Promise.all(files.map(([path, file]) => limit(() => store.linkObject(blobKey(file.digest), outputKey(ts, record.buildId, path)))));
  return files.length;
}

/** Materialises the view when the store supports it; a no-op (0) otherwise. */
export async function materialiseViewIfSupported(store: MirrorStore, ts: TrainSeries, record: BuildRecord): Promise<number> {
  return canLink(store) ? materialiseView(store, ts, record) : 0;
}

/**
 * Deletes a build: build.json first, so from that instant no reader considers the build to exist,
 * then everything else under its folder (the materialised view). A crash in between leaves only
 * an orphan view, which GC removes.
 */
export async function deleteBuildObjects(store: MirrorStore, ts: TrainSeries, buildId: string): Promise<number> {
  await store.delete([buildRecordKey(ts, buildId)]);
  const keys: string[] = [];
  for await (const info of store.list(buildPrefix(ts, buildId))) keys.push(info.key);
  for (let i = 0; i < keys.length; i += 500) await store.delete(keys.slice(i, i + 500));
  return keys.length + 1;
}
