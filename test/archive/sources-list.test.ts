import { describe, expect, it } from 'vitest';
import { ArchiveError, InvalidPpaError } from '../../src/archive/errors.js';
import { aptSourceFromPackageRepository } from '../../src/archive/package-repositories.js';
import { formatPpa, parsePpa } from '../../src/archive/ppa.js';
import { aptSourceId, indexLocations, parseAptSource, parseAptSources } from '../../src/archive/sources-list.js';

describe('parsePpa', () => {
  it.each([
    ['ppa:canonical-openstack/2026.1-fix-builds-uca-gazpacho', 'canonical-openstack', '2026.1-fix-builds-uca-gazpacho'],
    ['canonical-openstack/magnum-capi-helm', 'canonical-openstack', 'magnum-capi-helm'],
    ['ppa:ubuntu-cloud-archive/rabbitmq-3.12-updates', 'ubuntu-cloud-archive', 'rabbitmq-3.12-updates'],
    ['ppa:a/b', 'a', 'b'],
    ['ppa:0ver/c++', '0ver', 'c++'],
  ])('accepts %s', (value, owner, name) => {
    expect(parsePpa(value)).toEqual({ owner, name });
    expect(formatPpa({ owner, name })).toBe(`ppa:${owner}/${name}`);
  });

  it.each([
    ['ppa:a/b;rm -rf /', 'whitespace'],
    ['ppa:a/b;rm', 'must start with a letter or digit and use only'],
    ['ppa:a/$(reboot)', 'must start with a letter or digit'],
    ['ppa:a/`id`', 'must start with a letter or digit'],
    ['ppa:a/b|c', 'must start with a letter or digit'],
    ['ppa:../x', 'must not contain ".."'],
    ['ppa:x/..', 'must not contain ".."'],
    ['ppa:a/b..c', 'must not contain ".."'],
    ['ppa:.hidden/x', 'must start with a letter or digit'],
    ['ppa:Canonical/Foo', 'must be lowercase'],
    ['PPA:a/b', 'must be lowercase'],
    ['ppa:a b/c', 'whitespace'],
    [' ppa:a/b', 'whitespace'],
    ['ppa:a/b\n', 'whitespace'],
    ['', 'empty'],
    ['ppa:', 'exactly one "/"'],
    ['ppa:/b', 'owner is empty'],
    ['ppa:a/', 'name is empty'],
    ['ppa:a/b/c', 'exactly one "/"'],
    ['ppa:a', 'exactly one "/"'],
    ['ppa:a+b/c', 'owner "a+b" must start'],
    ['http://evil/x', 'expected ppa:<owner>/<name>'],
    ['ppa:ppa:a/b', 'expected ppa:<owner>/<name>'],
    [`ppa:${'a'.repeat(65)}/b`, 'longer than 64'],
    ['ppa:a/b\u0000', 'must start with a letter or digit'],
    ['ppa:a/ü', 'must start with a letter or digit'],
  ])('refuses %j (%s)', (value, reason) => {
    let caught: unknown;
    try {
      parsePpa(value);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidPpaError);
    const message = (caught as InvalidPpaError).message;
    expect(message.startsWith(`invalid PPA ${JSON.stringify(value)}: `)).toBe(true);
    expect(message).toContain(reason);
  });
});

