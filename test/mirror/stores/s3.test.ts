// The S3 store against a real Ceph RGW (started once per run by test/setup/rgw.ts): the shared
// store contract, with and without a key prefix, plus what only S3 has — other clients sharing the
// bucket, retries, timeouts, a server that dies mid-upload, and credentials kept out of sight.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Client, type BucketItem } from 'minio';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { S3ConfigError, s3StoreOptionsFromEnv } from '../../../mirror/stores/s3-config.js';
import { S3Store, S3StoreError } from '../../../mirror/stores/s3.js';
import { PreconditionFailedError } from '../../../mirror/stores/store.js';
import { RGW_SKIP_REASON, startRgw, type RgwConnection, type RgwInstance } from '../../setup/rgw.js';
import { collect, describeStoreContract, writeRandomFile } from './contract.js';

const rgw = inject('rgw');
const MiB = 1024 * 1024;
const unique = () => randomBytes(5).toString('hex');

function rawClient(conn: RgwConnection): Client {
  const url = new URL(conn.endpoint);
  return new Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false, pathStyle: true, region: conn.region, accessKey: conn.accessKey, secretKey: conn.secretKey });
}

function storeFor(conn: RgwConnection, bucket: string, extra: Partial<ConstructorParameters<typeof S3Store>[0]> = {}): S3Store {
  return new S3Store({ endpoint: conn.endpoint, region: conn.region, bucket, accessKey: conn.accessKey, secretKey: conn.secretKey, retryBaseDelayMs: 20, ...extra });
}

async function emptyPrefix(store: S3Store): Promise<void> {
  const keys = (await collect(store.list(''))).map((o) => o.key);
  await store.delete(keys);
}

type Action = 'pass' | 'lose-reply' | 'reset' | 'hang' | { status: number; code: string };

/**
 * An HTTP proxy in front of an S3 endpoint that can fail chosen requests: answer with an S3 error,
 * reset the connection, never answer, or forward the request and then drop the server's reply
 * (the request took effect; the client cannot know). Requests keep their Host header, so
 * signatures stay valid.
 */
