import { describe, expect, it } from 'vitest';
import { buildKey, canonicalJson, type BuildKeyInputs } from '../../src/build/build-key.js';

const BASE: BuildKeyInputs = {
  rock: 'cinder-api',
  upstreamTree: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
  rockcraftYaml: 'name: cinder-api\nversion: "2024.1"\n',
  files: {},
  packages: { 'cinder-api': '2:24.0.0-0ubuntu1', sudo: '1.9.15p5-3ubuntu5' },
  builderVersion: 'rockcraft 1.8.0',
  arch: 'amd64',
};

describe('buildKey', () => {
  it('is stable for equal inputs whatever the key order', () => {
    const reordered: BuildKeyInputs = { ...BASE, packages: { sudo: '1.9.15p5-3ubuntu5', 'cinder-api': '2:24.0.0-0ubuntu1' } };
    expect(buildKey(reordered)).toBe(buildKey(BASE));
    expect(buildKey(BASE)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it.each<[string, Partial<BuildKeyInputs>]>([
    ['the upstream folder', { upstreamTree: '0'.repeat(40) }],
    ['the rendered yaml', { rockcraftYaml: BASE.rockcraftYaml + '# x\n' }],
    ['a package version', { packages: { ...BASE.packages, 'cinder-api': '2:24.0.1-0ubuntu1' } }],
    ['an added package', { packages: { ...BASE.packages, gdb: '13' } }],
    ['a workaround file', { files: { 'octavia-wsgi': 'x' } }],
    ['the builder version', { builderVersion: 'rockcraft 1.9.0' }],
    ['the architecture', { arch: 'arm64' }],
  ])('changes with %s', (_label, change) => {
    expect(buildKey({ ...BASE, ...change })).not.toBe(buildKey(BASE));
  });

  it('writes canonical JSON', () => {
    expect(canonicalJson({ b: [2, { d: 1, c: null }], a: 'x', u: undefined })).toBe('{"a":"x","b":[2,{"c":null,"d":1}]}');
  });
});