describe('apt source descriptions', () => {
  it('fills defaults: archive URL, pocket updates, main+universe, priority 500', () => {
    expect(parseAptSource({ type: 'archive' })).toEqual({
      type: 'archive',
      url: 'http://archive.ubuntu.com/ubuntu',
      pocket: 'updates',
      components: ['main', 'universe'],
      priority: 500,
    });
    expect(parseAptSource({ type: 'cloud', cloud: 'gazpacho' })).toEqual({
      type: 'cloud',
      cloud: 'gazpacho',
      pocket: 'updates',
      url: 'https://ubuntu-cloud.archive.canonical.com/ubuntu',
      priority: 500,
    });
    expect(parseAptSource({ type: 'ppa', ppa: 'ppa:canonical-openstack/magnum-capi-helm' })).toMatchObject({
      ppa: 'canonical-openstack/magnum-capi-helm',
      url: 'https://ppa.launchpadcontent.net',
    });
  });

  it.each([
    ['always', 1000],
    ['prefer', 990],
    ['defer', 100],
    [1500, 1500],
    [-1, -1],
  ])('maps priority %j to %i', (priority, expected) => {
    expect(parseAptSource({ type: 'cloud', cloud: 'epoxy', priority }).priority).toBe(expected);
  });

  it('refuses bad values with a readable message', () => {
    expect(() => parseAptSource({ type: 'cloud', cloud: 'epoxy', priority: 0 })).toThrow(/invalid priority 0: expected "always", "prefer", "defer" or a nonzero integer/);
    expect(() => parseAptSource({ type: 'cloud', cloud: 'epoxy', priority: 'sometimes' })).toThrow(/invalid priority "sometimes"/);
    expect(() => parseAptSource({ type: 'cloud', cloud: 'epoxy', priority: 1.5 })).toThrow(/integer/);
    expect(() => parseAptSource({ type: 'cloud', cloud: 'Epoxy' })).toThrow(/lowercase codename/);
    expect(() => parseAptSource({ type: 'cloud', cloud: 'epoxy', pocket: 'security' })).toThrow(ArchiveError);
    expect(() => parseAptSource({ type: 'ppa', ppa: 'ppa:a/b;rm -rf /' })).toThrow(/invalid PPA "ppa:a\/b;rm -rf \/"/);
    expect(() => parseAptSource({ type: 'archive', url: 'file:///etc' })).toThrow(/http\(s\) URL/);
    expect(() => parseAptSource({ type: 'archive', url: 'ftp://mirror/ubuntu' })).toThrow(/http\(s\) URL/);
    expect(() => parseAptSource({ type: 'archive', extra: true })).toThrow(ArchiveError);
    expect(() => parseAptSource({ type: 'deb' })).toThrow(ArchiveError);
  });

  it('gives stable ids and refuses duplicates', () => {
    const sources = parseAptSources([
      { type: 'archive' },
      { type: 'cloud', cloud: 'gazpacho' },
      { type: 'cloud', cloud: 'gazpacho', pocket: 'proposed' },
      { type: 'ppa', ppa: 'canonical-openstack/x' },
      { type: 'ppa', ppa: 'canonical-openstack/y', id: 'fixes' },
    ]);
    expect(sources.map(aptSourceId)).toEqual(['archive', 'cloud:gazpacho', 'cloud:gazpacho-proposed', 'ppa:canonical-openstack/x', 'fixes']);
    expect(() => parseAptSources([{ type: 'ppa', ppa: 'a/b' }, { type: 'ppa', ppa: 'ppa:a/b' }])).toThrow(/listed twice/);
    expect(() => parseAptSources([{ type: 'archive' }, { type: 'cloud' }])).toThrow(/^apt source 2: invalid apt source/);
  });
});

