import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IndexNotFoundError, UnknownPackageError } from '../../src/archive/errors.js';
import { IndexFetcher } from '../../src/archive/fetch-index.js';
import { AptResolver } from '../../src/archive/resolve.js';
import type { AptSourceInput } from '../../src/archive/sources-list.js';
import { parseAptSources } from '../../src/archive/sources-list.js';
import { OPENSTACK_BINARIES, openstackSource } from '../fixtures/apt-archive.js';
import type { AptArchiveFixture } from '../fixtures/apt-archive-server.js';
import { startAptArchive } from '../fixtures/apt-archive-server.js';

const CINDER_PPA = 'canonical-openstack/cinder-fixes';
let fixture: AptArchiveFixture;
let cacheDir: string;
const temps: string[] = [];

beforeAll(async () => {
  fixture = await startAptArchive({
    architectures: ['amd64', 'arm64'],
    archive: {
      noble: {
        main: [
          openstackSource('cinder', '2:24.0.0-0ubuntu1'),
          openstackSource('keystone', '2:25.0.0-0ubuntu1'),
          openstackSource('nova', '3:29.0.0-0ubuntu1'),
          { name: 'sudo', version: '1.9.15p5-3ubuntu5', architecture: 'any', section: 'admin', binaries: ['sudo', 'sudo-ldap'] },
        ],
        universe: [
          openstackSource('glance', '2:28.0.0-0ubuntu1'),
          { name: 'python-cinderclient', version: '1:9.5.0-0ubuntu1', section: 'python', packageList: false, binaries: ['python3-cinderclient'] },
        ],
      },
      'noble-updates': {
        main: [openstackSource('cinder', '2:24.1.0-0ubuntu1'), openstackSource('neutron', '2:24.0.1-0ubuntu1')],
        universe: [],
      },
      'noble-security': { main: [], universe: [] },
    },
    cloud: [
      {
        series: 'noble',
        pocket: 'updates',
        cloud: 'gazpacho',
        sources: [
          openstackSource('cinder', '2:28.0.0-0ubuntu1~cloud0'),
          openstackSource('keystone', '2:29.0.0-0ubuntu1~cloud0'),
          openstackSource('nova', '3:33.0.0-0ubuntu1~cloud0'),
        ],
      },
      { series: 'noble', pocket: 'proposed', cloud: 'gazpacho', sources: [openstackSource('cinder', '2:28.0.1-0ubuntu1~cloud0')] },
    ],
    ppas: [
      {
        owner: 'canonical-openstack',
        name: 'cinder-fixes',
        series: 'noble',
        sources: [
          openstackSource('cinder', '2:27.0.0-0ubuntu1~ppa1', {
            binaries: [...OPENSTACK_BINARIES.cinder, { name: 'cinder-volume-usage-audit', section: 'net' }],
          }),
        ],
      },
    ],
  });
  temps.push(fixture.archive.root);
});

afterAll(async () => {
  await fixture.server.close();
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

beforeEach(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'resolver-cache-'));
  temps.push(cacheDir);
  fixture.server.resetCounts();
});

const ARCHIVE = (): AptSourceInput => ({ type: 'archive', url: fixture.server.archiveUrl });
const UCA = (extra: Partial<Extract<AptSourceInput, { type: 'cloud' }>> = {}): AptSourceInput => ({
  type: 'cloud',
  cloud: 'gazpacho',
  url: fixture.server.cloudUrl,
  ...extra,
});
const PPA = (extra: Partial<Extract<AptSourceInput, { type: 'ppa' }>> = {}): AptSourceInput => ({
  type: 'ppa',
  ppa: `ppa:${CINDER_PPA}`,
  url: fixture.server.ppaUrl,
  ...extra,
});

function resolver(sources: AptSourceInput[], options: { arch?: string; series?: string; fetcher?: IndexFetcher } = {}): AptResolver {
  return new AptResolver({
    fetcher: options.fetcher ?? new IndexFetcher({ cacheDir, retryDelayMs: 5 }),
    sources: parseAptSources(sources),
    series: options.series ?? 'noble',
    arch: options.arch ?? 'amd64',
  });
}

