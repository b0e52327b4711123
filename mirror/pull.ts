// Pulling one build out of a mirror into a local directory, as `<dir>/<outputs path>`. Each file is
// written to `<name>.part` and renamed into place only once its sha256 and size match both
// SHA256SUMS and build.json, so a file under its final name is always a verified one. A `.part`
// left by an interrupted pull is continued with a byte range from its length (and the whole file is
// still verified); a file already present and matching is not fetched again. A file that fails
// loses its part and is reported by name; the other files are still pulled, so a rerun only has
// that one left to fetch.
import { createHash } from 'node:crypto';
import { lstat, mkdir, open, realpath, rename, unlink } from 'node:fs/promises';
import { resolve } from 'node:path';
import pLimit from 'p-limit';
import { formatTrainSeries } from './layout.js';
import { destinationOf, errnoOf, hashInto } from './pull-io.js';
import { readChecksums, type BuildCoordinates, type MirrorReader } from './pull-reader.js';
import { selectOutputs } from './pull-select.js';
import type { BuildRef, ParseRefOptions } from './ref.js';

export { readChecksums, storeReader, PullSourceError, type BuildCoordinates, type MirrorReader } from './pull-reader.js';
export { isRockOutput, selectOutputs, UnknownRockError } from './pull-select.js';

export const PART_SUFFIX = '.part';

export interface PullOptions extends ParseRefOptions {
  /** Only these rocks' files (plus the build-wide files); default every output. */
  rocks?: readonly string[];
  /** Files fetched at once (default 4). */
  concurrency?: number;
  /** Clock for resolving pins. */
  now?: Date;
  /** Called as each file is done, for progress output. */
  onFile?: (result: PullFileResult) => void;
}

export type PullFileStatus = 'downloaded' | 'resumed' | 'skipped' | 'failed';

export interface PullFileResult {
  path: string;
  size: number;
  digest: string;
  status: PullFileStatus;
  /** Bytes fetched from the mirror for this file in this run. */
  bytes: number;
  /** For `resumed`: the length of the part the download continued from. */
  resumedFrom?: number;
  /** A different file was already there under the final name and has been replaced. */
  replaced?: boolean;
  error?: string;
}

export interface PullSummary extends BuildCoordinates {
  /** The ref as given, normalised. */
  ref: string;
  source: string;
  dir: string;
  /** Files selected. */
  files: number;
  /** Total size of the selected files. */
  totalBytes: number;
  downloaded: number;
  resumed: number;
  skipped: number;
  failed: number;
  /** Bytes fetched in this run. */
  bytes: number;
  results: PullFileResult[];
}

export class PullFailedError extends Error {
  constructor(readonly summary: PullSummary) {
    const failed = summary.results.filter((r) => r.status === 'failed');
    const first = failed[0];
    // Most per-file errors name their file already; the others get it prepended.
    const detail = first ? (first.error?.includes(first.path) ? first.error : `${first.path}: ${first.error ?? 'failed'}`) : '';
    super(`${failed.length} of ${summary.files} files of ${summary.ref} failed${first ? `, first ${detail}` : ''}`);
    this.name = 'PullFailedError';
  }
}

export class PullVerificationError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`${path}: ${reason}; the partial file was deleted`);
    this.name = 'PullVerificationError';
  }
}

interface Expected {
  digest: string;
  size: number;
}

interface FetchContext {
  reader: MirrorReader;
  build: BuildCoordinates;
  root: string;
  realRoot: string;
}

/** Stat without following a final symlink; undefined when nothing is there. */
async function lstatOrNone(path: string) {
  try {
    return await lstat(path);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return undefined;
    throw err;
  }
}

async function fileMatches(path: string, expected: Expected): Promise<boolean> {
  const hash = createHash('sha256');
  const size = await hashInto(hash, path);
  return size === expected.size && `sha256:${hash.digest('hex')}` === expected.digest;
}

