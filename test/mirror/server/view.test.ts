// The StarlingX view over a real socket: series, alias and build folders, downloads resolved
// through build.json with HEAD, Range (206/416), ETag/If-None-Match (304), If-Range and
// Last-Modified, folder listings as HTML and JSON, and a download cut short by the client.
import { request, type IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBuildRecord, serialiseBuildRecord, type BuildRecord } from '../../../mirror/build-record.js';
import { blobKey, buildRecordKey } from '../../../mirror/layout.js';
import type { MirrorStore } from '../../../mirror/stores/store.js';
import type { TempStore } from '../helpers.js';
import { sha } from '../helpers.js';
import { B1, B2, B3, KEYSTONE_ROCK, SERIES, TS, cleanup, fixtureMirror, raw, serve, type Served } from './fixtures.js';

let t: TempStore;
let s: Served;
let b3: BuildRecord;
let rockBytes: Buffer;
const ROCK_URL = () => `${s.url}/${SERIES}/${B3}/outputs/${KEYSTONE_ROCK}`;

beforeAll(async () => {
  t = await fixtureMirror();
  s = await serve(t.store);
  b3 = parseBuildRecord((await t.store.get(buildRecordKey(TS, B3)))!, B3);
  rockBytes = Buffer.from(await (await fetch(ROCK_URL())).arrayBuffer());
});
afterAll(() => cleanup(t, s));

