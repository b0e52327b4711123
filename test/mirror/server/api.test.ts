// The JSON API under /api/mirror/v1 over a real socket (supertest on a listening server): listings,
// pagination, resolve (latest, stable, build id, pin, as-of), records, pins, the package diff and
// blobs by digest; and the router mounted at `/` beside other routes, as the controller mounts it.
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import express from 'express';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBuildRecord } from '../../../mirror/build-record.js';
import { blobKey, buildRecordKey } from '../../../mirror/layout.js';
import { httpReader } from '../../../mirror/http-reader.js';
import { pullBuild } from '../../../mirror/pull.js';
import { createMirrorRouter, type BuildDiff, type BuildsBody } from '../../../mirror/server/index.js';
import type { TempStore } from '../helpers.js';
import { readAll, sha } from '../helpers.js';
import { B1, B2, B3, KEYSTONE_ROCK, SERIES, TS, cleanup, fixtureMirror, imageDigest, serve, type Served } from './fixtures.js';

let t: TempStore;
let s: Served;
const api = (path: string) => request(s.url).get(`/api/mirror/v1${path}`);
const errorOf = (res: { body: unknown }) => (res.body as { error: string }).error;

beforeAll(async () => {
  t = await fixtureMirror();
  s = await serve(t.store);
});
afterAll(() => cleanup(t, s));

describe('listings', () => {
  it('lists trains, releases and series with their aliases', async () => {
    expect((await api('/trains').expect(200).expect('content-type', /json/)).body).toEqual({ trains: ['fix-1234', 'reference'] });
    expect((await api('/trains/reference/releases').expect(200)).body).toEqual({ train: 'reference', releases: ['2024.1'] });
    expect((await api('/trains/reference/releases/2024.1/series').expect(200)).body).toEqual({
      train: 'reference',
      release: '2024.1',
      series: [{ series: 'noble', latest: B3, stable: B1 }],
    });
    expect((await api('/trains/nosuch/releases').expect(404)).body).toEqual({ error: 'no train nosuch; trains: fix-1234, reference' });
    expect(errorOf(await api('/trains/reference/releases/2023.2/series').expect(404))).toBe('no release 2023.2 in train reference; releases: 2024.1');
  });

  it('lists builds newest first with result, times, size, rock digests and aliases', async () => {
    const body = (await api(`/builds/${SERIES}`).expect(200)).body as BuildsBody;
    expect(body).toMatchObject({ ...TS, latest: B3, stable: B1, total: 3, next: null });
    expect(body.builds.map((b) => [b.buildId, b.result, b.aliases])).toEqual([
      [B3, 'success', ['latest']],
      [B2, 'fail', []],
      [B1, 'success', ['stable', 'pin:prod']],
    ]);
    const newest = body.builds[0]!;
    expect(newest.startedAt).toBe('2024-05-03T12:00:00.000Z');
    expect(newest.finishedAt).toBe('2024-05-03T12:30:00.000Z');
    const record = parseBuildRecord((await t.store.get(buildRecordKey(TS, B3)))!, B3);
    expect(newest.size).toBe(Object.values(record.files).reduce((n, f) => n + f.size, 0));
    expect(newest.rocks).toEqual([
      { name: 'keystone', arch: 'amd64', version: '2024.1', outcome: 'built', digest: imageDigest('keystone', B3) },
      { name: 'glance', arch: 'amd64', version: '2024.1', outcome: 'built', digest: imageDigest('glance', B3) },
    ]);
  });

  it('pages through builds with limit and before', async () => {
    const seen: string[] = [];
    let before: string | null = null;
    let pages = 0;
    do {
      const page = (await api(`/builds/${SERIES}?limit=1${before ? `&before=${before}` : ''}`).expect(200)).body as BuildsBody;
      expect(page.builds).toHaveLength(1);
      seen.push(...page.builds.map((b) => b.buildId));
      before = page.next;
      pages += 1;
    } while (before && pages < 10);
    expect(seen).toEqual([B3, B2, B1]);
    const two = (await api(`/builds/${SERIES}?limit=2`).expect(200)).body as BuildsBody;
    expect([two.builds.map((b) => b.buildId), two.next]).toEqual([[B3, B2], B2]);
    const rest = (await api(`/builds/${SERIES}?limit=2&before=${B2}`).expect(200)).body as BuildsBody;
    expect([rest.builds.map((b) => b.buildId), rest.next]).toEqual([[B1], null]);
    expect(((await api(`/builds/${SERIES}?before=20240101T000000Z`).expect(200)).body as BuildsBody).builds).toEqual([]);
    // The series page of the view pages the same way.
    const html = await request(s.url).get(`/${SERIES}/?limit=1`).expect(200);
    expect(html.text).toContain(`href="/${SERIES}/?before=${B3}&amp;limit=1"`);
    expect(html.text).not.toContain(`/${SERIES}/${B2}/`);
  });
});

