import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IndexFetcher } from '../../src/archive/fetch-index.js';
import { IndexVerifyError, parseReleaseHashes, pathInSuite, verifyIndex } from '../../src/archive/release.js';
import { AptResolver } from '../../src/archive/resolve.js';
import { parseAptSources } from '../../src/archive/sources-list.js';
import { openstackSource, renderRelease } from '../fixtures/apt-archive.js';
import { startAptArchive, type AptArchiveFixture } from '../fixtures/apt-archive-server.js';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('InRelease hashes', () => {
  const gz = gzipSync('Package: cinder\nVersion: 1\n');
  const release = renderRelease(
    { origin: 'Ubuntu', label: 'Ubuntu', suite: 'noble-updates', codename: 'noble', architectures: ['amd64'], components: ['main'], description: 'x' },
    [{ path: 'main/source/Sources.gz', data: gz }],
  );
  const entries = parseReleaseHashes(release, 'InRelease');
  const suite = 'http://archive.example/ubuntu/dists/noble-updates/gazpacho';

  it('reads the SHA256 list and places an index inside a suite whose name has a slash', () => {
    expect(entries.get('main/source/Sources.gz')).toEqual({ sha256: sha256(gz), size: gz.length });
    expect(pathInSuite(`${suite}/main/source/Sources.gz`, `${suite}/InRelease`)).toBe('main/source/Sources.gz');
  });

  it('accepts the body it lists and refuses one of another size or hash, or one it does not list', () => {
    const url = `${suite}/main/source/Sources.gz`;
    expect(() => verifyIndex(entries, url, `${suite}/InRelease`, { sha256: sha256(gz), size: gz.length })).not.toThrow();
    expect(() => verifyIndex(entries, url, `${suite}/InRelease`, { sha256: sha256(gz), size: gz.length - 1 })).toThrow(/bytes, InRelease says/);
    expect(() => verifyIndex(entries, url, `${suite}/InRelease`, { sha256: '0'.repeat(64), size: gz.length })).toThrow(IndexVerifyError);
    expect(() => verifyIndex(entries, `${suite}/universe/source/Sources.gz`, `${suite}/InRelease`, { sha256: sha256(gz), size: gz.length })).toThrow(/lists no universe\/source\/Sources.gz/);
  });

  it('refuses a release text without a SHA256 list', () => {
    expect(() => parseReleaseHashes('Origin: Ubuntu\nSuite: noble\n', 'InRelease')).toThrow(/has no SHA256 list/);
  });
});

describe('a resolver over an index its InRelease does not list', () => {
  let fixture: AptArchiveFixture;
  let cacheDir: string;
  beforeAll(async () => {
    fixture = await startAptArchive({
      architectures: ['amd64'],
      archive: {
        noble: { main: [openstackSource('cinder', '2:24.0.0-0ubuntu1')], universe: [] },
        'noble-updates': { main: [], universe: [] },
        'noble-security': { main: [], universe: [] },
      },
    });
    cacheDir = await mkdtemp(join(tmpdir(), 'release-cache-'));
  });
  afterAll(async () => {
    await fixture.server.close();
    await rm(fixture.archive.root, { recursive: true, force: true });
    await rm(cacheDir, { recursive: true, force: true });
  });

  const resolver = () =>
    new AptResolver({ fetcher: new IndexFetcher({ cacheDir, retryDelayMs: 5 }), sources: parseAptSources([{ type: 'archive', url: fixture.server.archiveUrl }]), series: 'noble', arch: 'amd64' });

  it('resolves while the archive is consistent, and refuses a replaced Packages.gz', async () => {
    await expect(resolver().resolve('cinder-api')).resolves.toMatchObject({ version: '2:24.0.0-0ubuntu1' });
    await fixture.server.updateFile('/ubuntu/dists/noble/main/binary-amd64/Packages.gz', gzipSync('Package: cinder-api\nVersion: 9:99\nArchitecture: all\nSource: cinder\n'));
    const error = await resolver().resolve('cinder-api').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IndexVerifyError);
    expect((error as Error).message).toMatch(/dists\/noble\/main\/binary-amd64\/Packages.gz does not match its InRelease: \d+ bytes, InRelease says \d+$/);
  });
});
