// The pure parts of the mirror server: Range parsing, content types, path splitting, HTML
// escaping, the package diff, folder listings and the history chart.
import { describe, expect, it } from 'vitest';
import { validateBuildRecord } from '../../../mirror/build-record.js';
import { isReservedTopName, validateTrain } from '../../../mirror/layout.js';
import { historyChart } from '../../../mirror/server/chart.js';
import { diffBuilds, diffPackages } from '../../../mirror/server/index.js';
import { HttpError } from '../../../mirror/server/errors.js';
import { escapeHtml, html } from '../../../mirror/server/html.js';
import { listOutputs } from '../../../mirror/server/listing.js';
import { splitPath } from '../../../mirror/server/params.js';
import { contentTypeFor, parseRange } from '../../../mirror/server/send-file.js';
import { indexEntryFromRecord } from '../../../mirror/series-index.js';
import { metadata, sha } from '../helpers.js';

const record = (buildId: string, rocks: { name: string; packages?: Record<string, string>; version?: string }[], files: Record<string, number> = {}) => {
  const meta = metadata(buildId, {}, rocks.map((r) => ({ name: r.name })));
  return validateBuildRecord({
    ...meta,
    schema: 1,
    rocks: meta.rocks.map((r, i) => ({ ...r, ...(rocks[i]?.packages ? { packages: rocks[i]?.packages } : {}), version: rocks[i]?.version ?? r.version })),
    files: Object.fromEntries(Object.entries(files).map(([p, size]) => [p, { digest: sha(p), size }])),
  });
};

describe('the top-level names a train may not take', () => {
  it.each(['api', 'healthz', 'readyz', 'metrics', 'static', 'blobs', 'meta'])('%s', (name) => {
    expect(isReservedTopName(name)).toBe(true);
    expect(() => validateTrain(name)).toThrow(/reserved name/);
  });
});

