// Hostile paths and queries, sent byte for byte (no client-side normalisation): traversal in every
// spelling, NUL, backslashes, bad names and ids, oversized input. Each gets a 4xx with a short,
// clear message, and no response ever carries a stack trace, a filesystem path or a store location.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishBuild } from '../../../mirror/publish.js';
import type { TempStore } from '../helpers.js';
import { metadata, sha } from '../helpers.js';
import { B3, SERIES, cleanup, fixtureMirror, raw, serve, type Served } from './fixtures.js';

let t: TempStore;
let s: Served;
beforeAll(async () => {
  t = await fixtureMirror();
  s = await serve(t.store);
});
afterAll(() => cleanup(t, s));

const OUT = `/${SERIES}/${B3}/outputs`;
const API = '/api/mirror/v1';

describe('hostile requests', () => {
  it.each([
    ['.. at the top', '/../etc/passwd', 400, /"\.\." is not allowed in a path/],
    ['.. inside the view', `/${SERIES}/../../../etc/passwd`, 400, /"\.\." is not allowed/],
    ['.. inside outputs', `${OUT}/../build.json`, 400, /"\.\." is not allowed/],
    ['encoded ..', '/%2e%2e/%2e%2e/etc/passwd', 400, /"\.\." is not allowed/],
    ['upper-case encoded ..', `${OUT}/%2E%2E/%2E%2E/build.json`, 400, /"\.\." is not allowed/],
    ['an encoded slash', `${OUT}/..%2f..%2fbuild.json`, 400, /encoded slash/],
    ['an encoded absolute path', `${OUT}/%2fetc%2fpasswd`, 400, /encoded slash/],
    ['a backslash', `${OUT}/logs%5c..%5c..%5cbuild.json`, 400, /backslash/],
    ['a NUL byte', `${OUT}/logs/keystone.log%00.txt`, 400, /control characters/],
    ['a single dot', `/${SERIES}/./latest_build`, 400, /"\." is not allowed/],
    ['an empty segment', `/${SERIES}//latest_build`, 400, /empty path segment/],
    ['a protocol-relative path (no open redirect)', '//evil.example/reference', 400, /empty path segment/],
    ['an encoded protocol-relative path', '/%2F%2Fevil.example/reference', 400, /encoded slash/],
    ['broken percent-encoding', '/%E0%A4%A/', 400, /malformed percent-encoding/],
    ['an upper-case train', '/Reference/', 400, /invalid train "Reference"/],
    ['a train too long', `/${'a'.repeat(80)}/`, 400, /invalid train/],
    ['a bad release', '/reference/2024.x/', 400, /invalid release "2024\.x"/],
    ['a month-13 build id', `/${SERIES}/20241301T000000Z/`, 400, /not a real UTC date/],
    ['an unknown selector', `/${SERIES}/newest/`, 404, /newest is not a build id, latest_build or stable_build/],
    ['a build that does not exist', `/${SERIES}/20200101T000000Z/`, 404, /no build reference\/2024\.1\/noble\/20200101T000000Z/],
    ['an unknown train', '/nosuch/2024.1/noble/', 404, /^no train nosuch; trains: fix-1234, reference$/],
    ['an unknown release', '/reference/2099.1/noble/latest_build', 404, /^no release 2099\.1 in train reference; releases: 2024\.1$/],
    ['the blob store', '/blobs/sha256/', 404, /^not found$/],
    ['the coordination objects', '/meta/gc.lock', 404, /^not found$/],
    ['a very long path', `${OUT}/${'a'.repeat(3000)}`, 414, /path longer than 2048 characters/],
    ['a non-GET method', `/${SERIES}/`, 405, /the mirror is read-only/, 'DELETE'],
    ['a traversing ref', `${API}/resolve?ref=../../etc/passwd`, 400, /invalid build reference/],
    ['an encoded traversing ref', `${API}/resolve?ref=reference%2F..%2F2024.1%2Fnoble`, 400, /invalid release "\.\."/],
    ['a missing ref', `${API}/resolve`, 400, /query parameter ref is required/],
    ['a repeated ref', `${API}/resolve?ref=${SERIES}/latest&ref=${SERIES}/stable`, 400, /must be given once/],
    ['a ref in bracket syntax', `${API}/resolve?ref[a]=b`, 400, /query parameter ref is required/],
    ['a huge ref', `${API}/resolve?ref=${'x'.repeat(5000)}`, 400, /longer than 512 characters/],
    ['a zone-less time', `${API}/resolve?ref=${SERIES}/as-of:2024-05-01T12:00:00`, 400, /expected ISO 8601 with a zone/],
    ['a zero limit', `${API}/builds/${SERIES}?limit=0`, 400, /limit must be a whole number from 1 to 500/],
    ['a huge limit', `${API}/builds/${SERIES}?limit=100000`, 400, /limit must be a whole number from 1 to 500/],
    ['a negative limit', `${API}/builds/${SERIES}?limit=-5`, 400, /limit must be a whole number/],
    ['a bad cursor', `${API}/builds/${SERIES}?before=../x`, 400, /invalid build id/],
    ['a traversing API path', `${API}/builds/..%2f..%2fetc/2024.1/noble`, 400, /invalid train/],
    ['a bad blob digest', `${API}/blobs/sha256/..%2f..%2fbuild.json`, 400, /invalid digest/],
    ['a short blob digest', `${API}/blobs/sha256/abc`, 400, /expected sha256:<64 lower-case hex>/],
    ['a half diff', `${API}/diff?from=${SERIES}/latest`, 400, /query parameter to is required/],
    ['an unknown API path', `${API}/../../../etc/passwd`, 404, /./],
    ['an unknown API endpoint', `${API}/objects/blobs`, 404, /no such mirror API endpoint/],
    ['a write to the API', `${API}/trains`, 405, /the mirror API is read-only/, 'POST'],
    ['a page with a hostile query', `/${SERIES}/diff?from=<script>&to=latest`, 400, /invalid build reference/],
  ])('%s', async (_label, path, status, message, method = 'GET') => {
    const r = await raw(s.url, path, { method });
    expect(r.status, r.text).toBe(status);
    const text = r.headers['content-type']?.includes('json') ? (JSON.parse(r.text) as { error: string }).error : r.text.trim();
    expect(text).toMatch(message);
    expect(text.length).toBeLessThan(400);
    expect(r.text).not.toMatch(/\n\s+at /); // no stack trace
    expect(r.text).not.toContain(t.dir); // no filesystem path
    expect(r.text).not.toContain('fs:');
    // Errors are plain text or JSON, so what they echo is never markup.
    expect(r.headers['content-type']).toMatch(/^(text\/plain|application\/json)/);
  });

  it('answers a request line longer than the server accepts without reaching the mirror', async () => {
    const r = await raw(s.url, `/${'a'.repeat(20_000)}`);
    expect(r.status).toBe(431);
  });

  it('escapes what a build record holds on every page, and its odd file names still download', async () => {
    const evil = '"><img src=x onerror=alert(1)><script>alert(2)</script>';
    const odd = `logs/<b>x</b> & "q" 'a' #?%.log`;
    const meta = metadata('20240601T000000Z', {
      train: 'evil',
      context: { ...metadata('20240601T000000Z').context, ppas: [`ppa:${evil}`], patches: [{ name: evil, digest: sha('p') }], branch: evil },
    });
    await publishBuild(t.store, { metadata: meta, files: [{ path: odd, source: Buffer.from('odd\n') }] });
    const pages = ['/', '/evil/', '/evil/2024.1/', '/evil/2024.1/noble/', '/evil/2024.1/noble/20240601T000000Z/', '/evil/2024.1/noble/20240601T000000Z/outputs/logs/', '/evil/2024.1/noble/history', '/evil/2024.1/noble/diff'];
    for (const page of pages) {
      const r = await raw(s.url, page);
      expect(r.status, page).toBe(200);
      expect(r.text, page).not.toMatch(/<script|<img|<b>/i);
    }
    const build = (await raw(s.url, '/evil/2024.1/noble/20240601T000000Z/')).text;
    expect(build).toContain('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;');
    const href = /href="([^"]*%3Cb%3E[^"]*)"/.exec(build)?.[1];
    expect(href).toBeDefined();
    const file = await fetch(`${s.url}${href!.replace(/&amp;/g, '&').replace(/&#39;/g, "'")}`);
    expect([file.status, await file.text()]).toEqual([200, 'odd\n']);
  });
});
