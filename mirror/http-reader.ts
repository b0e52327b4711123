// Reading a mirror over HTTP, from a server running the mirror router (the controller, or
// `heliostat mirror serve`). Two views of the same remote mirror:
//   httpReader()     a MirrorReader for pull: refs resolve through the JSON API, records come from
//                    the API, files from their outputs/ URLs with byte ranges to resume.
//   HttpMirrorStore  a read-only MirrorStore for sync (which copies blobs and records store to
//                    store): listings from the API, build.json and pins from the API, aliases from
//                    their `latest_build` objects, and blobs from /api/mirror/v1/blobs/sha256/<hex>,
//                    because a sync copies blobs once by digest, not once per output path.
// Everything received is checked as if it came from an untrusted store: records are validated,
// and pull and sync verify every byte against its digest before keeping it.
import type { Readable } from 'node:stream';
import { parseBuildRecord, type BuildRecord } from './build-record.js';
import {
  digestFromBlobKey,
  digestHex,
  formatTrainSeries,
  isBuildId,
  validateRelease,
  validateSeries,
  validateTrain,
  type TrainSeries,
} from './layout.js';
import type { BuildCoordinates, MirrorReader } from './pull-reader.js';
import { NotFoundInMirrorError, type ResolvedRef } from './query.js';
import { formatRef, parseRef, type BuildRef, type ParseRefOptions } from './ref.js';
import { HttpMirrorClient, type HttpMirrorOptions } from './server/client.js';
import { apiPath, MAX_PAGE, viewPath, type BuildsBody, type ReleasesBody, type ResolveBody, type SeriesBody, type TrainsBody } from './server/protocol.js';
import type { ByteRange, MirrorStore, ObjectInfo } from './stores/store.js';

export { HttpMirrorClient, MIRROR_TOKEN_ENV, MirrorHttpError, isHttpMirrorUrl, parseMirrorUrl, type HttpMirrorOptions } from './server/client.js';

async function fetchRecord(client: HttpMirrorClient, build: BuildCoordinates, missingOk: boolean): Promise<BuildRecord | undefined> {
  const text = await client.text(apiPath.record(build, build.buildId), missingOk);
  if (text === undefined) return undefined;
  const record = parseBuildRecord(text, `${client.location} ${formatTrainSeries(build)}/${build.buildId}/build.json`);
  // A server answering with another build than the one asked for is broken, whatever the record says.
  if (formatTrainSeries(record) !== formatTrainSeries(build) || record.buildId !== build.buildId) {
    throw new Error(`mirror ${client.location} answered ${formatTrainSeries(build)}/${build.buildId} with the record of ${formatTrainSeries(record)}/${record.buildId}`);
  }
  return record;
}

/**
 * A MirrorReader over HTTP. Pins resolve by the server's clock (the `now` option is not sent),
 * since the server is what decides whether a pin is still live.
 */
export function httpReader(url: string | URL, options: HttpMirrorOptions = {}): MirrorReader & { client: HttpMirrorClient } {
  const client = new HttpMirrorClient(url, options);
  const records = new Map<string, BuildRecord>();
  const readRecord = async (build: BuildCoordinates): Promise<BuildRecord> => {
    const key = `${formatTrainSeries(build)}/${build.buildId}`;
    const cached = records.get(key);
    if (cached) return cached;
    const record = (await fetchRecord(client, build, false)) as BuildRecord;
    records.set(key, record);
    return record;
  };
  return {
    client,
    location: client.location,
    async resolve(ref: BuildRef | string, parse: ParseRefOptions = {}): Promise<ResolvedRef> {
      // Parsed here first: a malformed ref fails without a request, with the same message as locally.
      const text = formatRef(typeof ref === 'string' ? parseRef(ref, parse) : ref);
      const body = (await client.json<ResolveBody>(apiPath.resolve(text))) as ResolveBody;
      const ts = { train: validateTrain(body.train), release: validateRelease(body.release), series: validateSeries(body.series) };
      if (!isBuildId(body.buildId)) throw new Error(`mirror ${client.location} resolved ${text} to ${JSON.stringify(body.buildId)}, not a build id`);
      return { ...ts, buildId: body.buildId, ref: text };
    },
    readRecord,
    async openOutput(build, path, range) {
      const file = (await readRecord(build)).files[path];
      if (!file) throw new NotFoundInMirrorError(`build ${formatTrainSeries(build)}/${build.buildId} has no output ${path}`);
      return client.stream(viewPath.output(build, build.buildId, path), range, `"${file.digest}"`);
    },
  };
}

export class ReadOnlyMirrorError extends Error {
  readonly usage = true;
  constructor(location: string, what = 'is read-only') {
    super(`mirror ${location} is served over HTTP and ${what}; use its store (fs: or s3://) instead`);
    this.name = 'ReadOnlyMirrorError';
  }
}

