// The S3 mirror store, on the minio client: tested against Ceph RGW (what MicroCeph-based Sunbeam
// deployments run). Every operation is retried with exponential backoff and jitter on network
// errors, timeouts, 5xx and SlowDown, never on other 4xx (403, 404, 412 ...). Failures name the
// operation, the object and the endpoint, never the credentials.
//
// Server quirks this store is written around (Ceph Pacific RGW, minio 8.0.7):
// - Create-only writes use `If-None-Match: *` on a single PUT. CompleteMultipartUpload ignores the
//   header on RGW, so an `ifAbsent` write is always one (streamed) PUT, never a multipart upload.
// - RGW answers CompleteMultipartUpload with an empty ETag; nothing here relies on that ETag.
// - Listing uses ListObjects (v1): minio's ListObjectsV2 parser turns numeric-looking keys into
//   numbers ("0123" comes back as "123"); its v1 parser keeps keys as strings. Pages are fetched
//   (and retried) one at a time, so a listing streams however many keys there are.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat as statFile } from 'node:fs/promises';
import http from 'node:http';
import { PassThrough, Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from 'minio';
import { InvalidKeyError } from './fs.js';
import { createS3Client, observeReplies, type ReplyState } from './s3-client.js';
import { MAX_SINGLE_PUT, parseS3StoreOptions, type S3StoreOptions, type S3StoreOptionsInput } from './s3-config.js';
import { backoffMs, describeFailure, errorCode, errorMessage, isRetryable, S3StoreError } from './s3-failure.js';
import { NotFoundError, PreconditionFailedError, type ByteRange, type MirrorStore, type ObjectInfo, type PutOptions } from './store.js';

/** Keys follow the same rules as the fs store, so a mirror can move between the two. */
function checkKey(key: string): string {
  if (key.length === 0) throw new InvalidKeyError(key, 'empty');
  if (key.startsWith('/')) throw new InvalidKeyError(key, 'absolute');
  if (key.includes('\\')) throw new InvalidKeyError(key, 'backslash');
  if (key.includes('\0')) throw new InvalidKeyError(key, 'NUL byte');
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') throw new InvalidKeyError(key, `"${segment}" segment`);
  }
  return key;
}

/** Where the next listing page starts: after the greatest entry (in S3's UTF-8 byte order) of this one. */
function nextMarker(marker: string, entries: (string | undefined)[]): string {
  let next = marker;
  for (const e of entries) if (e !== undefined && Buffer.compare(Buffer.from(e), Buffer.from(next)) > 0) next = e;
  if (next === marker) throw new Error(`S3 listing made no progress after ${JSON.stringify(marker)}`);
  return next;
}

/** Reads and discards a reply body, so its connection can be reused. */
export { S3StoreError };

const drain = (stream: Readable): Promise<void> => finished(stream.resume());

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** md5 (base64, for Content-MD5) and sha256 (hex, for SigV4) of a file, read as a stream. */
async function hashFile(path: string): Promise<{ md5: string; sha256: string }> {
  const md5 = createHash('md5');
  const sha256 = createHash('sha256');
  for await (const chunk of createReadStream(path)) {
    md5.update(chunk as Buffer);
    sha256.update(chunk as Buffer);
  }
  return { md5: md5.digest('base64'), sha256: sha256.digest('hex') };
}

export class S3Store implements MirrorStore {
  readonly location: string;
  /** Service origin, without credentials. */
  readonly endpoint: string;
  readonly bucket: string;
  /** '' or a prefix ending in '/'; every key of this store lives under it. */
  readonly prefix: string;
  // Private fields keep the credentials out of util.inspect / console.log of the store.
  readonly #options: S3StoreOptions;
  readonly #client: Client;
  readonly #agent: http.Agent;