describe('resolve, records and pins', () => {
  it.each([
    ['latest', B3],
    ['latest_build', B3],
    ['stable', B1],
    [B2, B2],
    ['pin:prod', B1],
    // as-of names what latest named then: B3 started 12:00 on the 3rd but finished 12:30.
    ['as-of:2024-05-03T12:15:00Z', B1],
    ['as-of:2024-05-03T12:30:00Z', B3],
    ['as-of:2024-05-03T14:00:00+02:00', B1],
    ['as-of:2024-05-03T14:30:00+02:00', B3],
    ['as-of:20240502T235959Z', B1],
  ])('resolves %s', async (selector, buildId) => {
    const body = (await api(`/resolve?ref=${encodeURIComponent(`${SERIES}/${selector}`)}`).expect(200)).body as Record<string, string>;
    expect(body).toMatchObject({ ...TS, buildId });
    expect(body['ref']).toMatch(new RegExp(`^${SERIES}/`));
  });

  it('says why a ref does not resolve', async () => {
    expect(errorOf(await api(`/resolve?ref=${SERIES}/as-of:2024-04-01T00:00:00Z`).expect(404))).toMatch(/no successful build had finished by 2024-04-01T00:00:00\.000Z/);
    expect(errorOf(await api(`/resolve?ref=${SERIES}/pin:nope`).expect(404))).toMatch(/no pin named nope/);
    expect(errorOf(await api('/resolve?ref=nosuch/2024.1/noble/latest').expect(404))).toBe('no train nosuch; trains: fix-1234, reference');
    expect(errorOf(await api('/resolve?ref=fix-1234/caracal/jammy/stable').expect(404))).toMatch(/stable is not set/);
  });

  it('returns build records by id or alias, with caching to match', async () => {
    const byId = await api(`/builds/${SERIES}/${B3}`).expect(200);
    expect(byId.text).toBe((await t.store.get(buildRecordKey(TS, B3)))!.toString('utf8'));
    expect(byId.headers['cache-control']).toMatch(/max-age/);
    const byAlias = await api(`/builds/${SERIES}/stable`).expect(200);
    expect(parseBuildRecord(byAlias.text, 'api').buildId).toBe(B1);
    expect(byAlias.headers['cache-control']).toBe('no-cache');
    expect(errorOf(await api(`/builds/${SERIES}/20200101T000000Z`).expect(404))).toMatch(/no such build/);
    const pins = (await api(`/pins/${SERIES}`).expect(200)).body as { pins: Record<string, { buildId: string; note: string }> };
    expect(pins.pins['prod']).toMatchObject({ buildId: B1, note: 'what production runs' });
  });
});

describe('diff', () => {
  it('reports the per-rock package versions that changed, were added or removed', async () => {
    const body = (await api(`/diff?from=${SERIES}/stable&to=${SERIES}/latest`).expect(200)).body as BuildDiff & { from: { buildId: string }; to: { buildId: string } };
    expect([body.from.buildId, body.to.buildId]).toEqual([B1, B3]);
    expect(body.counts).toEqual({ changed: 2, added: 1, removed: 1 });
    const keystone = body.rocks.find((r) => r.rock === 'keystone')!;
    expect(keystone).toMatchObject({ status: 'changed', fromImage: imageDigest('keystone', B1), toImage: imageDigest('keystone', B3) });
    expect(keystone.packages).toEqual([
      { name: 'keystone', change: 'changed', from: '2:25.0.0-0ubuntu1', to: '2:25.0.1-0ubuntu1' },
      { name: 'python3-keystone', change: 'changed', from: '2:25.0.0-0ubuntu1', to: '2:25.0.1-0ubuntu1' },
      { name: 'python3-ldap', change: 'removed', from: '3.4.0-1' },
      { name: 'python3-oslo.cache', change: 'added', to: '3.7.0-0ubuntu1' },
    ]);
    expect(body.rocks.find((r) => r.rock === 'glance')?.packages).toEqual([]);

    const same = (await api(`/diff?from=${SERIES}/${B3}&to=${SERIES}/latest`).expect(200)).body as BuildDiff;
    expect(same.rocks.map((r) => r.status)).toEqual(['unchanged', 'unchanged']);
    // Across trains: the patch train's build against the reference one.
    const across = (await api(`/diff?from=${SERIES}/${B1}&to=fix-1234/caracal/jammy/latest`).expect(200)).body as BuildDiff;
    expect(across.rocks.map((r) => r.rock).sort()).toEqual(['glance', 'keystone']);
  });

  it('shows the same diff as a page, with a form that works without script', async () => {
    const page = await request(s.url).get(`/${SERIES}/diff?from=${B1}&to=${B3}`).expect(200);
    expect(page.text).toMatch(/<form class="inline" method="get" action="\/reference\/2024\.1\/noble\/diff">/);
    expect(page.text).toContain(`<option value="${B1}" selected>`);
    expect(page.text).toContain('<td>python3-oslo.cache</td><td>–</td><td>3.7.0-0ubuntu1</td><td>added</td>');
    // Default: latest against the build before it.
    const dflt = await request(s.url).get(`/${SERIES}/diff`).expect(200);
    expect(dflt.text).toContain(`<option value="${B2}" selected>`);
    expect(dflt.text).toContain(`<option value="${B3}" selected>`);
  });
});

