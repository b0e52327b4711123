import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { getRelease, getSeries } from '../../src/catalog/releases.js';
import { RockcraftDocument } from '../../src/rocks/rockcraft.js';
import { PATCHES, patchRockcraft, validateSuffix, validatePackageName } from '../../src/rocks/patches.js';

const ANTELOPE = `name: cinder-api
summary: Openstack cinder-api
license: Apache-2.0
description: |
  Ubuntu distribution of Cinder API
version: 2023.1
# renovate: base: ubuntu:22.04@sha256:0eadf2d8b2d6e3f5a6d4b5f1c3f1e3b2a1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6
base: ubuntu:22.04
platforms:
  amd64:

package-repositories:
  - type: apt
    cloud: antelope
    priority: always

services:
  wsgi-cinder-api:
    override: replace
    command: apachectl -D FOREGROUND

parts:
  cinder-user:
    plugin: nil
    # 42407:42407 for kolla compatibility
    overlay-script: |
      groupadd --root $CRAFT_OVERLAY --gid 42407 --system cinder

  cinder-api:
    after: [cinder-user]
    plugin: nil
    overlay-packages:
      - sudo
      - cinder-api
`;

const HEAT_MAIN = `name: heat-consolidated
summary: Openstack heat
license: Apache-2.0
description: |
  Ubuntu distribution of Heat
version: "2026.1"
# renovate: base: ubuntu:24.04@sha256:b359f1067efa76f37863778f7b6d0e8d911e3ee8efa807ad01fbf5dc1ef9006b
base: ubuntu@24.04
platforms:
  amd64:
  arm64:
  s390x:

package-repositories:
  - type: apt
    cloud: gazpacho
    priority: always
  - type: apt
    ppa: canonical-openstack/2026.1-fix-builds-uca-gazpacho
    priority: 1500

parts:
  heat-consolidated:
    plugin: nil
    overlay-packages:
      - sudo
      - heat-api
      - heat-engine
`;

const CARACAL = `name: nova-api
version: "2024.1"
base: ubuntu@24.04
platforms:
  amd64:
  arm64:

parts:
  nova-spiceproxy:
    plugin: nil
    overlay-packages: [sudo, nova-spiceproxy]
`;

const MANILA_CARACAL = `name: manila-api
version: "2024.1"
base: ubuntu@24.04
package-repositories:
  - type: apt
    cloud: epoxy
    priority: always
parts:
  manila-api:
    plugin: nil
    overlay-packages: [manila-api]
`;

const doc = (text: string) => RockcraftDocument.parse(text, 'test.yaml');

describe('RockcraftDocument', () => {
  it('returns the original bytes when nothing changes', () => {
    for (const text of [ANTELOPE, HEAT_MAIN, CARACAL]) expect(doc(text).toString()).toBe(text);
  });

  it('reads the version as written, not as a number', () => {
    const d = doc(ANTELOPE.replace('version: 2023.1', 'version: 2023.10'));
    expect(d.version).toBe('2023.10');
    expect(d.versionIsString).toBe(false);
    expect(doc(HEAT_MAIN).versionIsString).toBe(true);
  });

  it('collects overlay packages and repositories', () => {
    const d = doc(HEAT_MAIN);
    expect(d.overlayPackages).toEqual(['sudo', 'heat-api', 'heat-engine']);
    expect(d.repositories).toEqual([
      { type: 'apt', cloud: 'gazpacho', priority: 'always' },
      { type: 'apt', ppa: 'canonical-openstack/2026.1-fix-builds-uca-gazpacho', priority: 1500 },
    ]);
    expect(doc(CARACAL).name).toBe('nova-api');
  });

  it.each([
    ['not yaml', 'name: [unclosed', /invalid YAML/],
    ['a list', '- a\n- b\n', /expected a mapping/],
    ['no parts', 'name: x\nversion: "1"\nbase: bare\n', /parts/],
    ['bad name', 'name: Bad_Name\nversion: "1"\nbase: bare\nparts: {}\n', /name: must be lowercase/],
    ['bad priority', 'name: x\nversion: "1"\nbase: bare\nparts: {}\npackage-repositories:\n  - type: apt\n    priority: sometimes\n', /package-repositories\.0\.priority/],
  ])('rejects %s with the file name', (_label, text, message) => {
    expect(() => doc(text)).toThrow(message);
    expect(() => doc(text)).toThrow(/^test\.yaml: /);
  });
});

