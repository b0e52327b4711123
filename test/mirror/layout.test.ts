import { describe, expect, it } from 'vitest';
import {
  LayoutError,
  aliasKey,
  blobKey,
  buildIdFromDate,
  buildIdToDate,
  buildRecordKey,
  digestFromBlobKey,
  indexKey,
  outputKey,
  pinsKey,
  validateBuildId,
  validateOutputPath,
  validatePinName,
  validateRelease,
  validateRockName,
  validateSeries,
  validateTrain,
} from '../../mirror/layout.js';
import { RefError, formatRef, parseInstant, parseRef } from '../../mirror/ref.js';
import { TS } from './helpers.js';

const HEX = 'ab' + 'c'.repeat(62);

describe('keys', () => {
  it('builds every key of the protocol', () => {
    expect(blobKey(`sha256:${HEX}`)).toBe(`blobs/sha256/ab/${HEX}`);
    expect(digestFromBlobKey(`blobs/sha256/ab/${HEX}`)).toBe(`sha256:${HEX}`);
    expect(digestFromBlobKey(`blobs/sha256/cd/${HEX}`)).toBeUndefined();
    expect(buildRecordKey(TS, '20240501T120000Z')).toBe('reference/2024.1/noble/20240501T120000Z/build.json');
    expect(aliasKey(TS, 'latest')).toBe('reference/2024.1/noble/latest_build');
    expect(aliasKey(TS, 'stable')).toBe('reference/2024.1/noble/stable_build');
    expect(indexKey(TS)).toBe('reference/2024.1/noble/index.json');
    expect(pinsKey(TS)).toBe('reference/2024.1/noble/pins.json');
    expect(outputKey(TS, '20240501T120000Z', 'rocks/keystone_2024.1_amd64.rock')).toBe(
      'reference/2024.1/noble/20240501T120000Z/outputs/rocks/keystone_2024.1_amd64.rock',
    );
  });

  it('refuses components that would escape their prefix', () => {
    expect(() => buildRecordKey({ ...TS, train: '..' }, '20240501T120000Z')).toThrow(LayoutError);
    expect(() => buildRecordKey({ ...TS, release: '../x' }, '20240501T120000Z')).toThrow(LayoutError);
    expect(() => outputKey(TS, '20240501T120000Z', '../../latest_build')).toThrow(LayoutError);
    expect(() => blobKey('sha256:../../etc')).toThrow(LayoutError);
  });
});

describe('validation tables', () => {
  const cases: [string, (v: string) => string, string[], string[]][] = [
    ['train', validateTrain, ['reference', 'proposed', 'ops-fix-2', '0day', 'a'.repeat(63)], ['', 'Reference', '-x', 'a_b', 'a/b', '..', 'blobs', 'meta', 'a'.repeat(64), 'x y']],
    ['release', validateRelease, ['2024.1', '2025.2', 'caracal', 'gazpacho'], ['', '2024', '2024.', '24.1', 'Caracal', '../2024.1', '2024.1/x', 'c']],
    ['series', validateSeries, ['noble', 'jammy'], ['', 'Noble', 'noble-updates', '24.04', 'n']],
    ['rock name', validateRockName, ['keystone', 'ovn-sb-db-server', 'nova-api', 'x1'], ['', '-keystone', 'keystone-', 'a--b', 'Keystone', 'a_b', 'a.b', 'a'.repeat(64)]],
    ['pin name', validatePinName, ['prod', 'team-a.2024', '0'], ['', '.x', 'A', 'a/b', 'a b']],
    ['build id', validateBuildId, ['20240501T120000Z', '20240229T235959Z', '19991231T000000Z'], ['', '20241301T000000Z', '20240230T000000Z', '20230229T000000Z', '20240501T240000Z', '20240501T126000Z', '20240501T120060Z', '20240501T120000', '2024-05-01T12:00:00Z', '20240501t120000z', '../20240501T120000Z']],
    [
      'output path',
      validateOutputPath,
      ['BUILD_RESULT', 'rocks/x_2024.1_amd64.rock', 'logs/x.log', 'rockcraft/x/rockcraft.yaml', 'a/.hidden', 'a/..b'],
      ['', '/etc/passwd', '../x', 'a/../b', 'a/./b', './a', 'a//b', 'a/', 'a\\b', 'a\u0000b', 'a\nb', 'C:x', '..', '.', 'x/'.repeat(600)],
    ],
  ];
  for (const [what, fn, good, bad] of cases) {
    it.each(good)(`${what} accepts %j`, (v) => expect(fn(v)).toBe(v));
    it.each(bad)(`${what} refuses %j`, (v) => expect(() => fn(v)).toThrow(LayoutError));
  }

  it('round-trips build ids and dates', () => {
    const d = new Date('2024-05-01T12:34:56.789Z');
    expect(buildIdFromDate(d)).toBe('20240501T123456Z');
    expect(buildIdToDate('20240501T123456Z').toISOString()).toBe('2024-05-01T12:34:56.000Z');
    expect(() => validateBuildId('20241301T000000Z')).toThrow(/not a real UTC date/);
  });
});