describe('view paths', () => {
  it('names the aliases as text and lists the builds of a series', async () => {
    const latest = await fetch(`${s.url}/${SERIES}/latest_build`);
    expect(latest.status).toBe(200);
    expect(latest.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await latest.text()).toBe(`${B3}\n`);
    expect(await (await fetch(`${s.url}/${SERIES}/stable_build`)).text()).toBe(`${B1}\n`);
    expect((await fetch(`${s.url}/fix-1234/caracal/jammy/stable_build`)).status).toBe(404);

    const listing = await (await fetch(`${s.url}/${SERIES}/`)).text();
    for (const id of [B1, B2, B3]) expect(listing).toContain(`href="/${SERIES}/${id}/"`);
    expect(listing).toContain(`href="/${SERIES}/latest_build"`);
    expect(listing).toContain(`href="/${SERIES}/stable_build"`);
    const json = (await (await fetch(`${s.url}/${SERIES}/`, { headers: { Accept: 'application/json' } })).json()) as { builds: { buildId: string }[]; latest: string };
    expect(json.latest).toBe(B3);
    expect(json.builds.map((b) => b.buildId)).toEqual([B3, B2, B1]);
  });

  it('redirects folder paths without a trailing slash, keeping the query', async () => {
    for (const [from, to] of [
      ['/reference', '/reference/'],
      ['/reference/2024.1', '/reference/2024.1/'],
      [`/${SERIES}?limit=1`, `/${SERIES}/?limit=1`],
      [`/${SERIES}/${B3}`, `/${SERIES}/${B3}/`],
      [`/${SERIES}/${B3}/outputs`, `/${SERIES}/${B3}/outputs/`],
    ]) {
      const r = await fetch(`${s.url}${from}`, { redirect: 'manual' });
      expect(r.status, from).toBe(301);
      expect(r.headers.get('location'), from).toBe(to);
    }
  });

  it('serves an output by build id, latest_build and stable_build, resolved through build.json', async () => {
    expect(sha(rockBytes)).toBe(b3.files[KEYSTONE_ROCK]?.digest);
    const viaLatest = await fetch(`${s.url}/${SERIES}/latest_build/outputs/${KEYSTONE_ROCK}`);
    expect(Buffer.from(await viaLatest.arrayBuffer()).equals(rockBytes)).toBe(true);
    expect(viaLatest.headers.get('cache-control')).toBe('no-cache');
    const viaStable = await fetch(`${s.url}/${SERIES}/stable_build/outputs/BUILD_RESULT`);
    expect(await viaStable.text()).toMatch(new RegExp(`^result: success\\nbuild-id: ${B1}\\n`));
    const record = await fetch(`${s.url}/${SERIES}/${B3}/build.json`);
    expect(parseBuildRecord(await record.text(), 'served')).toEqual(b3);
  });

  it('sets length, type, validators and caching on a download', async () => {
    const r = await fetch(ROCK_URL());
    await r.arrayBuffer();
    expect(r.headers.get('content-length')).toBe(String(rockBytes.length));
    expect(r.headers.get('content-type')).toBe('application/x-tar');
    expect(r.headers.get('etag')).toBe(`"${b3.files[KEYSTONE_ROCK]?.digest}"`);
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(r.headers.get('last-modified')).toBe(new Date(b3.finishedAt).toUTCString());
    expect(r.headers.get('cache-control')).toMatch(/immutable/);
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    const types: [string, RegExp][] = [
      ['logs/keystone.log', /^text\/plain; charset=utf-8$/],
      ['rockcraft/keystone/rockcraft.yaml', /^text\/plain/],
      ['SHA256SUMS', /^text\/plain/],
      ['CONTEXT', /^text\/plain/],
    ];
    for (const [path, type] of types) {
      const res = await fetch(`${s.url}/${SERIES}/${B3}/outputs/${path}`);
      await res.arrayBuffer();
      expect(res.headers.get('content-type'), path).toMatch(type);
    }
    // A log is served as text, never as a page a browser would run.
    expect(await (await fetch(`${s.url}/${SERIES}/${B3}/outputs/logs/keystone.log`)).text()).toContain('<script>alert(1)</script>');
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const head = await raw(s.url, `/${SERIES}/${B3}/outputs/${KEYSTONE_ROCK}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(rockBytes.length));
    expect(head.headers['etag']).toBe(`"${b3.files[KEYSTONE_ROCK]?.digest}"`);
    expect(head.body.length).toBe(0);
  });

  it('serves single byte ranges with 206 and refuses unsatisfiable ones with 416', async () => {
    const size = rockBytes.length;
    const cases: [string, number, number][] = [
      ['bytes=0-99', 0, 99],
      ['bytes=1000-', 1000, size - 1],
      ['bytes=-500', size - 500, size - 1],
      [`bytes=${size - 10}-${size + 1000}`, size - 10, size - 1],
    ];
    for (const [range, start, end] of cases) {
      const r = await fetch(ROCK_URL(), { headers: { Range: range } });
      expect(r.status, range).toBe(206);
      expect(r.headers.get('content-range'), range).toBe(`bytes ${start}-${end}/${size}`);
      expect(r.headers.get('content-length')).toBe(String(end - start + 1));
      expect(Buffer.from(await r.arrayBuffer()).equals(rockBytes.subarray(start, end + 1)), range).toBe(true);
    }
    for (const range of [`bytes=${size}-`, `bytes=${size + 5}-${size + 10}`, 'bytes=-0']) {
      const r = await fetch(ROCK_URL(), { headers: { Range: range } });
      expect(r.status, range).toBe(416);
      expect(r.headers.get('content-range')).toBe(`bytes */${size}`);
      expect(await r.text()).toMatch(/range not satisfiable/);
    }
    // Several ranges or other units: ignored, the whole file (RFC 9110 allows it).
    for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=9-3']) {
      const r = await fetch(ROCK_URL(), { headers: { Range: range } });
      expect(r.status, range).toBe(200);
      expect(Number(r.headers.get('content-length'))).toBe(size);
      await r.arrayBuffer();
    }
    const empty = await fetch(`${s.url}/${SERIES}/${B3}/outputs/empty.txt`, { headers: { Range: 'bytes=0-' } });
    expect(empty.status).toBe(416);
    const whole = await fetch(`${s.url}/${SERIES}/${B3}/outputs/empty.txt`);
    expect([whole.status, await whole.text()]).toEqual([200, '']);
  });

  it('answers 304 to a matching If-None-Match or If-Modified-Since, and honours If-Range', async () => {
    const etag = `"${b3.files[KEYSTONE_ROCK]?.digest}"`;
    for (const inm of [etag, `W/${etag}`, `"sha256:other", ${etag}`, '*']) {
      const r = await fetch(ROCK_URL(), { headers: { 'If-None-Match': inm } });
      expect(r.status, inm).toBe(304);
      expect(r.headers.get('etag')).toBe(etag);
    }
    expect((await fetch(ROCK_URL(), { headers: { 'If-None-Match': '"sha256:other"' } })).status).toBe(200);
    const later = new Date(Date.parse(b3.finishedAt) + 1000).toUTCString();
    expect((await fetch(ROCK_URL(), { headers: { 'If-Modified-Since': later } })).status).toBe(304);
    const earlier = new Date(Date.parse(b3.finishedAt) - 1000).toUTCString();
    const modified = await fetch(ROCK_URL(), { headers: { 'If-Modified-Since': earlier } });
    expect(modified.status).toBe(200);
    await modified.arrayBuffer();

    const resumed = await fetch(ROCK_URL(), { headers: { Range: 'bytes=100-', 'If-Range': etag } });
    expect(resumed.status).toBe(206);
    await resumed.arrayBuffer();
    const changed = await fetch(ROCK_URL(), { headers: { Range: 'bytes=100-', 'If-Range': '"sha256:something-else"' } });
    expect(changed.status).toBe(200);
    expect(Buffer.from(await changed.arrayBuffer()).equals(rockBytes)).toBe(true);
  });

  it('keeps serving after a client hangs up mid-download', async () => {
    const url = new URL(ROCK_URL());
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path: url.pathname }, (res) => {
        res.once('data', () => {
          req.destroy(); // hang up after the first chunk
          resolve();
        });
      });
      req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(err)));
      req.end();
    });
    const again = await fetch(ROCK_URL());
    expect(Buffer.from(await again.arrayBuffer()).equals(rockBytes)).toBe(true);
  });
});

describe('outputs listings', () => {
  it('lists outputs/ and its folders as HTML, with links that download', async () => {
    const top = await fetch(`${s.url}/${SERIES}/${B3}/outputs/`);
    expect(top.headers.get('content-type')).toMatch(/^text\/html/);
    expect(top.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
    const html = await top.text();
    for (const name of ['logs/', 'rockcraft/', 'rocks/', 'BUILD_RESULT', 'CONTEXT', 'SHA256SUMS']) expect(html).toContain(`>${name}</a>`);
    expect(html).not.toMatch(/<script/i);
    const rocks = await (await fetch(`${s.url}/${SERIES}/${B3}/outputs/rocks/`)).text();
    expect(rocks).toContain(`href="/${SERIES}/${B3}/outputs/${KEYSTONE_ROCK}"`);
    expect(rocks).toContain(`href="/${SERIES}/${B3}/outputs/"`); // ../
    const nested = await (await fetch(`${s.url}/${SERIES}/latest_build/outputs/rockcraft/keystone/`)).text();
    expect(nested).toContain(`href="/${SERIES}/latest_build/outputs/rockcraft/keystone/rockcraft.yaml"`);
  });

  it('answers JSON to Accept: application/json', async () => {
    const r = await fetch(`${s.url}/${SERIES}/${B3}/outputs/rocks/`, { headers: { Accept: 'application/json' } });
    const body = (await r.json()) as { buildId: string; path: string; entries: { name: string; type: string; size: number; digest: string }[] };
    expect(body).toMatchObject({ ...TS, buildId: B3, path: 'outputs/rocks/' });
    expect(body.entries.map((e) => [e.name, e.type, e.size, e.digest])).toEqual(
      ['rocks/glance_2024.1_amd64.rock', KEYSTONE_ROCK].map((p) => [p.slice(6), 'file', b3.files[p]?.size, b3.files[p]?.digest]),
    );
    const top = (await (await fetch(`${s.url}/${SERIES}/${B3}/outputs/`, { headers: { Accept: 'application/json' } })).json()) as { entries: { name: string; type: string; files?: number }[] };
    expect(top.entries.filter((e) => e.type === 'folder').map((e) => [e.name, e.files])).toEqual([
      ['logs', 2],
      ['rockcraft', 2],
      ['rocks', 2],
    ]);
  });

  it('says which build or folder is missing', async () => {
    const cases: [string, number, RegExp][] = [
      [`/${SERIES}/${B3}/outputs/nope/`, 404, /has no folder outputs\/nope\//],
      [`/${SERIES}/${B3}/outputs/nope.txt`, 404, /has no output nope\.txt/],
      [`/${SERIES}/${B2}/outputs/rocks/glance_2024.1_amd64.rock`, 404, /has no output rocks\/glance/],
      [`/${SERIES}/20200101T000000Z/outputs/BUILD_RESULT`, 404, /no build reference\/2024\.1\/noble\/20200101T000000Z/],
      ['/reference/2024.1/jammy/latest_build', 404, /no series jammy in reference\/2024\.1; series: noble/],
      [`/${SERIES}/${B3}/other/`, 404, /a build folder holds build\.json and outputs\//],
    ];
    for (const [path, status, message] of cases) {
      const r = await fetch(`${s.url}${path}`);
      expect(r.status, path).toBe(status);
      expect(await r.text(), path).toMatch(message);
    }
  });
});

describe('a 500 MiB download', () => {
  const HUGE = 500 * 1024 * 1024;
  const DIGEST = sha('a huge rock');

  /** The fixture store, except that B3's rock is a 500 MiB blob generated on demand and watched. */
  function hugeStore(watch: { produced: number; closed: boolean }): MirrorStore {
    const inner = t.store;
    const record: BuildRecord = { ...b3, files: { ...b3.files, [KEYSTONE_ROCK]: { digest: DIGEST, size: HUGE } } };
    return {
      location: inner.location,
      get: async (key) => (key === buildRecordKey(TS, B3) ? Buffer.from(serialiseBuildRecord(record)) : inner.get(key)),
      getStream: async (key, range) => {
        if (key !== blobKey(DIGEST)) return inner.getStream(key, range);
        const chunk = Buffer.alloc(64 * 1024, 7);
        const stream = new Readable({
          read() {
            if (watch.produced >= HUGE) return void this.push(null);
            watch.produced += chunk.length;
            this.push(chunk);
          },
        });
        stream.on('close', () => (watch.closed = true));
        return stream;
      },
      stat: (key) => inner.stat(key),
      put: (key, body, options) => inner.put(key, body, options),
      putFile: (key, path, options) => inner.putFile(key, path, options),
      list: (prefix) => inner.list(prefix),
      listPrefixes: (prefix) => inner.listPrefixes(prefix),
      delete: (keys) => inner.delete(keys),
    };
  }

  it('reads from the store only as fast as the client takes it, and stops when the client leaves', async () => {
    const watch = { produced: 0, closed: false };
    const huge = await serve(hugeStore(watch));
    try {
      const url = new URL(`${huge.url}/${SERIES}/${B3}/outputs/${KEYSTONE_ROCK}`);
      const req = request({ host: url.hostname, port: url.port, path: url.pathname });
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        req.on('response', resolve).on('error', reject).end();
      });
      expect(res.headers['content-length']).toBe(String(HUGE));
      res.pause(); // a client that stops reading
      await sleep(500);
      // Socket and stream buffers hold a few MiB at most; nothing like the whole file.
      expect(watch.produced).toBeLessThan(32 * 1024 * 1024);
      const stalled = watch.produced;
      await sleep(200);
      expect(watch.produced).toBe(stalled);
      expect(watch.closed).toBe(false);
      req.on('error', () => undefined);
      req.destroy();
      for (let i = 0; i < 50 && !watch.closed; i++) await sleep(20);
      expect(watch.closed).toBe(true);
      expect(watch.produced).toBeLessThan(32 * 1024 * 1024);
    } finally {
      await huge.close();
    }
  });
});