describe('parseRange', () => {
  it.each([
    ['bytes=0-9', 100, { start: 0, end: 9 }],
    ['bytes=90-', 100, { start: 90, end: 99 }],
    ['bytes=-10', 100, { start: 90, end: 99 }],
    ['bytes=-1000', 100, { start: 0, end: 99 }],
    ['bytes=50-1000', 100, { start: 50, end: 99 }],
    ['bytes=100-', 100, 'unsatisfiable'],
    ['bytes=-0', 100, 'unsatisfiable'],
    ['bytes=0-', 0, 'unsatisfiable'],
    ['bytes=9-3', 100, undefined],
    ['bytes=0-1,3-4', 100, undefined],
    ['bytes=-', 100, undefined],
    ['items=0-1', 100, undefined],
    [undefined, 100, undefined],
  ])('%s of %i bytes', (header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe('contentTypeFor', () => {
  it.each([
    ['rocks/keystone_2024.1_amd64.rock', 'application/x-tar'],
    ['logs/keystone.log', 'text/plain; charset=utf-8'],
    ['rockcraft/keystone/rockcraft.yaml', 'text/plain; charset=utf-8'],
    ['SHA256SUMS', 'text/plain; charset=utf-8'],
    ['BUILD_RESULT', 'text/plain; charset=utf-8'],
    ['images.json', 'application/json'],
    ['manifest.yaml', 'text/plain; charset=utf-8'],
    ['blob', 'application/octet-stream'],
    ['.hidden', 'application/octet-stream'],
  ])('%s', (path, type) => expect(contentTypeFor(path)).toBe(type));
});

describe('splitPath', () => {
  it('decodes each segment once and keeps the trailing slash as "folder"', () => {
    expect(splitPath('/')).toEqual({ segments: [], folder: true });
    expect(splitPath('/a/b%20c/')).toEqual({ segments: ['a', 'b c'], folder: true });
    expect(splitPath('/a/%25252e')).toEqual({ segments: ['a', '%252e'], folder: false });
  });
  it.each(['/..', '/a/%2e%2E', '/a/%2F', '/a/%5C', '/a//b', '/a/%00', '/a/%0a', '/%zz', `/${'a'.repeat(3000)}`])('refuses %s', (path) => {
    expect(() => splitPath(path)).toThrow(HttpError);
  });
});

describe('html', () => {
  it('escapes every interpolated value unless it is Html itself', () => {
    const name = `<img src=x onerror="alert('x')">&`;
    expect(escapeHtml(name)).toBe('&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt;&amp;');
    expect(html`<p title="${name}">${name}${html`<b>${name}</b>`}${[name, 1, false, null, undefined]}</p>`.text).toBe(
      `<p title="${escapeHtml(name)}">${escapeHtml(name)}<b>${escapeHtml(name)}</b>${escapeHtml(name)}1</p>`,
    );
  });
});

describe('diff', () => {
  it('compares package maps', () => {
    expect(diffPackages({ a: '1', b: '1', c: '1' }, { a: '1', b: '2', d: '1' })).toEqual([
      { name: 'b', change: 'changed', from: '1', to: '2' },
      { name: 'c', change: 'removed', from: '1' },
      { name: 'd', change: 'added', to: '1' },
    ]);
  });

  it('matches rocks by name and arch and says what it cannot tell', () => {
    const a = record('20240501T120000Z', [{ name: 'keystone', packages: { k: '1' } }, { name: 'nova' }, { name: 'cinder', packages: {} }]);
    const b = record('20240502T120000Z', [{ name: 'keystone', packages: { k: '2' }, version: '2024.1.1' }, { name: 'nova' }, { name: 'glance', packages: { g: '1' } }]);
    const diff = diffBuilds(a, b);
    expect(diff.rocks.map((r) => [r.rock, r.status, r.packages.length, r.packagesUnknown ?? false])).toEqual([
      ['cinder', 'removed', 0, false],
      ['glance', 'added', 1, false],
      ['keystone', 'changed', 1, false],
      ['nova', 'unchanged', 0, true],
    ]);
    expect(diff.rocks.find((r) => r.rock === 'keystone')).toMatchObject({ fromVersion: '2024.1', toVersion: '2024.1.1' });
    expect(diff.counts).toEqual({ changed: 1, added: 1, removed: 0 });
  });
});

describe('listOutputs', () => {
  const rec = record('20240501T120000Z', [{ name: 'keystone' }], { SHA256SUMS: 10, 'rocks/a.rock': 100, 'rocks/b.rock': 50, 'logs/x/y.log': 5 });
  it('lists folders first with their totals, then files', () => {
    expect(listOutputs(rec, '')?.map((e) => [e.name, e.type, e.size, e.files])).toEqual([
      ['logs', 'folder', 5, 1],
      ['rocks', 'folder', 150, 2],
      ['SHA256SUMS', 'file', 10, undefined],
    ]);
    expect(listOutputs(rec, 'logs/')?.map((e) => e.name)).toEqual(['x']);
    expect(listOutputs(rec, 'logs/x/')?.map((e) => [e.name, e.digest])).toEqual([['y.log', sha('logs/x/y.log')]]);
    expect(listOutputs(rec, 'nope/')).toBeUndefined();
    expect(listOutputs(record('20240501T120000Z', [{ name: 'keystone' }]), '')).toEqual([]);
  });
});

describe('historyChart', () => {
  it('draws one linked bar per build and says so when there are none', () => {
    const entries = ['20240501T120000Z', '20240502T120000Z'].map((id) => indexEntryFromRecord(record(id, [{ name: 'keystone' }])));
    const svg = historyChart(entries, { href: (id) => `/b/${id}/` }).text;
    expect(svg.match(/<rect /g)).toHaveLength(2);
    expect(svg).toContain('<a href="/b/20240501T120000Z/">');
    expect(svg).toContain('aria-label="Build history: 2 builds, 2 successful, 0 failed"');
    expect(historyChart([entries[0]!], { href: () => '#' }).text.match(/<rect /g)).toHaveLength(1);
    expect(historyChart([], { href: () => '#' }).text).toContain('No builds yet.');
  });
});