describe('ref parser', () => {
  const good: [string, unknown][] = [
    ['reference/2024.1/noble/20240501T120000Z', { kind: 'build', buildId: '20240501T120000Z' }],
    ['reference/2024.1/noble/latest', { kind: 'latest' }],
    ['reference/2024.1/noble/latest_build', { kind: 'latest' }],
    ['reference/caracal/noble/stable', { kind: 'stable' }],
    ['reference/2024.1/noble/stable_build', { kind: 'stable' }],
    ['ops/2024.1/noble/pin:prod', { kind: 'pin', name: 'prod' }],
    ['reference/2024.1/noble/as-of:2024-05-01T12:00:00Z', { kind: 'as-of', at: new Date('2024-05-01T12:00:00Z') }],
    ['reference/2024.1/noble/as-of:2024-05-01T14:00:00.5+02:00', { kind: 'as-of', at: new Date('2024-05-01T12:00:00.5Z') }],
    ['reference/2024.1/noble/as-of:2024-05-01T12:00Z', { kind: 'as-of', at: new Date('2024-05-01T12:00:00Z') }],
    ['reference/2024.1/noble/as-of:20240501T120000Z', { kind: 'as-of', at: new Date('2024-05-01T12:00:00Z') }],
  ];
  it.each(good)('parses %s', (text, selector) => {
    const ref = parseRef(text);
    expect(ref.selector).toEqual(selector);
    expect(ref.series).toBe('noble');
  });

  const bad: [string, RegExp][] = [
    ['reference/2024.1/noble', /expected <train>/],
    ['reference/2024.1/noble/latest/extra', /expected <train>/],
    ['../2024.1/noble/latest', /invalid train/],
    ['reference/2024.1/noble/newest', /expected a build id/],
    ['reference/2024.1/noble/20241301T000000Z', /not a real UTC date/],
    ['reference/2024.1/noble/pin:', /invalid pin name/],
    ['reference/2024.1/noble/pin:../x', /expected <train>|invalid pin name/],
    ['reference/2024.1/noble/as-of:2024-05-01T12:00:00', /with a zone/],
    ['reference/2024.1/noble/as-of:2024-05-01', /with a zone/],
    ['reference/2024.1/noble/as-of:2024-02-30T12:00:00Z', /not a real date/],
    ['reference/2024.1/noble/as-of:yesterday', /ISO 8601/],
    ['reference/2024.1/Noble/latest', /invalid series/],
  ];
  it.each(bad)('refuses %s', (text, message) => {
    expect(() => parseRef(text)).toThrow(RefError);
    expect(() => parseRef(text)).toThrow(message);
  });

  it('normalises the release when asked and formats back', () => {
    const ref = parseRef('reference/caracal/noble/pin:prod', { normaliseRelease: (r) => (r === 'caracal' ? '2024.1' : r) });
    expect(ref.release).toBe('2024.1');
    expect(formatRef(ref)).toBe('reference/2024.1/noble/pin:prod');
    expect(formatRef(parseRef('reference/2024.1/noble/latest_build'))).toBe('reference/2024.1/noble/latest');
  });

  it('parses instants strictly', () => {
    expect(parseInstant('2024-05-01T12:00:00Z').toISOString()).toBe('2024-05-01T12:00:00.000Z');
    expect(() => parseInstant('2024-05-01T25:00:00Z')).toThrow(LayoutError);
    expect(() => parseInstant('2024-05-01T12:00:00+25:00')).toThrow(LayoutError);
  });
});