describe('index URLs', () => {
  it('archive: one location per suite of the pocket and per component', () => {
    const locations = indexLocations(parseAptSource({ type: 'archive', pocket: 'proposed', components: ['main'] }), { series: 'noble', arch: 'amd64' });
    expect(locations.map((l) => l.suite)).toEqual(['noble', 'noble-updates', 'noble-security', 'noble-proposed']);
    expect(locations[1]).toEqual({
      sourceId: 'archive',
      priority: 500,
      suite: 'noble-updates',
      component: 'main',
      architecture: 'amd64',
      inRelease: 'http://archive.ubuntu.com/ubuntu/dists/noble-updates/InRelease',
      binaryInRelease: 'http://archive.ubuntu.com/ubuntu/dists/noble-updates/InRelease',
      sources: 'http://archive.ubuntu.com/ubuntu/dists/noble-updates/main/source/Sources.gz',
      packages: 'http://archive.ubuntu.com/ubuntu/dists/noble-updates/main/binary-amd64/Packages.gz',
    });
    const release = indexLocations(parseAptSource({ type: 'archive', pocket: 'release' }), { series: 'jammy', arch: 'amd64' });
    expect(release.map((l) => `${l.suite}/${l.component}`)).toEqual(['jammy/main', 'jammy/universe']);
    const updates = indexLocations(parseAptSource({ type: 'archive' }), { series: 'noble', arch: 'amd64' });
    expect(updates).toHaveLength(6);
  });

  it('archive: binaries of ports architectures come from the ports mirror unless the URL is custom', () => {
    const [first] = indexLocations(parseAptSource({ type: 'archive', pocket: 'release' }), { series: 'noble', arch: 'arm64' });
    expect(first?.sources).toBe('http://archive.ubuntu.com/ubuntu/dists/noble/main/source/Sources.gz');
    expect(first?.packages).toBe('http://ports.ubuntu.com/ubuntu-ports/dists/noble/main/binary-arm64/Packages.gz');
    expect(first?.binaryInRelease).toBe('http://ports.ubuntu.com/ubuntu-ports/dists/noble/InRelease');
    const [mirror] = indexLocations(parseAptSource({ type: 'archive', pocket: 'release', url: 'http://mirror.example/ubuntu/' }), { series: 'noble', arch: 's390x' });
    expect(mirror?.packages).toBe('http://mirror.example/ubuntu/dists/noble/main/binary-s390x/Packages.gz');
  });

  it('UCA: dists/<series>-<pocket>/<cloud>/main', () => {
    const [uca] = indexLocations(parseAptSource({ type: 'cloud', cloud: 'gazpacho', priority: 'always' }), { series: 'noble', arch: 'amd64' });
    expect(uca).toMatchObject({
      sourceId: 'cloud:gazpacho',
      priority: 1000,
      suite: 'noble-updates/gazpacho',
      component: 'main',
      sources: 'https://ubuntu-cloud.archive.canonical.com/ubuntu/dists/noble-updates/gazpacho/main/source/Sources.gz',
      packages: 'https://ubuntu-cloud.archive.canonical.com/ubuntu/dists/noble-updates/gazpacho/main/binary-amd64/Packages.gz',
      inRelease: 'https://ubuntu-cloud.archive.canonical.com/ubuntu/dists/noble-updates/gazpacho/InRelease',
    });
    const [proposed] = indexLocations(parseAptSource({ type: 'cloud', cloud: 'caracal', pocket: 'proposed' }), { series: 'jammy', arch: 'arm64' });
    expect(proposed?.packages).toBe('https://ubuntu-cloud.archive.canonical.com/ubuntu/dists/jammy-proposed/caracal/main/binary-arm64/Packages.gz');
  });

  it('PPA: <base>/<owner>/<name>/ubuntu/dists/<series>/main', () => {
    const [ppa] = indexLocations(parseAptSource({ type: 'ppa', ppa: 'ppa:canonical-openstack/2026.1-fix-builds-uca-gazpacho', priority: 1500 }), {
      series: 'noble',
      arch: 'amd64',
    });
    expect(ppa).toMatchObject({
      sourceId: 'ppa:canonical-openstack/2026.1-fix-builds-uca-gazpacho',
      priority: 1500,
      suite: 'noble',
      sources: 'https://ppa.launchpadcontent.net/canonical-openstack/2026.1-fix-builds-uca-gazpacho/ubuntu/dists/noble/main/source/Sources.gz',
      packages: 'https://ppa.launchpadcontent.net/canonical-openstack/2026.1-fix-builds-uca-gazpacho/ubuntu/dists/noble/main/binary-amd64/Packages.gz',
      inRelease: 'https://ppa.launchpadcontent.net/canonical-openstack/2026.1-fix-builds-uca-gazpacho/ubuntu/dists/noble/InRelease',
    });
  });

  it('refuses a malformed series or architecture', () => {
    const source = parseAptSource({ type: 'archive' });
    expect(() => indexLocations(source, { series: '../noble', arch: 'amd64' })).toThrow(/invalid series "..\/noble"/);
    expect(() => indexLocations(source, { series: 'noble', arch: 'amd64/../x' })).toThrow(/invalid architecture/);
  });
});

describe('rockcraft package-repositories', () => {
  it('maps cloud and ppa entries, keeping pocket and priority', () => {
    expect(aptSourceFromPackageRepository({ type: 'apt', cloud: 'gazpacho', priority: 'always' })).toMatchObject({ type: 'cloud', cloud: 'gazpacho', pocket: 'updates', priority: 1000 });
    expect(aptSourceFromPackageRepository({ type: 'apt', cloud: 'bobcat', pocket: 'proposed' })).toMatchObject({ pocket: 'proposed', priority: 500 });
    expect(
      aptSourceFromPackageRepository({ type: 'apt', ppa: 'canonical-openstack/2026.1-fix-builds-uca-gazpacho', priority: 1500 }, { ppaUrl: 'http://127.0.0.1:1/ppa' }),
    ).toMatchObject({ type: 'ppa', ppa: 'canonical-openstack/2026.1-fix-builds-uca-gazpacho', priority: 1500, url: 'http://127.0.0.1:1/ppa' });
  });

  it('refuses what it cannot resolve', () => {
    expect(() => aptSourceFromPackageRepository({ type: 'apt', url: 'http://x', suites: ['noble'] })).toThrow(/only "cloud:" and "ppa:"/);
    expect(() => aptSourceFromPackageRepository({ type: 'apt', cloud: 'x', ppa: 'a/b' })).toThrow(/both cloud and ppa/);
    expect(() => aptSourceFromPackageRepository({ type: 'yum' })).toThrow(/unsupported package repository/);
    expect(() => aptSourceFromPackageRepository({ type: 'apt', ppa: 'ppa:A/B' })).toThrow(/must be lowercase/);
  });
});