describe('AptResolver: source → binaries', () => {
  it('lists the binaries of cinder from Package-List', async () => {
    expect(await resolver([ARCHIVE()]).binariesOf('cinder')).toEqual([...OPENSTACK_BINARIES.cinder]);
  });

  it('falls back to Binary for a paragraph without Package-List', async () => {
    expect(await resolver([ARCHIVE()]).binariesOf('python-cinderclient')).toEqual(['python3-cinderclient']);
  });

  it('takes the union over every source', async () => {
    const binaries = await resolver([ARCHIVE(), UCA(), PPA()]).binariesOf('cinder');
    expect(binaries).toEqual([...OPENSTACK_BINARIES.cinder, 'cinder-volume-usage-audit']);
  });

  it('names the sources searched for an unknown source package', async () => {
    const error = await resolver([ARCHIVE(), UCA()]).binariesOf('cinderella').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownPackageError);
    expect((error as Error).message).toBe('source package "cinderella" not found in the Sources indices of archive, cloud:gazpacho for noble/amd64');
  });
});

describe('AptResolver: binary → version (apt policy)', () => {
  it('archive only: the highest version over the pocket suites', async () => {
    const resolved = await resolver([ARCHIVE()]).resolve('cinder-api');
    expect(resolved).toEqual({
      name: 'cinder-api',
      version: '2:24.1.0-0ubuntu1',
      source: 'cinder',
      sourceVersion: '2:24.1.0-0ubuntu1',
      architecture: 'all',
      from: 'archive',
      suite: 'noble-updates',
      component: 'main',
      priority: 500,
    });
    expect((await resolver([{ type: 'archive', url: fixture.server.archiveUrl, pocket: 'release' }]).resolve('cinder-api')).version).toBe('2:24.0.0-0ubuntu1');
  });

  it('UCA vs archive at equal priority: the higher version wins', async () => {
    const resolved = await resolver([ARCHIVE(), UCA()]).resolve('cinder-api');
    expect(resolved).toMatchObject({ version: '2:28.0.0-0ubuntu1~cloud0', from: 'cloud:gazpacho', suite: 'noble-updates/gazpacho' });
  });

  it('a higher priority beats a higher version', async () => {
    const deferred = await resolver([ARCHIVE(), UCA({ priority: 'defer' })]).resolve('cinder-api');
    expect(deferred).toMatchObject({ version: '2:24.1.0-0ubuntu1', from: 'archive' });
    const r = resolver([ARCHIVE(), UCA(), PPA({ priority: 'always' })]);
    expect(await r.resolve('cinder-volume')).toMatchObject({ version: '2:27.0.0-0ubuntu1~ppa1', from: `ppa:${CINDER_PPA}`, priority: 1000 });
    // keystone is not in the PPA: UCA's higher version.
    expect(await r.resolve('keystone')).toMatchObject({ version: '2:29.0.0-0ubuntu1~cloud0', from: 'cloud:gazpacho' });
    const candidates = await r.candidates('cinder-api');
    expect(candidates.map((c) => `${c.from}@${c.suite}=${c.version}`)).toEqual([
      `ppa:${CINDER_PPA}@noble=2:27.0.0-0ubuntu1~ppa1`,
      'cloud:gazpacho@noble-updates/gazpacho=2:28.0.0-0ubuntu1~cloud0',
      'archive@noble-updates=2:24.1.0-0ubuntu1',
      'archive@noble=2:24.0.0-0ubuntu1',
    ]);
  });

  it('the PPA at default priority loses to the newer UCA version', async () => {
    expect(await resolver([ARCHIVE(), UCA(), PPA()]).resolve('cinder-api')).toMatchObject({ from: 'cloud:gazpacho' });
  });

  it('the UCA proposed pocket brings the proposed version', async () => {
    const r = resolver([ARCHIVE(), UCA(), UCA({ pocket: 'proposed' })]);
    expect(await r.resolve('python3-cinder')).toMatchObject({ version: '2:28.0.1-0ubuntu1~cloud0', from: 'cloud:gazpacho-proposed' });
  });

  it('a negative priority keeps a source out', async () => {
    expect(await resolver([ARCHIVE(), UCA({ priority: -1 })]).resolve('cinder-api')).toMatchObject({ from: 'archive' });
  });

  it('resolves architecture-specific packages for arm64', async () => {
    const r = resolver([ARCHIVE()], { arch: 'arm64' });
    expect(await r.resolve('sudo')).toMatchObject({ version: '1.9.15p5-3ubuntu5', architecture: 'arm64' });
    expect(await r.resolve('nova-compute')).toMatchObject({ architecture: 'all', version: '3:29.0.0-0ubuntu1' });
  });

  it('resolveAll maps every name, and one error lists all the missing ones', async () => {
    const r = resolver([ARCHIVE(), UCA()]);
    const all = await r.resolveAll(['cinder-api', 'keystone', 'sudo', 'glance-api', 'neutron-server']);
    expect(Object.fromEntries([...all].map(([name, p]) => [name, `${p.version} ${p.from}`]))).toEqual({
      'cinder-api': '2:28.0.0-0ubuntu1~cloud0 cloud:gazpacho',
      keystone: '2:29.0.0-0ubuntu1~cloud0 cloud:gazpacho',
      sudo: '1.9.15p5-3ubuntu5 archive',
      'glance-api': '2:28.0.0-0ubuntu1 archive',
      'neutron-server': '2:24.0.1-0ubuntu1 archive',
    });
    const error = await r.resolveAll(['cinder-api', 'no-such-pkg', 'ceph-common']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownPackageError);
    expect((error as UnknownPackageError).names).toEqual(['no-such-pkg', 'ceph-common']);
    expect((error as Error).message).toBe(
      'binary packages "no-such-pkg", "ceph-common" not found in the Packages indices of archive, cloud:gazpacho for noble/amd64',
    );
  });
});

