import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseDeb822 } from '../../src/archive/deb822.js';
import { ArchiveError, IndexDecodeError, IndexFetchError, IndexNotFoundError, OfflineCacheMissError } from '../../src/archive/errors.js';
import type { FetchEvent, IndexFetcherOptions } from '../../src/archive/fetch-index.js';
import { IndexFetcher } from '../../src/archive/fetch-index.js';
import { parseSourcesIndex } from '../../src/archive/sources.js';
import { openstackSource } from '../fixtures/apt-archive.js';
import type { AptArchiveFixture } from '../fixtures/apt-archive-server.js';
import { startAptArchive } from '../fixtures/apt-archive-server.js';

const SOURCES_PATH = '/ubuntu/dists/noble/main/source/Sources.gz';
const PACKAGES_PATH = '/ubuntu/dists/noble/main/binary-amd64/Packages.gz';

let fixture: AptArchiveFixture;
let cacheDir: string;
const temps: string[] = [];

beforeAll(async () => {
  fixture = await startAptArchive({
    archive: { noble: { main: [openstackSource('cinder', '2:24.0.0-0ubuntu1'), openstackSource('keystone', '2:25.0.0-0ubuntu1')] } },
    ppas: [{ owner: 'canonical-openstack', name: 'cinder-fixes', series: 'noble', sources: [openstackSource('cinder', '2:24.0.0-0ubuntu1~ppa1')] }],
  });
  temps.push(fixture.archive.root);
});

afterAll(async () => {
  await fixture.server.close();
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'index-cache-'));
  temps.push(cacheDir);
  fixture.server.resetCounts();
});

function url(path: string): string {
  return `${fixture.server.url}${path}`;
}

