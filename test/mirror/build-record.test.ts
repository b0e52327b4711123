import { describe, expect, it } from 'vitest';
import {
  BuildRecordError,
  formatIssuePath,
  parseBuildRecord,
  recordSize,
  serialiseBuildRecord,
  validateBuildRecord,
  type BuildRecord,
} from '../../mirror/build-record.js';
import { metadata, sha } from './helpers.js';

function record(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    ...metadata('20240501T120000Z', {}, [{ name: 'keystone' }, { name: 'nova-api', outcome: 'reused', reusedFrom: '20240401T000000Z' }]),
    schema: 1,
    files: {
      'rocks/keystone_2024.1_amd64.rock': { digest: sha('rock'), size: 4 },
      BUILD_RESULT: { digest: sha('r'), size: 1 },
    },
    ...overrides,
  };
}

function problems(value: unknown): string {
  try {
    validateBuildRecord(value, 'reference/2024.1/noble/20240501T120000Z/build.json');
  } catch (err) {
    expect(err).toBeInstanceOf(BuildRecordError);
    return (err as Error).message;
  }
  throw new Error('expected the record to be refused');
}

describe('build record schema', () => {
  it('accepts a complete record and round-trips it byte for byte', () => {
    const rec = validateBuildRecord(record());
    const text = serialiseBuildRecord(rec);
    expect(parseBuildRecord(text, 'k')).toEqual(rec);
    expect(serialiseBuildRecord(parseBuildRecord(text, 'k'))).toBe(text);
    expect(recordSize(rec)).toBe(5);
  });

  it('sorts the file table deterministically', () => {
    const rec = validateBuildRecord(record({ files: { b: { digest: sha('b'), size: 1 }, a: { digest: sha('a'), size: 1 } } }));
    expect(Object.keys((JSON.parse(serialiseBuildRecord(rec)) as { files: object }).files)).toEqual(['a', 'b']);
  });

  const m = metadata('20240501T120000Z');
  const rock = m.rocks[0];
  const table: [string, Record<string, unknown>, RegExp][] = [
    ['wrong schema version', { schema: 2 }, /schema: /],
    ['bad train', { train: 'Ref' }, /train: invalid train/],
    ['bad build id', { buildId: '20241301T000000Z' }, /buildId: invalid build id/],
    ['build id not the start time', { buildId: '20240501T120001Z' }, /buildId: must be startedAt/],
    ['finish before start', { finishedAt: '2024-05-01T11:00:00Z' }, /finishedAt: is before startedAt/],
    ['bad result', { result: 'ok' }, /result: /],
    ['bad commit', { context: { ...m.context, upstream: { repo: 'https://x', commit: 'xyz' } } }, /context\.upstream\.commit: expected a hex commit/],
    ['bad repo url', { context: { ...m.context, upstream: { repo: 'not a url', commit: 'a'.repeat(40) } } }, /context\.upstream\.repo/],
    ['multi-line branch', { context: { ...m.context, branch: 'main\nx: y' } }, /context\.branch: must be a single line/],
    ['bad package version', { context: { ...m.context, packages: { keystone: 'a b' } } }, /context\.packages\.keystone: expected a Debian version/],
    ['bad rock outcome', { rocks: [{ ...rock, outcome: 'done' }] }, /rocks\[0\]\.outcome/],
    ['bad image digest', { rocks: [{ ...rock, image: { ref: 'x', digest: 'sha256:1' } }] }, /rocks\[0\]\.image\.digest: expected sha256/],
    ['reused without source', { rocks: [{ ...rock, outcome: 'reused' }] }, /rocks\[0\]\.reusedFrom: required/],
    ['reused from the future', { rocks: [{ ...rock, outcome: 'reused', reusedFrom: '20250101T000000Z' }] }, /must name an earlier build/],
    ['failed rock in a successful build', { rocks: [{ ...rock, outcome: 'failed' }] }, /rocks\[0\]\.outcome: a successful build cannot contain a failed rock/],
    ['failure class on a built rock', { rocks: [{ ...rock, failureClass: 'timeout' }] }, /rocks\[0\]\.failureClass: only allowed/],
    ['duplicate rock', { rocks: [rock, rock] }, /rocks\[1\]\.name: duplicate rock keystone\/amd64/],
    ['escaping output path', { files: { '../x': { digest: sha('x'), size: 1 } } }, /files\["\.\.\/x"\]: invalid output path/],
    ['negative size', { files: { a: { digest: sha('x'), size: -1 } } }, /files\.a\.size/],
  ];
  it.each(table)('names the key when refusing: %s', (_name, overrides, message) => {
    const text = problems(record(overrides));
    expect(text).toMatch(/^invalid build\.json at reference\/2024\.1\/noble\/20240501T120000Z\/build\.json: /);
    expect(text).toMatch(message);
  });

  it('allows a failed rock in a failed build, with its failure class', () => {
    const rec = validateBuildRecord(record({ result: 'fail', rocks: [{ ...rock, outcome: 'failed', failureClass: 'timeout' }] }));
    expect(rec.rocks[0]?.failureClass).toBe('timeout');
  });

  it('reports corrupt bytes clearly', () => {
    expect(() => parseBuildRecord('{"schema": 1,', 'a/b/build.json')).toThrow(/invalid build\.json at a\/b\/build\.json: not JSON/);
    expect(() => parseBuildRecord('{}', 'k')).toThrow(/schema: .*; train: /);
  });

  it('formats issue paths', () => {
    expect(formatIssuePath(['rocks', 2, 'image', 'digest'])).toBe('rocks[2].image.digest');
    expect(formatIssuePath(['files', 'rocks/x.rock'])).toBe('files["rocks/x.rock"]');
    expect(formatIssuePath([])).toBe('(root)');
  });

  it('types the parsed record', () => {
    const rec: BuildRecord = validateBuildRecord(record());
    expect(rec.rocks.map((r) => r.outcome)).toEqual(['built', 'reused']);
  });
});
