// Publishing to S3 when the S3 service goes away mid-publish: a clear failure after retries with
// backoff, nothing half-visible, and the same publish completes once S3 is back.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { publishBuild } from '../../mirror/publish.js';
import { listBuilds, resolveRef } from '../../mirror/query.js';
import { S3Store, S3StoreError } from '../../mirror/stores/s3.js';
import { RGW_SKIP_REASON } from '../setup/rgw.js';
import { TS, stagedBuild, tempStore, type TempStore } from './helpers.js';

const rgw = inject('rgw');

/** Forwards HTTP to S3; while `down`, drops every request's connection. */
async function outageProxy(upstream: string) {
  const target = new URL(upstream);
  const state = { down: false, requests: 0, dropAfter: Infinity };
  const server = http.createServer((req, res) => {
    state.requests += 1;
    if (state.requests > state.dropAfter) state.down = true;
    if (state.down) {
      req.socket.destroy();
      return;
    }
    const forward = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', () => req.socket.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}`, state, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe.skipIf(!rgw)(`publish while S3 goes down${rgw ? '' : ` (${RGW_SKIP_REASON})`}`, () => {
  let t: TempStore;
  let proxy: Awaited<ReturnType<typeof outageProxy>>;
  let store: S3Store;
  let direct: S3Store;
  const bucket = `outage-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    if (!rgw) return;
    t = await tempStore();
    proxy = await outageProxy(rgw.endpoint);
    const options = { region: rgw.region, bucket, accessKey: rgw.accessKey, secretKey: rgw.secretKey, retries: 2, retryBaseDelayMs: 50, retryMaxDelayMs: 200, timeoutMs: 3000 };
    store = new S3Store({ ...options, endpoint: proxy.url });
    direct = new S3Store({ ...options, endpoint: rgw.endpoint });
    await direct.ensureBucket();
  });
  afterAll(async () => {
    if (!rgw) return;
    store.close();
    direct.close();
    await proxy.close();
    await t.cleanup();
  });

  it('fails clearly after retries, shows no half build, and completes when S3 is back', async () => {
    await publishBuild(store, await stagedBuild(t.dir, '20240501T120000Z', { rockSeed: 'one' }));
    proxy.state.dropAfter = proxy.state.requests + 4;
    const started = Date.now();
    const error = await publishBuild(store, await stagedBuild(t.dir, '20240502T120000Z', { rockSeed: 'two' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3StoreError);
    expect((error as S3StoreError).message).toMatch(/failed after 3 attempts/);
    expect((error as S3StoreError).message).not.toContain(rgw?.secretKey ?? 'never');
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);

    // Read without the proxy: only the first build exists and latest still points at it.
    expect((await listBuilds(direct, TS)).builds.map((b) => b.buildId)).toEqual(['20240501T120000Z']);
    expect((await resolveRef(direct, 'reference/2024.1/noble/latest')).buildId).toBe('20240501T120000Z');

    proxy.state.down = false;
    proxy.state.dropAfter = Infinity;
    await publishBuild(store, await stagedBuild(t.dir, '20240502T120000Z', { rockSeed: 'two' }), { lock: { waitMs: 10_000 } });
    expect((await resolveRef(direct, 'reference/2024.1/noble/latest')).buildId).toBe('20240502T120000Z');
  });
});