function fetcher(options: Partial<IndexFetcherOptions> = {}): IndexFetcher {
  return new IndexFetcher({ cacheDir, retries: 3, retryDelayMs: 5, timeoutMs: 5_000, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('IndexFetcher against the fixture archive', () => {
  it('downloads, decompresses and caches on the first fetch', async () => {
    const result = await fetcher().fetchIndex(url(SOURCES_PATH));
    expect(result.status).toBe('downloaded');
    expect(parseSourcesIndex(result.text).map((s) => s.name)).toEqual(['cinder', 'keystone']);
    expect(fixture.server.count(SOURCES_PATH)).toBe(1);
    const entry = join(cacheDir, 'archive', createHash('sha256').update(url(SOURCES_PATH)).digest('hex'));
    const meta = JSON.parse(await readFile(join(entry, 'meta.json'), 'utf8')) as Record<string, unknown>;
    expect(meta).toMatchObject({ url: url(SOURCES_PATH), etag: expect.stringMatching(/^"[0-9a-f]{32}"$/) as unknown, lastModified: expect.any(String) as unknown });
    expect(new Date(String(meta.fetchedAt)).getTime()).toBeGreaterThan(Date.now() - 60_000);
    const served = await readFile(join(fixture.archive.root, SOURCES_PATH));
    expect((await readFile(join(entry, 'body'))).equals(served)).toBe(true);
    expect((await readdir(entry)).sort()).toEqual(['body', 'meta.json']);
  });

  it('revalidates with If-None-Match / If-Modified-Since and reuses the cache on 304', async () => {
    const first = await fetcher().fetchIndex(url(SOURCES_PATH));
    const second = fetcher();
    const again = await second.fetchIndex(url(SOURCES_PATH));
    expect(again.status).toBe('not-modified');
    expect(again.text).toBe(first.text);
    expect(fixture.server.count(SOURCES_PATH)).toBe(2);
    const [, conditional] = fixture.server.requests;
    expect(conditional).toMatchObject({ method: 'GET', status: 304, ifNoneMatch: first.meta.etag, ifModifiedSince: first.meta.lastModified });
    expect(second.stats).toMatchObject({ requests: 1, notModified: 1, downloads: 0, cacheHits: 1 });
  });

  it('downloads again after the archive changes', async () => {
    const path = '/ubuntu/dists/noble/main/source/Sources';
    const before = await fetcher().get(url(path));
    await fixture.server.updateFile(path, `${before}\nPackage: glance\nVersion: 2:28.0.0-0ubuntu1\nBinary: glance-api\n`);
    const after = await fetcher().fetchIndex(url(path));
    expect(after.status).toBe('downloaded');
    expect(parseSourcesIndex(after.text).map((s) => s.name)).toEqual(['cinder', 'keystone', 'glance']);
    expect(fixture.server.requests.map((r) => r.status)).toEqual([200, 200]);
  });

  it('serves from the cache offline and says so when an index was never cached', async () => {
    const online = await fetcher().get(url(PACKAGES_PATH));
    fixture.server.resetCounts();
    const offline = fetcher({ offline: true });
    const result = await offline.fetchIndex(url(PACKAGES_PATH));
    expect(result).toMatchObject({ status: 'offline', text: online });
    expect(fixture.server.requests).toEqual([]);
    const error = await rejection(offline.get(url(SOURCES_PATH)));
    expect(error).toBeInstanceOf(OfflineCacheMissError);
    expect(error.message).toBe(`offline and index not cached: ${url(SOURCES_PATH)}. Run once online to fill the cache.`);
    await expect(offline.probe(url(PACKAGES_PATH))).rejects.toThrow(/offline: cannot probe/);
  });

  it('turns 404 into a clear user error without retrying', async () => {
    const missing = url('/ppa/canonical-openstack/cinder-fixes/ubuntu/dists/jammy/main/source/Sources.gz');
    const error = await rejection(fetcher().get(missing));
    expect(error).toBeInstanceOf(IndexNotFoundError);
    expect(error.message).toContain(`index not found: ${missing} (HTTP 404)`);
    expect(error.message).toContain('Check the series, the cloud release codename, the pocket and the PPA name');
    expect(fixture.server.requests).toHaveLength(1);
  });

  it('retries injected 500s with backoff, then succeeds', async () => {
    const events: FetchEvent[] = [];
    const client = fetcher({ log: (event) => events.push(event) });
    fixture.server.failNext(2, 500);
    const text = await client.get(url(SOURCES_PATH));
    expect(text).toContain('Package: cinder');
    expect(fixture.server.requests.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(client.stats).toMatchObject({ requests: 3, retries: 2, downloads: 1 });
    expect(events.filter((e) => e.type === 'retry')).toEqual([
      { type: 'retry', url: url(SOURCES_PATH), attempt: 1, delayMs: 5, reason: 'HTTP 500' },
      { type: 'retry', url: url(SOURCES_PATH), attempt: 2, delayMs: 10, reason: 'HTTP 500' },
    ]);
  });

  it('gives up after the last retry with a clear error', async () => {
    fixture.server.failNext(3, 503);
    const error = await rejection(fetcher({ retries: 2 }).get(url(SOURCES_PATH)));
    expect(error).toBeInstanceOf(IndexFetchError);
    expect(error.message).toBe(`cannot fetch index ${url(SOURCES_PATH)}: HTTP 503 after 3 attempts`);
    expect((error as IndexFetchError).status).toBe(503);
    expect(fixture.server.count(SOURCES_PATH)).toBe(3);
  });

  it('does not retry other client errors', async () => {
    fixture.server.failNext(1, 403);
    await expect(fetcher().get(url(SOURCES_PATH))).rejects.toThrow(/unexpected HTTP 403/);
    expect(fixture.server.count(SOURCES_PATH)).toBe(1);
  });

  it('times out a hanging server and retries', async () => {
    fixture.server.hangNext(1);
    const client = fetcher({ timeoutMs: 300 });
    await expect(client.get(url(SOURCES_PATH))).resolves.toContain('Package: keystone');
    expect(fixture.server.requests.map((r) => r.status)).toEqual(['hang', 200]);
    fixture.server.hangNext(2);
    const error = await rejection(fetcher({ timeoutMs: 200, retries: 1 }).get(url(PACKAGES_PATH)));
    expect(error.message).toBe(`cannot fetch index ${url(PACKAGES_PATH)}: timed out after 2 attempts`);
  });

  it('reports a refused connection after retrying', async () => {
    const error = await rejection(fetcher({ retries: 1 }).get('http://127.0.0.1:1/ubuntu/dists/noble/InRelease'));
    expect(error).toBeInstanceOf(IndexFetchError);
    expect(error.message).toMatch(/^cannot fetch index http:\/\/127\.0\.0\.1:1\/ubuntu\/dists\/noble\/InRelease: fetch failed.*after 2 attempts$/);
  });

  it('caps a gzip bomb and caches nothing', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x41));
    expect(bomb.length).toBeLessThan(256 * 1024);
    fixture.server.serveBytes('/bomb/dists/noble/main/source/Sources.gz', bomb);
    const client = fetcher({ maxBytes: 1024 * 1024 });
    const error = await rejection(client.get(url('/bomb/dists/noble/main/source/Sources.gz')));
    expect(error).toBeInstanceOf(IndexDecodeError);
    expect(error.message).toMatch(/decompressed size exceeds the limit of 1048576 bytes$/);
    expect(await client.cache.read(url('/bomb/dists/noble/main/source/Sources.gz'))).toBeUndefined();
  });

  it('refuses a download larger than the cap', async () => {
    fixture.server.serveBytes('/big/Sources', Buffer.alloc(200_000, 0x0a));
    await expect(fetcher({ maxBytes: 100_000 }).get(url('/big/Sources'))).rejects.toThrow(/response of 200000 bytes exceeds the limit of 100000 bytes/);
  });

  it('rejects truncated or non-gzip data and keeps the good cached copy', async () => {
    const path = '/flaky/dists/noble/main/source/Sources.gz';
    const good = gzipSync('Package: cinder\nVersion: 2:24.0.0-0ubuntu1\nBinary: cinder-api\n');
    fixture.server.serveBytes(path, good);
    expect(await fetcher().get(url(path))).toContain('Package: cinder');
    fixture.server.serveBytes(path, good.subarray(0, good.length - 12));
    const error = await rejection(fetcher().get(url(path)));
    expect(error).toBeInstanceOf(IndexDecodeError);
    expect(error.message).toMatch(new RegExp(`^cannot read index ${url(path)}: corrupt or truncated gzip data \\(unexpected end of file\\)$`));
    fixture.server.serveBytes(path, 'Package: cinder\n');
    await expect(fetcher().get(url(path))).rejects.toThrow(/not gzip data/);
    expect(await fetcher({ offline: true }).get(url(path))).toContain('Version: 2:24.0.0-0ubuntu1');
  });

  it('only accepts http(s) URLs', async () => {
    const client = fetcher();
    await expect(client.fetchIndex('file:///etc/passwd')).rejects.toThrow(ArchiveError);
    await expect(client.get('ftp://archive.ubuntu.com/ubuntu/dists/noble/InRelease')).rejects.toThrow(/only http\(s\) index URLs are allowed/);
    await expect(client.get('not a url')).rejects.toThrow(/invalid index URL/);
    expect(client.stats.requests).toBe(0);
    await expect(client.probe('file:///etc/passwd')).rejects.toThrow(ArchiveError);
  });

  it('probes cheaply: HEAD with validators, cache untouched', async () => {
    const path = '/ubuntu/dists/noble/main/binary-amd64/Packages';
    const client = fetcher();
    expect(await client.probe(url(path))).toMatchObject({ changed: true, status: 200 });
    await client.get(url(path));
    expect(await client.probe(url(path))).toMatchObject({ changed: false, status: 304 });
    const original = await readFile(join(fixture.archive.root, path), 'utf8');
    await fixture.server.updateFile(path, original.replace(/2:25\.0\.0-0ubuntu1/g, '2:25.0.1-0ubuntu1'));
    const probed = await client.probe(url(path));
    expect(probed).toMatchObject({ changed: true, status: 200, etag: expect.any(String) as unknown });
    const heads = fixture.server.requests.filter((r) => r.method === 'HEAD');
    expect(heads.map((r) => r.status)).toEqual([200, 304, 200]);
    expect(heads[1]?.ifNoneMatch).toBeDefined();
    const result = await client.fetchIndex(url(path));
    expect(result.status).toBe('downloaded');
    expect(result.text).toContain('2:25.0.1-0ubuntu1');
    await expect(client.probe(url('/ubuntu/dists/oracular/InRelease'))).rejects.toBeInstanceOf(IndexNotFoundError);
  });

  it('shares one request between concurrent calls for the same URL', async () => {
    const client = fetcher();
    const [a, b, c] = await Promise.all([client.get(url(SOURCES_PATH)), client.get(url(SOURCES_PATH)), client.get(url(SOURCES_PATH))]);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(fixture.server.count(SOURCES_PATH)).toBe(1);
  });

  it('treats a damaged cache entry as a miss', async () => {
    await fetcher().get(url(SOURCES_PATH));
    const entry = join(cacheDir, 'archive', createHash('sha256').update(url(SOURCES_PATH)).digest('hex'));
    await writeFile(join(entry, 'body'), 'garbage');
    const result = await fetcher().fetchIndex(url(SOURCES_PATH));
    expect(result.status).toBe('downloaded');
    expect(fixture.server.requests.at(-1)?.ifNoneMatch).toBeUndefined();
    await writeFile(join(entry, 'meta.json'), '{not json');
    expect((await fetcher().fetchIndex(url(SOURCES_PATH))).status).toBe('downloaded');
    expect((await readdir(entry)).sort()).toEqual(['body', 'meta.json']);
  });

  it('serves a clear-signed InRelease whose hashes match the served indices', async () => {
    const client = fetcher();
    const [release] = parseDeb822(await client.get(url('/ubuntu/dists/noble/InRelease')));
    expect(release?.get('Suite')).toBe('noble');
    const entries = (release?.lines('SHA256') ?? []).map((line) => line.trim().split(/\s+/));
    const gz = entries.find(([, , path]) => path === 'main/source/Sources.gz');
    const served = await readFile(join(fixture.archive.root, SOURCES_PATH));
    expect(gz).toEqual([createHash('sha256').update(served).digest('hex'), String(served.length), 'main/source/Sources.gz']);
    const ppaRelease = parseDeb822(await client.get(url('/ppa/canonical-openstack/cinder-fixes/ubuntu/dists/noble/InRelease')))[0];
    expect(ppaRelease?.get('Origin')).toBe('LP-PPA-canonical-openstack-cinder-fixes');
  });
});