async function faultProxy(upstream: string, decide: (req: http.IncomingMessage, n: number) => Action | Promise<Action>) {
  const target = new URL(upstream);
  const seen: string[] = [];
  const failures: unknown[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const decided = Promise.resolve(decide(req, seen.length)).catch((err: unknown) => {
      failures.push(err);
      return 'reset' as const;
    });
    void decided.then((action) => {
      if (action === 'hang') return;
      if (action === 'reset') return req.socket.destroy();
      if (typeof action === 'object') {
        req.resume();
        req.on('end', () => {
          res.writeHead(action.status, { 'content-type': 'application/xml' });
          res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${action.code}</Code><Message></Message></Error>`);
        });
        return;
      }
      const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (upRes) => {
        if (action === 'lose-reply') {
          upRes.resume();
          upRes.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', () => res.destroy());
      req.pipe(up);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    seen,
    /** Errors thrown by `decide` (the request concerned was reset). */
    failures,
    /** Stops listening and drops every connection: clients then see resets and refusals. */
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('S3 store options', () => {
  const base = { endpoint: 'http://127.0.0.1:7480', bucket: 'mirror', accessKey: 'a' };

  it('refuses invalid options without echoing their values', () => {
    const secretKey = `secret-${unique()}`;
    const attempt = (extra: object) => () => new S3Store({ ...base, secretKey, ...extra });
    expect(attempt({ endpoint: `http://user:${secretKey}@127.0.0.1:7480` })).toThrow(S3ConfigError);
    expect(attempt({ endpoint: `http://user:${secretKey}@127.0.0.1:7480` })).toThrow(/endpoint: must not contain credentials/);
    expect(attempt({ endpoint: 'http://127.0.0.1:7480/some/path' })).toThrow(/endpoint: must be a bare origin/);
    expect(attempt({ bucket: 'No_Such' })).toThrow(/bucket/);
    expect(attempt({ endpoint: 'ftp://127.0.0.1' })).toThrow(/endpoint/);
    expect(attempt({ prefix: 'a/../b' })).toThrow(/prefix/);
    expect(attempt({ partSize: 1024 })).toThrow(/partSize/);
    const err = (() => {
      try {
        attempt({ endpoint: `http://user:${secretKey}@127.0.0.1:7480`, accessKey: '' })();
      } catch (e) {
        return e;
      }
    })();
    expect(String(err)).toMatch(/accessKey/);
    expect(String(err)).not.toContain(secretKey);
  });

  it('normalises the prefix and names the location without credentials', () => {
    const store = new S3Store({ ...base, endpoint: new URL('https://s3.example.com'), secretKey: 's', prefix: '/a/b/' });
    expect(store.location).toBe('s3://mirror/a/b');
    expect(store.prefix).toBe('a/b/');
    expect(store.endpoint).toBe('https://s3.example.com');
    expect(new S3Store({ ...base, secretKey: 's' }).location).toBe('s3://mirror');
  });

  it('reads endpoint, bucket and credentials from the environment, overridable by config', () => {
    const env = {
      HELIOSTAT_S3_ENDPOINT: 'http://10.0.0.5:7480',
      HELIOSTAT_S3_BUCKET: 'rocks',
      HELIOSTAT_S3_PREFIX: 'mirror',
      AWS_ACCESS_KEY_ID: 'AKID',
      AWS_SECRET_ACCESS_KEY: 'SECRET',
      HELIOSTAT_S3_PATH_STYLE: 'false',
    };
    const options = s3StoreOptionsFromEnv(env);
    expect(options).toMatchObject({ bucket: 'rocks', prefix: 'mirror/', region: 'us-east-1', accessKey: 'AKID', secretKey: 'SECRET', pathStyle: false });
    expect(options.endpoint.href).toBe('http://10.0.0.5:7480/');
    expect(s3StoreOptionsFromEnv({ ...env, HELIOSTAT_S3_ACCESS_KEY: 'OWN' }, { bucket: 'other' })).toMatchObject({ bucket: 'other', accessKey: 'OWN' });
    const { AWS_SECRET_ACCESS_KEY: _unused, ...withoutSecret } = env;
    expect(() => s3StoreOptionsFromEnv(withoutSecret)).toThrow(/secretKey/);
    expect(() => s3StoreOptionsFromEnv(withoutSecret)).not.toThrow(/AKID/);
  });
});

describe.skipIf(!rgw)(rgw ? 'S3Store on Ceph RGW' : `S3Store on Ceph RGW — ${RGW_SKIP_REASON}`, () => {
  const conn = rgw!;
  const bucket = `heliostat-s3-${unique()}`;
  let admin: S3Store;
  let scratch: string;

  beforeAll(async () => {
    admin = storeFor(conn, bucket);
    await admin.ensureBucket();
    await admin.ensureBucket(); // idempotent
    scratch = await mkdtemp(join(tmpdir(), 'heliostat-s3-test-'));
  });
  afterAll(async () => {
    await emptyPrefix(admin);
    await rawClient(conn).removeBucket(bucket);
    admin.close();
    await rm(scratch, { recursive: true, force: true });
  });

  // Small pages, batches and parts so pagination, batching and multipart all run.
  const small = { listPageSize: 7, deleteBatchSize: 5, partSize: 5 * MiB };

  describeStoreContract('S3 with a key prefix', () => {
    const store = storeFor(conn, bucket, { prefix: `contract/${unique()}/`, ...small });
    return Promise.resolve({
      store,
      async cleanup() {
        await emptyPrefix(store);
        store.close();
      },
    });
  });

  describeStoreContract('S3 at the bucket root', async () => {
    const own = `heliostat-root-${unique()}`;
    const store = storeFor(conn, own, small);
    await store.ensureBucket();
    return {
      store,
      async cleanup() {
        await emptyPrefix(store);
        await rawClient(conn).removeBucket(own);
        store.close();
      },
    };
  });

  it('shares its objects with any other S3 client, under the prefix', async () => {
    const prefix = `shared/${unique()}`;
    const store = storeFor(conn, bucket, { prefix, partSize: 5 * MiB });
    const raw = rawClient(conn);
    expect(store.location).toBe(`s3://${bucket}/${prefix}`);

    await store.put('blobs/one', 'from the store');
    await raw.putObject(bucket, `${prefix}/blobs/two`, 'from another client');
    const file = join(scratch, 'multi.bin');
    await writeRandomFile(file, 11 * MiB);
    await store.putFile('blobs/three', file);

    const names: string[] = [];
    for await (const item of raw.listObjectsV2(bucket, `${prefix}/`, true) as AsyncIterable<BucketItem>) if (item.name) names.push(item.name);
    expect(names).toEqual([`${prefix}/blobs/one`, `${prefix}/blobs/three`, `${prefix}/blobs/two`]);
    expect((await store.get('blobs/two'))?.toString()).toBe('from another client');
    // Uploaded in three parts; the multipart ETag (empty in RGW's complete reply) is not needed.
    const info = await raw.statObject(bucket, `${prefix}/blobs/three`);
    expect(info.size).toBe(11 * MiB);
    expect(info.etag).toMatch(/-3$/);
    expect(await raw.listIncompleteUploads(bucket, `${prefix}/`, true).toArray()).toEqual([]);
    await emptyPrefix(store);
    store.close();
  });

  it('never shows credentials in its location, its inspection or its errors', async () => {
    const secretKey = `secret-${unique()}-do-not-print`;
    const store = storeFor(conn, bucket, { prefix: 'x', secretKey, retries: 0 });
    expect(store.location).toBe(`s3://${bucket}/x`);
    expect(inspect(store, { depth: 10, showHidden: true })).not.toContain(secretKey);
    const err = await store.put('k', 'v').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(S3StoreError);
    const text = `${String(err)}\n${(err as Error).stack}\n${inspect(err, { depth: 10 })}`;
    expect(text).toContain('put');
    expect(text).toContain(conn.endpoint);
    expect((err as S3StoreError).status).toBe(403);
    expect(text).not.toContain(secretKey);
    store.close();
  });

  describe('retries', () => {
    it('retries 503 SlowDown and reset connections, then succeeds', async () => {
      const proxy = await faultProxy(conn.endpoint, (req, n) => (n <= 2 ? { status: 503, code: 'SlowDown' } : n === 3 ? 'reset' : 'pass'));
      const store = storeFor(conn, bucket, { endpoint: proxy.endpoint, prefix: `retry/${unique()}` });
      await store.put('k', 'survived');
      expect(proxy.seen).toHaveLength(4);
      expect(proxy.seen.every((r) => r.startsWith('PUT '))).toBe(true);
      expect((await store.get('k'))?.toString()).toBe('survived');
      await emptyPrefix(store);
      store.close();
      await proxy.close();
    });

    it('does not retry 403, 404 or 412', async () => {
      const proxy = await faultProxy(conn.endpoint, (req) => (req.url?.includes('forbidden') ? { status: 403, code: 'AccessDenied' } : 'pass'));
      const store = storeFor(conn, bucket, { endpoint: proxy.endpoint, prefix: `noretry/${unique()}` });
      const err = await store.get('forbidden').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(S3StoreError);
      expect(err).toMatchObject({ status: 403, code: 'AccessDenied', attempts: 1 });
      expect(proxy.seen).toHaveLength(1);

      proxy.seen.length = 0;
      expect(await store.get('missing')).toBeUndefined();
      expect(await store.stat('missing')).toBeUndefined();
      expect(proxy.seen).toHaveLength(2);

      await store.put('once', 'a', { ifAbsent: true });
      proxy.seen.length = 0;
      await expect(store.put('once', 'b', { ifAbsent: true })).rejects.toBeInstanceOf(PreconditionFailedError);
      expect(proxy.seen).toHaveLength(1);
      await emptyPrefix(store);
      store.close();
      await proxy.close();
    });

    it('recognises its own write when a reply was lost and the retry meets the result', async () => {
      const once = new Set<string>();
      const loseFirst = (req: http.IncomingMessage): Action => {
        const kind = req.method === 'POST' && req.url?.includes('uploadId=') ? 'complete' : req.method === 'PUT' && !req.url?.includes('partNumber') ? 'put' : '';
        if (!kind || once.has(kind)) return 'pass';
        once.add(kind);
        return 'lose-reply';
      };
      const proxy = await faultProxy(conn.endpoint, loseFirst);
      const store = storeFor(conn, bucket, { endpoint: proxy.endpoint, prefix: `lost/${unique()}`, partSize: 5 * MiB });
      // The first PUT is stored but its reply lost; the retry gets 412 for our own bytes.
      await store.put('commit.json', '{"build":1}', { ifAbsent: true });
      expect(proxy.seen.filter((r) => r.startsWith('PUT '))).toHaveLength(2);
      await expect(store.put('commit.json', '{"build":2}', { ifAbsent: true })).rejects.toBeInstanceOf(PreconditionFailedError);
      // The first CompleteMultipartUpload succeeds but its reply is lost; the retry finds no upload.
      const file = join(scratch, 'lost.bin');
      await writeRandomFile(file, 6 * MiB);
      await store.putFile('blob', file);
      expect(proxy.seen.filter((r) => r.startsWith('POST ') && r.includes('uploadId='))).toHaveLength(2);
      expect((await store.stat('blob'))?.size).toBe(6 * MiB);
      await emptyPrefix(store);
      store.close();
      await proxy.close();
    });

    it('aborts a multipart upload whose part fails for good', async () => {
      const proxy = await faultProxy(conn.endpoint, (req) => (req.url?.includes('partNumber=2') ? { status: 403, code: 'AccessDenied' } : 'pass'));
      const prefix = `abort/${unique()}`;
      const store = storeFor(conn, bucket, { endpoint: proxy.endpoint, prefix, partSize: 5 * MiB });
      const file = join(scratch, 'abort.bin');
      await writeRandomFile(file, 11 * MiB);
      await expect(store.putFile('blob', file)).rejects.toMatchObject({ operation: 'putFile (part 2)', status: 403, attempts: 1 });
      expect(proxy.seen.some((r) => r.startsWith('DELETE ') && r.includes('uploadId='))).toBe(true);
      expect(await rawClient(conn).listIncompleteUploads(bucket, `${prefix}/`, true).toArray()).toEqual([]);
      expect(await store.stat('blob')).toBeUndefined();
      store.close();
      await proxy.close();
    });

    it('gives up after its retries with an error naming operation, object and endpoint', async () => {
      const proxy = await faultProxy(conn.endpoint, () => ({ status: 503, code: 'SlowDown' }));
      const store = storeFor(conn, bucket, { endpoint: proxy.endpoint, prefix: 'down', retries: 3 });
      const err = await store.put('blobs/x', 'v').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(S3StoreError);
      expect(err).toMatchObject({ operation: 'put', attempts: 4, status: 503, code: 'SlowDown' });
      expect((err as Error).message).toBe(`S3 put s3://${bucket}/down/blobs/x at ${proxy.endpoint} failed after 4 attempts: HTTP 503 SlowDown`);
      expect(proxy.seen).toHaveLength(4);
      store.close();
      await proxy.close();
    });

    it('times out a server that never answers', async () => {
      const proxy = await faultProxy(conn.endpoint, () => 'hang');
      const store = storeFor(conn, bucket, { endpoint: proxy.endpoint, timeoutMs: 300, retries: 1 });
      const started = Date.now();
      const err = await store.stat('k').catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'S3StoreError', code: 'ETIMEDOUT', attempts: 2 });
      expect((err as Error).message).toMatch(/no reply within 300 ms/);
      expect(Date.now() - started).toBeLessThan(5000);
      store.close();
      await proxy.close();
    });

    it('reports a clear error when nothing listens at the endpoint', async () => {
      const proxy = await faultProxy(conn.endpoint, () => 'pass');
      await proxy.close(); // now a closed port
      const store = storeFor(conn, bucket, { endpoint: proxy.endpoint, retries: 2 });
      const err = await store.list('any/')[Symbol.asyncIterator]().next().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(S3StoreError);
      expect((err as Error).message).toBe(
        `S3 list s3://${bucket}/any/ at ${proxy.endpoint} failed after 3 attempts: connection refused (is the S3 service running?)`,
      );
      store.close();
    });
  });

  describe('a server stopped in the middle of an upload', () => {
    let own: RgwInstance | undefined;
    afterAll(async () => {
      await own?.stop();
    });

    it('fails the upload with a clear error once retries run out', { timeout: 90_000 }, async () => {
      own = await startRgw({ memstoreBytes: 512 * MiB, preferDefaultPorts: false });
      const instance = own;
      const target = `stop-${unique()}`;
      // The proxy lets part 1 through, then stops the server and goes away, as a dying host would.
      const proxy = await faultProxy(instance.endpoint, async (req) => {
        if (req.url?.includes('partNumber=2')) {
          await instance.stop();
          await proxy.close();
          return 'hang';
        }
        return 'pass';
      });
      const store = storeFor(instance, target, { endpoint: proxy.endpoint, partSize: 5 * MiB, retries: 2 });
      await store.ensureBucket();
      const file = join(scratch, 'interrupted.bin');
      await writeRandomFile(file, 12 * MiB);

      const err = await store.putFile('rocks/big.rock', file).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(S3StoreError);
      expect(err).toMatchObject({ operation: 'putFile (part 2)', attempts: 3, code: 'ECONNREFUSED' });
      expect((err as Error).message).toBe(
        `S3 putFile (part 2) s3://${target}/rocks/big.rock at ${proxy.endpoint} failed after 3 attempts: connection refused (is the S3 service running?)`,
      );
      expect(inspect(err, { depth: 10 })).not.toContain(instance.secretKey);
      expect(proxy.failures).toEqual([]);
      store.close();
    });
  });
});
