// The single steps of a sync (see sync.ts): copying one blob with verification, relinking a
// destination's consumer view, and working out which aliases and pins the destination should move.
import { createHash } from 'node:crypto';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { serialiseBuildRecord, type BuildRecord } from './build-record.js';
import { DigestMismatchError, uploadBlobs } from './blobs.js';
import { blobKey, buildRecordKey, digestHex, outputKey, type TrainSeries } from './layout.js';
import { readPins, type PinsFile } from './pins.js';
import { readAlias } from './series.js';
import { canLink } from './stores/linking.js';
import type { MirrorStore } from './stores/store.js';

export const sameRecord = (a: BuildRecord, b: BuildRecord): boolean => serialiseBuildRecord(a) === serialiseBuildRecord(b);

/**
 * Streams one blob from `from` into a spool file, hashing it on the way, and uploads it to `to`
 * only if its bytes are what its digest says. Spooling is what lets a store without streaming
 * uploads (the interface takes a file or a buffer) receive a large rock without holding it in memory.
 */
export async function copyBlob(from: MirrorStore, to: MirrorStore, digest: string, size: number, spool: string): Promise<void> {
  const key = blobKey(digest);
  const file = join(spool, digestHex(digest));
  const hash = createHash('sha256');
  let got = 0;
  const out = await open(file, 'w');
  try {
    for await (const chunk of await from.getStream(key)) {
      hash.update(chunk as Buffer);
      got += (chunk as Buffer).length;
      await out.write(chunk as Buffer);
    }
  } finally {
    await out.close();
  }
  try {
    const actual = `sha256:${hash.digest('hex')}`;
    if (actual !== digest) throw new DigestMismatchError(`source blob ${key} (refused)`, digest, actual);
    if (got !== size) throw new DigestMismatchError(`source blob ${key} (refused)`, `${size} bytes`, `${got} bytes`);
    await uploadBlobs(to, [{ digest, size, source: file }], { concurrency: 1 });
  } finally {
    await rm(file, { force: true });
  }
}

/** Files of a committed build missing from a linking destination's outputs/ view; `link` makes them. */
export async function ensureView(to: MirrorStore, ts: TrainSeries, record: BuildRecord, link: boolean): Promise<number> {
  if (!canLink(to)) return 0;
  let missing = 0;
  for (const [path, file] of Object.entries(record.files)) {
    const key = outputKey(ts, record.buildId, path);
    if ((await to.stat(key))?.size === file.size) continue;
    missing += 1;
    if (link) await to.linkObject(blobKey(file.digest), key);
  }
  return missing;
}

export interface AliasPlan {
  latest?: string;
  stable?: string;
  /** The destination's pins file with the source's pins merged in, when anything changed. */
  pins?: PinsFile;
  /** Human-readable changes, e.g. `latest → 20240501T120000Z`. */
  moved: string[];
}

/**
 * What the destination's aliases should become: latest moves forward only (as a publish moves
 * it, so a destination that is also published to never goes back); stable and each of the
 * source's pins follow the source. Pins only the destination has are kept: sync never removes
 * protection from a build. Nothing points at a build the destination does not have, or has
 * with a different record.
 */
export async function planAliases(from: MirrorStore, to: MirrorStore, ts: TrainSeries, inDestination: ReadonlySet<string>, conflicts: ReadonlySet<string>): Promise<AliasPlan> {
  // A build whose destination record differs from the source's is not the build the alias means.
  const has = async (id: string) => !conflicts.has(id) && (inDestination.has(id) || (await to.stat(buildRecordKey(ts, id))) !== undefined);
  const plan: AliasPlan = { moved: [] };
  const latest = await readAlias(from, ts, 'latest');
  const theirLatest = await readAlias(to, ts, 'latest');
  if (latest && (theirLatest === undefined || latest > theirLatest) && (await has(latest))) {
    plan.latest = latest;
    plan.moved.push(`latest → ${latest}`);
  }
  const stable = await readAlias(from, ts, 'stable');
  if (stable && stable !== (await readAlias(to, ts, 'stable')) && (await has(stable))) {
    plan.stable = stable;
    plan.moved.push(`stable → ${stable}`);
  }
  const source = await readPins(from, ts);
  const dest = await readPins(to, ts);
  let changed = false;
  for (const [name, pin] of Object.entries(source.pins)) {
    if (JSON.stringify(dest.pins[name]) === JSON.stringify(pin) || !(await has(pin.buildId))) continue;
    dest.pins[name] = pin;
    changed = true;
    plan.moved.push(`pin:${name} → ${pin.buildId}`);
  }
  if (changed) plan.pins = dest;
  return plan;
}