async function fetchFile(ctx: FetchContext, path: string, expected: Expected): Promise<PullFileResult> {
  const base = { path, size: expected.size, digest: expected.digest };
  const dest = await destinationOf(ctx.root, ctx.realRoot, path);
  const part = `${dest}${PART_SUFFIX}`;
  const present = await lstatOrNone(dest);
  // Never replace (or follow) a directory or symlink someone put under a final name.
  if (present && !present.isFile()) throw new Error(`${path}: ${dest} exists and is not a regular file`);
  if (present && present.size === expected.size && (await fileMatches(dest, expected))) {
    await unlink(part).catch(() => undefined);
    return { ...base, status: 'skipped', bytes: 0 };
  }

  const partInfo = await lstatOrNone(part);
  if (partInfo && !partInfo.isFile()) throw new Error(`${path}: ${part} exists and is not a regular file`);
  const hash = createHash('sha256');
  let offset = 0;
  if (partInfo && partInfo.size <= expected.size) offset = await hashInto(hash, part);
  else if (partInfo) await unlink(part); // longer than the file can be: not a prefix of it
  let bytes = 0;
  const handle = await open(part, 'a', 0o644);
  try {
    if (offset < expected.size) {
      const stream = await ctx.reader.openOutput(ctx.build, path, offset > 0 ? { start: offset } : undefined);
      for await (const chunk of stream) {
        const buf = chunk as Buffer;
        bytes += buf.length;
        // A source sending more than the file's size is wrong; stop before filling the disk.
        if (offset + bytes > expected.size) {
          stream.destroy();
          break;
        }
        hash.update(buf);
        await handle.write(buf);
      }
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  const got = { size: offset + bytes, digest: `sha256:${hash.digest('hex')}` };
  if (got.size !== expected.size || got.digest !== expected.digest) {
    await unlink(part).catch(() => undefined);
    const what = got.size !== expected.size ? `received ${got.size} bytes, expected ${expected.size}` : `content is ${got.digest}, expected ${expected.digest}`;
    throw new PullVerificationError(path, `${what}${offset > 0 ? ` (resumed from a partial file of ${offset} bytes)` : ''}`);
  }
  await rename(part, dest);
  return {
    ...base,
    status: offset > 0 ? 'resumed' : 'downloaded',
    bytes,
    ...(offset > 0 ? { resumedFrom: offset } : {}),
    ...(present ? { replaced: true } : {}),
  };
}

/**
 * Pulls the build `ref` names into `dir`. Resolves the ref and checks the build's checksums before
 * writing anything. Throws PullFailedError (carrying the summary) when any file failed, after the
 * others are done.
 */
export async function pullBuild(reader: MirrorReader, ref: BuildRef | string, dir: string, options: PullOptions = {}): Promise<PullSummary> {
  const resolved = await reader.resolve(ref, options);
  const build: BuildCoordinates = { train: resolved.train, release: resolved.release, series: resolved.series, buildId: resolved.buildId };
  const label = `${formatTrainSeries(build)}/${build.buildId}`;
  const record = await reader.readRecord(build);
  const paths = selectOutputs(record, options.rocks, label);
  const sums = await readChecksums(reader, build, record);
  const all = new Set(Object.keys(record.files));
  for (const p of all) {
    // A record naming both `x` and `x.part` would have one file's download resume from the other.
    if (all.has(`${p}${PART_SUFFIX}`)) throw new PullVerificationError(`${p}${PART_SUFFIX}`, `clashes with the partial-download name of ${p}`);
  }

  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  const ctx: FetchContext = { reader, build, root, realRoot: await realpath(root) };
  const limit = pLimit(options.concurrency ?? 4);
  const results = await Promise.all(
    paths.map((path) =>
      limit(async (): Promise<PullFileResult> => {
        const expected = { digest: sums.get(path) ?? '', size: record.files[path]?.size ?? 0 };
        let result: PullFileResult;
        try {
          result = await fetchFile(ctx, path, expected);
        } catch (err) {
          result = { path, ...expected, status: 'failed', bytes: 0, error: err instanceof Error ? err.message : String(err) };
        }
        options.onFile?.(result);
        return result;
      }),
    ),
  );
  const count = (status: PullFileStatus) => results.filter((r) => r.status === status).length;
  const summary: PullSummary = {
    ...build,
    ref: resolved.ref,
    source: reader.location,
    dir: root,
    files: results.length,
    totalBytes: results.reduce((s, r) => s + r.size, 0),
    downloaded: count('downloaded'),
    resumed: count('resumed'),
    skipped: count('skipped'),
    failed: count('failed'),
    bytes: results.reduce((s, r) => s + r.bytes, 0),
    results,
  };
  if (summary.failed > 0) throw new PullFailedError(summary);
  return summary;
}