describe('blobs by digest', () => {
  it('serves a blob with Range and ETag, and 404s an unknown digest', async () => {
    const record = parseBuildRecord((await t.store.get(buildRecordKey(TS, B3)))!, B3);
    const digest = record.files[KEYSTONE_ROCK]!.digest;
    const url = `${s.url}/api/mirror/v1/blobs/sha256/${digest.slice(7)}`;
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('etag')).toBe(`"${digest}"`);
    expect(sha(Buffer.from(await whole.arrayBuffer()))).toBe(digest);
    const part = await fetch(url, { headers: { Range: 'bytes=10-19' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals((await readAll(await t.store.getStream(blobKey(digest)))).subarray(10, 20))).toBe(true);
    expect(errorOf(await api(`/blobs/sha256/${'0'.repeat(64)}`).expect(404))).toBe(`no blob sha256:${'0'.repeat(64)}`);
  });
});

describe('mounted beside the controller', () => {
  it('serves its paths and passes reserved ones on, unguarded by its read access', async () => {
    const app = express();
    app.use(createMirrorRouter(t.store, { readAuth: { public: false, clients: [{ name: 'ci', token: 'a-token-of-sixteen+' }] } }));
    app.get('/healthz', (_req, res) => void res.send('controller ok'));
    app.get('/api/v1/jobs', (_req, res) => void res.json({ jobs: [] }));
    app.get('/metrics', (_req, res) => void res.send('# metrics'));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const agent = request(server);
      expect((await agent.get('/healthz').expect(200)).text).toBe('controller ok');
      expect((await agent.get('/api/v1/jobs').expect(200)).body).toEqual({ jobs: [] });
      expect((await agent.get('/metrics').expect(200)).text).toBe('# metrics');
      await agent.get('/static/app.css').expect(404); // the controller's 404, not the mirror's
      await agent.get('/api/mirror/v1/trains').expect(401);
      await agent.get(`/${SERIES}/`).expect(401);
      expect(((await agent.get('/api/mirror/v1/trains').set('Authorization', 'Bearer a-token-of-sixteen+').expect(200)).body as { trains: string[] }).trains).toHaveLength(2);
      expect((await agent.post(`/${SERIES}/`).set('Authorization', 'Bearer a-token-of-sixteen+').expect(405)).headers['allow']).toBe('GET, HEAD');
      // The controller's URLs are its own, even ones the mirror would call malformed.
      await agent.get('/static/%2e%2e/x').expect(404);
      await agent.get('/api/v1/jobs/..%2f').expect(404);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('works under a path prefix, for pages, downloads and an HTTP reader', async () => {
    const app = express();
    app.use('/mirror', createMirrorRouter(t.store));
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mirror`;
      const page = await (await fetch(`${base}/${SERIES}/`)).text();
      expect(page).toContain(`href="/mirror/${SERIES}/${B3}/"`);
      expect(page).toContain('href="/mirror/"');
      const redirect = await fetch(`${base}/reference`, { redirect: 'manual' });
      expect(redirect.headers.get('location')).toBe('/mirror/reference/');
      const build = await (await fetch(`${base}/${SERIES}/${B3}/`)).text();
      expect(build).toContain(`--mirror ${base}/`);
      const pulled = await pullBuild(httpReader(`${base}/`), `${SERIES}/latest`, join(t.dir, 'prefixed'));
      expect(pulled).toMatchObject({ buildId: B3, downloaded: 10 });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