type KeyKind = { kind: 'record'; ts: TrainSeries; buildId: string } | { kind: 'alias'; ts: TrainSeries; alias: 'latest' | 'stable' } | { kind: 'pins'; ts: TrainSeries } | { kind: 'blob'; digest: string } | { kind: 'other' };

/** What a store key names, for the keys a reader of a mirror uses. */
function keyKind(key: string): KeyKind {
  const digest = digestFromBlobKey(key);
  if (digest) return { kind: 'blob', digest };
  const parts = key.split('/');
  try {
    if (parts.length < 4) return { kind: 'other' };
    const ts = { train: validateTrain(parts[0] ?? ''), release: validateRelease(parts[1] ?? ''), series: validateSeries(parts[2] ?? '') };
    if (parts.length === 5 && parts[4] === 'build.json' && isBuildId(parts[3] ?? '')) return { kind: 'record', ts, buildId: parts[3] ?? '' };
    if (parts.length === 4 && (parts[3] === 'latest_build' || parts[3] === 'stable_build')) return { kind: 'alias', ts, alias: parts[3] === 'latest_build' ? 'latest' : 'stable' };
    if (parts.length === 4 && parts[3] === 'pins.json') return { kind: 'pins', ts };
  } catch {
    // not a key of the mirror's layout
  }
  return { kind: 'other' };
}

/**
 * A remote mirror as a read-only MirrorStore, for `syncMirror(from = HTTP, to = store)`. It answers
 * what a sync reads; index.json reads as absent (listings are derived from build records then),
 * and `list` and every write are refused.
 */
export class HttpMirrorStore implements MirrorStore {
  readonly client: HttpMirrorClient;
  readonly location: string;

  constructor(url: string | URL, options: HttpMirrorOptions = {}) {
    this.client = new HttpMirrorClient(url, options);
    this.location = this.client.location;
  }

  private pathOf(key: string): string | undefined {
    const k = keyKind(key);
    switch (k.kind) {
      case 'blob':
        return apiPath.blob(digestHex(k.digest));
      case 'record':
        return apiPath.record(k.ts, k.buildId);
      case 'alias':
        return viewPath.alias(k.ts, k.alias);
      case 'pins':
        return apiPath.pins(k.ts);
      case 'other':
        return undefined;
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    const path = this.pathOf(key);
    if (!path) return undefined;
    const res = await this.client.request(path, { missingOk: true });
    return res ? Buffer.from(await res.arrayBuffer()) : undefined;
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    const path = this.pathOf(key);
    if (!path) throw new NotFoundInMirrorError(`${key} is not served over HTTP by ${this.location}`);
    const k = keyKind(key);
    return this.client.stream(path, range, k.kind === 'blob' ? `"${k.digest}"` : undefined);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const path = this.pathOf(key);
    if (!path) return undefined;
    const res = await this.client.request(path, { method: 'HEAD', missingOk: true });
    if (!res) return undefined;
    const modified = Date.parse(res.headers.get('last-modified') ?? '');
    return { key, size: Number(res.headers.get('content-length') ?? 0), modified: new Date(Number.isNaN(modified) ? 0 : modified) };
  }

  async listPrefixes(prefix: string): Promise<string[]> {
    const parts = prefix === '' ? [] : prefix.slice(0, -1).split('/');
    const under = (names: readonly string[]) => names.map((n) => `${prefix}${n}/`);
    const [train, release, series] = parts;
    if (train === undefined) return under((await this.client.json<TrainsBody>(apiPath.trains()))?.trains ?? []);
    if (release === undefined) return under((await this.client.json<ReleasesBody>(apiPath.releases(train), true))?.releases ?? []);
    if (series === undefined) return under(((await this.client.json<SeriesBody>(apiPath.series(train, release), true))?.series ?? []).map((s) => s.series));
    if (parts.length > 3) return [];
    const ids: string[] = [];
    let before: string | undefined;
    // Page through the whole series, oldest last; the listing is sorted by the caller's rules anyway.
    do {
      const page: BuildsBody | undefined = await this.client.json<BuildsBody>(apiPath.builds({ train, release, series }, { limit: MAX_PAGE, ...(before ? { before } : {}) }), true);
      ids.push(...(page?.builds ?? []).map((b) => b.buildId));
      before = page?.next ?? undefined;
    } while (before);
    return under(ids.sort());
  }

  /** Walking every object is a store-side operation (GC, deleting a build); HTTP offers none. */
  list(_prefix: string): AsyncIterable<ObjectInfo> {
    const error = new ReadOnlyMirrorError(this.location, 'cannot list objects');
    return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }) };
  }

  put(): Promise<void> {
    return Promise.reject(new ReadOnlyMirrorError(this.location));
  }

  putFile(): Promise<void> {
    return Promise.reject(new ReadOnlyMirrorError(this.location));
  }

  delete(): Promise<void> {
    return Promise.reject(new ReadOnlyMirrorError(this.location));
  }
}