describe('patchRockcraft', () => {
  const antelope = getRelease('antelope');

  it('defines the patch order once', () => {
    expect(PATCHES.map((p) => p.id)).toEqual(['base', 'cloud', 'ppa', 'version', 'packages', 'workaround']);
  });

  it('adds a PPA and a suffix, keeps comments, quotes the version and rewrites the old base syntax', () => {
    const out = patchRockcraft(doc(ANTELOPE), 'cinder-api', 'stable/2023.1', {
      release: antelope,
      ppas: [{ owner: 'a', name: 'b' }],
      suffix: 't',
    });
    expect(out.yaml).toContain('version: "2023.1-t"');
    expect(out.yaml).toContain('base: ubuntu@22.04');
    expect(out.yaml).toContain('# renovate: base: ubuntu:22.04@sha256:');
    expect(out.yaml).toContain('# 42407:42407 for kolla compatibility');
    const parsed = parse(out.yaml) as Record<string, unknown>;
    expect(parsed['version']).toBe('2023.1-t');
    expect(parsed['package-repositories']).toEqual([
      { type: 'apt', cloud: 'antelope', priority: 'always' },
      { type: 'apt', ppa: 'a/b', priority: 'always' },
    ]);
    expect(out.changes).toEqual([
      'base: base ubuntu:22.04 → ubuntu@22.04',
      'ppa: added ppa a/b (priority always)',
      'version: version 2023.1 → "2023.1-t"',
    ]);
    // Everything outside the patched keys is byte-identical.
    expect(out.yaml.split('services:')[1]).toBe(ANTELOPE.split('services:')[1]);
  });

  it('drops the cloud entry when the release is native to the series, and the key when it empties', () => {
    const text = CARACAL.replace('parts:', 'package-repositories:\n  - type: apt\n    cloud: caracal\n    priority: always\n\nparts:');
    const out = patchRockcraft(doc(text), 'nova-spiceproxy', 'stable/2024.1', { release: getRelease('caracal') });
    expect(out.yaml).not.toContain('package-repositories');
    expect(out.yaml).not.toContain('cloud');
  });

  it('adds the UCA cloud when building on a series that needs it', () => {
    const out = patchRockcraft(doc(CARACAL), 'nova-spiceproxy', 'stable/2024.1', {
      release: getRelease('caracal'),
      series: getSeries('jammy'),
      pocket: 'proposed',
    });
    const parsed = parse(out.yaml) as Record<string, unknown>;
    expect(parsed['base']).toBe('ubuntu@22.04');
    expect(parsed['package-repositories']).toEqual([{ type: 'apt', cloud: 'caracal', pocket: 'proposed', priority: 'always' }]);
    // New keys go before parts, where rockcraft files keep them.
    expect(out.yaml.indexOf('package-repositories')).toBeLessThan(out.yaml.indexOf('parts:'));
  });

  it('sets and clears the proposed pocket on the UCA entry', () => {
    const proposed = patchRockcraft(doc(HEAT_MAIN), 'heat-consolidated', 'main', { release: getRelease('gazpacho'), pocket: 'proposed' });
    expect(proposed.yaml).toContain('    cloud: gazpacho\n    pocket: proposed\n    priority: always\n');
    const back = patchRockcraft(doc(proposed.yaml), 'heat-consolidated', 'main', { release: getRelease('gazpacho'), pocket: 'updates' });
    expect(back.yaml).toBe(HEAT_MAIN);
  });

  it('uses the Ubuntu archive -proposed pocket for a native release', () => {
    const out = patchRockcraft(doc(CARACAL), 'nova-spiceproxy', 'stable/2024.1', { release: getRelease('caracal'), pocket: 'proposed' });
    const parsed = parse(out.yaml) as { 'package-repositories': Array<Record<string, unknown>> };
    expect(parsed['package-repositories'][0]).toMatchObject({ url: 'http://archive.ubuntu.com/ubuntu', suites: ['noble-proposed'], priority: 'always' });
  });

  it('keeps a cloud that upstream pins to another release', () => {
    const out = patchRockcraft(doc(MANILA_CARACAL), 'manila-api', 'stable/2024.1', { release: getRelease('caracal'), suffix: 'x' });
    expect(out.yaml).toContain('cloud: epoxy');
  });

  it('keeps the second PPA and its numeric priority, and updates a PPA already present', () => {
    const out = patchRockcraft(doc(HEAT_MAIN), 'heat-consolidated', 'main', {
      release: getRelease('gazpacho'),
      ppas: [{ owner: 'canonical-openstack', name: '2026.1-fix-builds-uca-gazpacho', priority: 2000 }, { owner: 'team', name: 'fix', priority: 1500 }],
    });
    expect(out.yaml).toContain('ppa: canonical-openstack/2026.1-fix-builds-uca-gazpacho\n    priority: 2000\n');
    expect(out.yaml).toContain('  - type: apt\n    ppa: team/fix\n    priority: 1500\n');
  });

  it('relabels a borrowed branch with the release built, rewrites its cloud and applies the octavia WSGI shim', () => {
    const octavia = HEAT_MAIN.replace(/heat-consolidated/g, 'octavia-api');
    const out = patchRockcraft(doc(octavia), 'octavia-api', 'main', { release: getRelease('flamingo'), suffix: 't' });
    const parsed = parse(out.yaml) as Record<string, unknown>;
    expect(parsed['version']).toBe('2025.2-t');
    expect(out.yaml).toContain('cloud: flamingo');
    expect(out.files).toEqual({ 'octavia-wsgi': 'from octavia.wsgi.api import application  # noqa: F401\n' });
    expect((parsed['parts'] as Record<string, unknown>)['wsgi-shim']).toMatchObject({ plugin: 'dump' });
    expect(out.notes[0]).toMatch(/flamingo has no branch/);
    const none = patchRockcraft(doc(octavia), 'octavia-api', 'main', { release: getRelease('flamingo'), workarounds: 'none' });
    expect(none.files).toEqual({});
  });

  it('adds extra packages to the main part once', () => {
    const out = patchRockcraft(doc(ANTELOPE), 'cinder-api', 'stable/2023.1', { release: antelope, packages: ['gdb', 'sudo', 'strace'] });
    expect(out.document.overlayPackages).toEqual(['sudo', 'cinder-api', 'gdb', 'strace']);
  });

  it('refuses a series the release cannot use', () => {
    expect(() => patchRockcraft(doc(ANTELOPE), 'cinder-api', 'stable/2023.1', { release: antelope, series: getSeries('noble') })).toThrow(
      /antelope cannot be built on noble; use --series jammy/,
    );
  });

  it('leaves the upstream document untouched', () => {
    const upstream = doc(ANTELOPE);
    patchRockcraft(upstream, 'cinder-api', 'stable/2023.1', { release: antelope, suffix: 'x' });
    expect(upstream.toString()).toBe(ANTELOPE);
    expect(upstream.version).toBe('2023.1');
  });

  it.each(['', 'a b', 'x;rm', '-x', 'a'.repeat(33), 'ü'])('rejects suffix %j', (s) => expect(() => validateSuffix(s)).toThrow(/invalid version suffix/));
  it.each(['Gdb', 'a', 'x;y', '$(id)'])('rejects package %j', (p) => expect(() => validatePackageName(p)).toThrow(/invalid Debian package/));
});