  constructor(input: S3StoreOptionsInput) {
    const options = parseS3StoreOptions(input);
    this.#options = options;
    this.bucket = options.bucket;
    this.prefix = options.prefix;
    this.endpoint = options.endpoint.origin;
    this.location = `s3://${options.bucket}${options.prefix ? `/${options.prefix.slice(0, -1)}` : ''}`;
    ({ client: this.#client, agent: this.#agent } = createS3Client(options));
  }

  /** Creates the bucket unless it exists. */
  async ensureBucket(): Promise<void> {
    await this.run('ensureBucket', '', async () => {
      if (await this.#client.bucketExists(this.bucket)) return;
      try {
        await this.#client.makeBucket(this.bucket, this.#options.region);
      } catch (err) {
        // Created meanwhile by another process (or retried after a lost reply): fine.
        if (!['BucketAlreadyOwnedByYou', 'BucketAlreadyExists'].includes(errorCode(err) ?? '') || !(await this.#client.bucketExists(this.bucket))) throw err;
      }
    });
  }

  /** Closes idle keep-alive connections. The store stays usable (new connections are opened). */
  close(): void {
    this.#agent.destroy();
  }

  async get(key: string): Promise<Buffer | undefined> {
    const name = this.objectName(key);
    return this.run('get', name, async () => {
      try {
        return await readAll(await this.#client.getObject(this.bucket, name));
      } catch (err) {
        if (errorCode(err) === 'NoSuchKey') return undefined;
        throw err;
      }
    });
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    const name = this.objectName(key);
    if (range && (!Number.isInteger(range.start) || range.start < 0 || (range.end !== undefined && (!Number.isInteger(range.end) || range.end < range.start)))) {
      throw new RangeError(`invalid range ${range.start}-${range.end ?? ''} for ${key}`);
    }
    const response = await this.run('get', name, async () => {
      try {
        if (!range) return await this.#client.getObject(this.bucket, name);
        const length = range.end === undefined ? 0 : range.end - range.start + 1;
        return await this.#client.getPartialObject(this.bucket, name, range.start, length);
      } catch (err) {
        if (errorCode(err) === 'NoSuchKey') throw new NotFoundError(key);
        if (errorCode(err) !== 'InvalidRange') throw err;
        const info = await this.#client.statObject(this.bucket, name);
        if (info.size === 0 && range?.start === 0) return Readable.from([]);
        throw new RangeError(`range ${range?.start}-${range?.end ?? ''} not satisfiable for ${key} (size ${info.size})`);
      }
    });
    if (!(response instanceof http.IncomingMessage)) return response;
    // The caller reads the body at its own pace, so the idle timeout ends with the reply's headers.
    response.setTimeout(0);
    // Hand out a plain stream: a reader that stops early just destroys it (and with it the HTTP
    // body), and a connection lost mid-body surfaces as an error naming the object and endpoint.
    const body = new PassThrough();
    response.on('error', (err) => {
      const code = errorCode(err);
      body.destroy(new S3StoreError('get', this.target(name), this.endpoint, 1, undefined, code, `body interrupted: ${errorMessage(err)}`, { cause: err }));
    });
    body.on('close', () => {
      if (!response.readableEnded) response.destroy();
    });
    return response.pipe(body);
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    const name = this.objectName(key);
    return this.run('stat', name, async () => {
      try {
        const info = await this.#client.statObject(this.bucket, name);
        return { key, size: info.size, modified: info.lastModified };
      } catch (err) {
        if (['NotFound', 'NoSuchKey'].includes(errorCode(err) ?? '')) return undefined;
        throw err;
      }
    });
  }

  async put(key: string, body: Buffer | string, options: PutOptions = {}): Promise<void> {
    const name = this.objectName(key);
    const data = typeof body === 'string' ? Buffer.from(body) : body;
    const md5 = createHash('md5').update(data).digest('base64');
    await this.run('put', name, (attempt) =>
      this.createOnly(key, options, attempt, md5, async (headers) => {
        const res = await this.#client.makeRequestAsync({ method: 'PUT', bucketName: this.bucket, objectName: name, headers }, data, [200]);
        await drain(res);
      }),
    );
  }

  async putFile(key: string, path: string, options: PutOptions = {}): Promise<void> {
    const name = this.objectName(key);
    const { size } = await statFile(path);
    if (size > this.#options.partSize && !options.ifAbsent) return this.putMultipart(key, name, path, size, options);
    if (size > MAX_SINGLE_PUT) throw new RangeError(`${path} is too large (${size} bytes) for a create-only upload, which must be a single PUT`);
    const { md5, sha256 } = await hashFile(path);
    await this.run('putFile', name, (attempt) =>
      this.createOnly(key, options, attempt, md5, async (headers) => {
        const body = createReadStream(path);
        try {
          const res = await this.#client.makeRequestStreamAsync(
            { method: 'PUT', bucketName: this.bucket, objectName: name, headers: { ...headers, 'content-length': String(size) } },
            body,
            this.#client.enableSHA256 ? sha256 : '',
            [200],
            this.#options.region,
          );
          await drain(res);
        } finally {
          body.destroy();
        }
      }),
    );
  }

  /**
   * A presigned PUT URL for one key, valid `expirySeconds` (at most 7 days, SigV4's limit): whoever
   * holds it can write that object and nothing else, without ever seeing the store's secret key.
   * Signing happens locally; no request is made.
   */
  async presignPut(key: string, expirySeconds: number): Promise<string> {
    if (!Number.isInteger(expirySeconds) || expirySeconds < 1 || expirySeconds > 604_800) throw new RangeError(`presign expiry must be 1-604800 seconds, not ${expirySeconds}`);
    const name = this.objectName(key);
    return this.#client.presignedPutObject(this.bucket, name, expirySeconds);
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    let marker = '';
    for (;;) {
      const page = await this.listPage('list', prefix, marker, '');
      for (const o of page.objects) {
        if (o.name !== undefined) yield { key: o.name.slice(this.prefix.length), size: o.size ?? 0, modified: o.lastModified ?? new Date(0) };
      }
      if (!page.isTruncated) return;
      marker = nextMarker(marker, page.objects.map((o) => o.name));
    }
  }

  async listPrefixes(prefix: string): Promise<string[]> {
    if (prefix !== '' && !prefix.endsWith('/')) throw new InvalidKeyError(prefix, 'a prefix listing needs a trailing "/"');
    const found = new Set<string>();
    let marker = '';
    for (;;) {
      const page = await this.listPage('listPrefixes', prefix, marker, '/');
      for (const o of page.objects) if (o.prefix !== undefined) found.add(o.prefix.slice(this.prefix.length));
      if (!page.isTruncated) break;
      // A common prefix as marker continues after everything under it (S3 and RGW alike).
      marker = nextMarker(marker, page.objects.map((o) => o.prefix ?? o.name));
    }
    return [...found].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  async delete(keys: readonly string[]): Promise<void> {
    const names = keys.map((k) => this.objectName(k));
    const size = this.#options.deleteBatchSize;
    for (let i = 0; i < names.length; i += size) {
      const batch = names.slice(i, i + size);
      const target = batch.length === 1 ? batch[0]! : `${batch.length} keys from ${batch[0]!}`;
      await this.run('delete', target, async () => {
        const results = await this.#client.removeObjects(this.bucket, batch);
        const failed = results.filter((r) => r?.Error?.Code && r.Error.Code !== 'NoSuchKey');
        if (failed.length > 0) {
          const first = failed[0]?.Error;
          throw Object.assign(new Error(`${failed.length} of ${batch.length} deletes failed, e.g. ${first?.Key ?? '?'}: ${first?.Code ?? '?'}`), { code: first?.Code });
        }
      });
    }
  }

  private objectName(key: string): string {
    return this.prefix + checkKey(key);
  }

  private async listPage(operation: string, prefix: string, marker: string, delimiter: string) {
    const page = await this.run(operation, this.prefix + prefix, () =>
      this.#client.listObjectsQuery(this.bucket, this.prefix + prefix, marker, { Delimiter: delimiter, MaxKeys: this.#options.listPageSize }),
    );
    return { objects: page.objects, isTruncated: String(page.isTruncated) === 'true' };
  }

  /**
   * One attempt of a single-PUT write. `If-None-Match: *` makes a create-only write atomic. When an
   * earlier attempt's reply was lost, the server may already hold our bytes: a 412 on a retry whose
   * stored ETag equals our MD5 is then our own write, not a competitor's.
   */
  private async createOnly(key: string, options: PutOptions, attempt: number, md5: string, send: (headers: Record<string, string>) => Promise<void>): Promise<void> {
    const headers: Record<string, string> = { 'Content-MD5': md5, 'Content-Type': options.contentType ?? 'application/octet-stream' };
    if (options.ifAbsent) headers['If-None-Match'] = '*';
    try {
      await send(headers);
    } catch (err) {
      if (errorCode(err) !== 'PreconditionFailed') throw err;
      if (attempt > 1) {
        const info = await this.#client.statObject(this.bucket, this.objectName(key));
        if (info.etag === Buffer.from(md5, 'base64').toString('hex')) return;
      }
      throw new PreconditionFailedError(key);
    }
  }

  /** Multipart upload, one part in memory at a time, each part retried on its own. */
  private async putMultipart(key: string, name: string, path: string, size: number, options: PutOptions): Promise<void> {
    const partSize = this.#options.partSize;
    const headers = { 'Content-Type': options.contentType ?? 'application/octet-stream' };
    const uploadId = await this.run('putFile (start multipart)', name, () => this.#client.initiateNewMultipartUpload(this.bucket, name, headers));
    const file = await open(path, 'r');
    try {
      const parts: { part: number; etag: string }[] = [];
      const buffer = Buffer.allocUnsafe(partSize);
      for (let offset = 0, part = 1; offset < size; offset += partSize, part++) {
        const length = Math.min(partSize, size - offset);
        for (let got = 0; got < length; ) {
          const { bytesRead } = await file.read(buffer, got, length - got, offset + got);
          if (bytesRead === 0) throw new Error(`${path} shrank while being uploaded`);
          got += bytesRead;
        }
        const data = buffer.subarray(0, length);
        const md5 = createHash('md5').update(data).digest('base64');
        const { etag } = await this.run(`putFile (part ${part})`, name, () =>
          this.#client.uploadPart({ bucketName: this.bucket, objectName: name, uploadID: uploadId, partNumber: part, headers: { 'Content-MD5': md5 } }, data),
        );
        parts.push({ part, etag });
      }
      await this.run('putFile (complete multipart)', name, async (attempt) => {
        try {
          await this.#client.completeMultipartUpload(this.bucket, name, uploadId, parts);
        } catch (err) {
          // A retry after a lost reply finds the upload already completed.
          if (attempt === 1 || errorCode(err) !== 'NoSuchUpload' || (await this.#client.statObject(this.bucket, name)).size !== size) throw err;
        }
      });
    } catch (err) {
      await this.#client.abortMultipartUpload(this.bucket, name, uploadId).catch(() => undefined);
      throw err;
    } finally {
      await file.close();
    }
    const stored = await this.stat(key);
    if (stored?.size !== size) throw new Error(`S3 putFile ${this.target(name)} at ${this.endpoint}: stored size ${stored?.size} differs from ${size}`);
  }

  private target(name: string): string {
    return `s3://${this.bucket}/${name}`;
  }

  /** Runs one operation, retrying transient failures; the store's own errors pass through. */
  private async run<T>(operation: string, name: string, attemptOnce: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const state: ReplyState = {};
      try {
        return await observeReplies(state, () => attemptOnce(attempt));
      } catch (err) {
        if (err instanceof NotFoundError || err instanceof PreconditionFailedError || err instanceof RangeError || err instanceof InvalidKeyError) throw err;
        if (state.replyRead) await Promise.race([state.replyRead, sleep(1000)]);
        const status = state.status !== undefined && state.status >= 300 ? state.status : undefined;
        const code = errorCode(err) ?? state.serverCode;
        if (isRetryable(status, code) && attempt <= this.#options.retries) {
          await sleep(backoffMs(attempt, this.#options.retryBaseDelayMs, this.#options.retryMaxDelayMs));
          continue;
        }
        const detail = describeFailure(err, status, code, [this.#options.accessKey, this.#options.secretKey]);
        throw new S3StoreError(operation, this.target(name), this.endpoint, attempt, status, code, detail, { cause: err });
      }
    }
  }
}
