// The source side of a pull: what a consumer needs from a mirror to fetch one build — resolve a
// ref, read the build's record and open an output file, optionally from a byte offset. It is an
// interface so the same pull runs against a store opened directly (fs, S3) today and against the
// mirror's HTTP API once it is served; nothing in pull.ts knows which one it talks to.
import type { Readable } from 'node:stream';
import { readAll } from './pull-io.js';
import type { BuildRecord } from './build-record.js';
import { SHA256SUMS, parseSha256Sums } from './generated.js';
import { digestBuffer } from './hash.js';
import { blobKey, buildRecordKey, formatTrainSeries, type TrainSeries } from './layout.js';
import { NotFoundInMirrorError, resolveRef, type ResolvedRef } from './query.js';
import type { BuildRef, ParseRefOptions } from './ref.js';
import { readBuildRecord } from './series.js';
import type { ByteRange, MirrorStore } from './stores/store.js';

/** One committed build, by its coordinates. */
export interface BuildCoordinates extends TrainSeries {
  buildId: string;
}

export interface MirrorReader {
  /** Where the bytes come from, for messages (never containing credentials). */
  readonly location: string;
  resolve(ref: BuildRef | string, options?: ParseRefOptions & { now?: Date }): Promise<ResolvedRef>;
  /** The build's build.json, validated; NotFoundInMirrorError when the build does not exist. */
  readRecord(build: BuildCoordinates): Promise<BuildRecord>;
  /** Streams one output file, from `range.start` when given (to resume a partial download). */
  openOutput(build: BuildCoordinates, path: string, range?: ByteRange): Promise<Readable>;
}

export class PullSourceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PullSourceError';
  }
}

/** A reader over a store the caller can open directly: outputs resolve through build.json to blobs. */
export function storeReader(store: MirrorStore): MirrorReader {
  // A pull opens many files of one build; reading build.json once per build is enough.
  const records = new Map<string, BuildRecord>();
  const readRecord = async (build: BuildCoordinates): Promise<BuildRecord> => {
    const key = buildRecordKey(build, build.buildId);
    const cached = records.get(key);
    if (cached) return cached;
    const record = await readBuildRecord(store, build, build.buildId);
    if (!record) throw new NotFoundInMirrorError(`no build ${formatTrainSeries(build)}/${build.buildId} in ${store.location}`);
    records.set(key, record);
    return record;
  };
  return {
    location: store.location,
    resolve: (ref, options) => resolveRef(store, ref, options),
    readRecord,
    async openOutput(build, path, range) {
      const file = (await readRecord(build)).files[path];
      if (!file) throw new NotFoundInMirrorError(`build ${formatTrainSeries(build)}/${build.buildId} has no output ${path}`);
      return store.getStream(blobKey(file.digest), range);
    },
  };
}

/**
 * The digests a pull checks every file against: SHA256SUMS as published, itself checked against
 * build.json, and agreeing with build.json on every file. A disagreement means the mirror is
 * damaged, and nothing is downloaded from it.
 */
export async function readChecksums(reader: MirrorReader, build: BuildCoordinates, record: BuildRecord): Promise<Map<string, string>> {
  const where = `${formatTrainSeries(build)}/${build.buildId}`;
  const entry = record.files[SHA256SUMS];
  if (!entry) throw new PullSourceError(`build ${where} has no ${SHA256SUMS}`);
  const bytes = await readAll(await reader.openOutput(build, SHA256SUMS));
  const actual = digestBuffer(bytes);
  if (actual.digest !== entry.digest || actual.size !== entry.size) {
    throw new PullSourceError(`${SHA256SUMS} of ${where} is ${actual.digest} (${actual.size} bytes), build.json says ${entry.digest} (${entry.size} bytes)`);
  }
  let sums: Map<string, string>;
  try {
    sums = parseSha256Sums(bytes.toString('utf8'));
  } catch (err) {
    throw new PullSourceError(`${SHA256SUMS} of ${where}: ${err instanceof Error ? err.message : String(err)}`);
  }
  for (const [path, file] of Object.entries(record.files)) {
    if (path === SHA256SUMS) continue;
    const listed = sums.get(path);
    if (listed !== file.digest) throw new PullSourceError(`${SHA256SUMS} of ${where} ${listed ? `gives ${listed}` : 'does not list'} ${path}; build.json says ${file.digest}`);
  }
  for (const path of sums.keys()) {
    if (!record.files[path]) throw new PullSourceError(`${SHA256SUMS} of ${where} lists ${path}, which build.json does not have`);
  }
  sums.set(SHA256SUMS, entry.digest);
  return sums;
}