describe('AptResolver: index loading', () => {
  it('fetches each index once per resolver, and revalidates with the next one', async () => {
    const fetcher = new IndexFetcher({ cacheDir, retryDelayMs: 5 });
    const r = resolver([ARCHIVE(), UCA(), PPA()], { fetcher });
    await Promise.all([r.binariesOf('cinder'), r.binariesOf('nova'), r.resolve('cinder-api'), r.resolve('keystone')]);
    await r.resolveAll(['nova-api', 'python3-cinder']);
    await r.binariesOf('keystone');
    // 3 archive suites × 2 components + UCA + PPA, each with Sources and Packages, and the
    // InRelease of each of the 5 suites they are checked against.
    expect(fixture.server.counts.size).toBe(21);
    expect([...fixture.server.counts.keys()].filter((path) => path.endsWith('/InRelease'))).toHaveLength(5);
    expect([...fixture.server.counts.values()].every((n) => n === 1)).toBe(true);
    expect(fixture.server.count('/cloud/ubuntu/dists/noble-updates/gazpacho/main/binary-amd64/Packages.gz')).toBe(1);

    fixture.server.resetCounts();
    await resolver([ARCHIVE(), UCA(), PPA()], { fetcher }).resolve('cinder-api');
    expect(fixture.server.requests.map((req) => req.status)).toEqual(Array.from({ length: 8 + 5 }, () => 304));
  });

  it('a PPA without the series is a clear user error', async () => {
    const error = await resolver([PPA()], { series: 'jammy' }).resolve('cinder-api').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IndexNotFoundError);
    expect((error as IndexNotFoundError).url).toBe(`${fixture.server.ppaUrl}/${CINDER_PPA}/ubuntu/dists/jammy/main/binary-amd64/Packages.gz`);
    expect((error as Error).message).toContain('(HTTP 404). Check the series');
  });

  it('a failed load is retried by the next call', async () => {
    const r = resolver([UCA()], { fetcher: new IndexFetcher({ cacheDir, retries: 0 }) });
    fixture.server.failNext(1, 500);
    await expect(r.resolve('cinder-api')).rejects.toThrow(/HTTP 500 after 1 attempt$/);
    await expect(r.resolve('cinder-api')).resolves.toMatchObject({ from: 'cloud:gazpacho' });
  });
});
