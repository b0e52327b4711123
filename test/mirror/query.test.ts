import { utimes } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildIdFromDate, indexKey } from '../../mirror/layout.js';
import { setPin } from '../../mirror/lifecycle.js';
import { publishBuild } from '../../mirror/publish.js';
import { NotFoundInMirrorError, listBuilds, listReleases, listSeries, listTrains, openOutput, resolveRef, showBuild } from '../../mirror/query.js';
import { RefError } from '../../mirror/ref.js';
import { buildIndex, type IndexEntry } from '../../mirror/series-index.js';
import { writeAlias, writeIndex } from '../../mirror/series.js';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { TS, readAll, stagedBuild, tempStore, type TempStore } from './helpers.js';

let t: TempStore;
beforeEach(async () => {
  t = await tempStore();
});
afterEach(() => t.cleanup());

const B1 = '20240501T120000Z';
const B2 = '20240502T120000Z';
const B3 = '20240503T120000Z';

async function publish(buildId: string, finishedAt: string, result: 'success' | 'fail' = 'success', overrides = {}) {
  const staged = await stagedBuild(t.dir, buildId, { overrides: { finishedAt, result, ...overrides } });
  return publishBuild(t.store, staged);
}

/** The store, counting the calls that reach it. */
function counting(store: MirrorStore) {
  const counts = { get: 0, stat: 0, list: 0 };
  const wrapped: MirrorStore = Object.assign(Object.create(store) as MirrorStore, {
    get: (k: string) => (counts.get++, store.get(k)),
    stat: (k: string) => (counts.stat++, store.stat(k)),
    listPrefixes: (p: string) => (counts.list++, store.listPrefixes(p)),
  });
  return { wrapped, counts };
}

describe('listing', () => {
  it('lists trains, releases, series and builds, ignoring blobs/ and meta/', async () => {
    await publish(B1, '2024-05-01T12:30:00Z');
    await publish(B2, '2024-05-02T12:30:00Z', 'success', { train: 'ops-fix' });
    await publish(B3, '2024-05-03T12:30:00Z', 'success', { release: '2025.1' });
    await t.store.put('meta/stray', 'x');
    await t.store.put('reference/notarelease!/x', 'x');
    expect(await listTrains(t.store)).toEqual(['ops-fix', 'reference']);
    expect(await listReleases(t.store, 'reference')).toEqual(['2024.1', '2025.1']);
    expect(await listSeries(t.store, 'reference', '2024.1')).toEqual(['noble']);
    expect((await listBuilds(t.store, TS)).builds.map((b) => b.buildId)).toEqual([B1]);
  });

  it('falls back to reading build.json files when index.json is missing or corrupt', async () => {
    await publish(B1, '2024-05-01T12:30:00Z');
    await publish(B2, '2024-05-02T12:30:00Z', 'fail');
    await t.store.delete([indexKey(TS)]);
    let listing = await listBuilds(t.store, TS);
    expect(listing.source).toBe('scan');
    expect(listing.builds.map((b) => `${b.buildId}:${b.result}`)).toEqual([`${B1}:success`, `${B2}:fail`]);
    await t.store.put(indexKey(TS), '{"schema": 1, "builds": [');
    listing = await listBuilds(t.store, TS);
    expect(listing.source).toBe('scan');
    expect(listing.builds).toHaveLength(2);
  });

  it('shows a build and reports a missing one clearly', async () => {
    await publish(B1, '2024-05-01T12:30:00Z');
    expect((await showBuild(t.store, TS, B1)).rocks[0]?.name).toBe('keystone');
    await expect(showBuild(t.store, TS, B2)).rejects.toThrow(/no build reference\/2024\.1\/noble\/20240502T120000Z/);
  });
});

describe('resolveRef', () => {
  beforeEach(async () => {
    await publish(B1, '2024-05-01T12:30:00Z');
    await publish(B2, '2024-05-02T12:30:00Z', 'fail');
    await publish(B3, '2024-05-03T14:00:00Z');
  });

  const asOf: [string, string | undefined][] = [
    ['2024-05-01T12:29:59Z', undefined], // B1 had not finished
    ['2024-05-01T12:30:00Z', B1], // at, inclusive
    ['2024-05-02T13:00:00Z', B1], // B2 failed
    ['2024-05-03T13:00:00Z', B1], // B3 started but still running
    ['2024-05-03T16:00:00+02:00', B3], // 14:00Z, zone honoured
    ['2030-01-01T00:00:00Z', B3],
    ['20240502T000000Z', B1], // build-id form
  ];
  it.each(asOf)('as-of:%s → %s (newest successful build finished by then)', async (at, expected) => {
    const ref = `reference/2024.1/noble/as-of:${at}`;
    if (expected) expect((await resolveRef(t.store, ref)).buildId).toBe(expected);
    else await expect(resolveRef(t.store, ref)).rejects.toThrow(/no successful build had finished by/);
  });

  it('resolves latest, build ids, stable and pins', async () => {
    expect(await resolveRef(t.store, 'reference/2024.1/noble/latest_build')).toEqual({ ...TS, buildId: B3, ref: 'reference/2024.1/noble/latest' });
    expect((await resolveRef(t.store, `reference/2024.1/noble/${B2}`)).buildId).toBe(B2);
    await expect(resolveRef(t.store, 'reference/2024.1/noble/20240504T000000Z')).rejects.toBeInstanceOf(NotFoundInMirrorError);
    await expect(resolveRef(t.store, 'reference/2024.1/noble/stable')).rejects.toThrow(/stable is not set/);
    await writeAlias(t.store, TS, 'stable', B1);
    expect((await resolveRef(t.store, 'reference/2024.1/noble/stable')).buildId).toBe(B1);
    await setPin(t.store, TS, 'prod', B1, { expiresAt: new Date(Date.now() + 60_000) });
    expect((await resolveRef(t.store, 'reference/2024.1/noble/pin:prod')).buildId).toBe(B1);
    await expect(resolveRef(t.store, 'reference/2024.1/noble/pin:prod', { now: new Date(Date.now() + 120_000) })).rejects.toThrow(/pin expired/);
    await expect(resolveRef(t.store, 'reference/2024.1/noble/pin:other')).rejects.toThrow(/no pin named other/);
    await expect(resolveRef(t.store, 'reference/2024.1/noble/next')).rejects.toBeInstanceOf(RefError);
    await expect(resolveRef(t.store, 'reference/2023.1/noble/latest')).rejects.toThrow(/latest is not set/);
  });

  it('opens output files through build.json, with ranges', async () => {
    const whole = await readAll((await openOutput(t.store, TS, B1, 'logs/keystone.log')).stream);
    expect(whole.toString()).toBe(`build log of ${B1}\n`);
    const part = await openOutput(t.store, TS, B1, 'logs/keystone.log', { start: 6, end: 8 });
    expect((await readAll(part.stream)).toString()).toBe('log');
    expect(part.size).toBe(whole.length);
    await expect(openOutput(t.store, TS, B1, 'logs/none.log')).rejects.toThrow(/has no output logs\/none\.log/);
    await expect(openOutput(t.store, TS, B1, '../build.json')).rejects.toThrow(/invalid output path/);
  });
});

describe('scale', () => {
  /** Counts reads, to prove queries use the index instead of one read per build. */
  it('answers listings and as-of over 10 000 builds from one index read', async () => {
    const start = Date.UTC(2020, 0, 1);
    const entries: IndexEntry[] = Array.from({ length: 10_000 }, (_, i) => {
      const started = new Date(start + i * 3600_000);
      return {
        buildId: buildIdFromDate(started),
        result: i % 7 === 0 ? 'fail' : 'success',
        startedAt: started.toISOString(),
        finishedAt: new Date(started.getTime() + 1800_000).toISOString(),
        size: 1000,
        files: 6,
        rocks: [{ name: 'keystone', arch: 'amd64', version: '2024.1', outcome: 'built', digest: `sha256:${'0'.repeat(64)}` }],
      };
    });
    await writeIndex(t.store, TS, buildIndex(TS, entries, new Date()));
    const { wrapped, counts } = counting(t.store);
    const began = performance.now();
    const listing = await listBuilds(wrapped, TS);
    expect(listing.builds).toHaveLength(10_000);
    expect(listing.source).toBe('index');
    const target = entries[5000]!;
    const at = new Date(Date.parse(target.finishedAt) + 60_000).toISOString();
    expect((await resolveRef(wrapped, `reference/2024.1/noble/as-of:${at}`)).buildId).toBe(target.buildId);
    // entry 4998 = i % 7 === 0 → failed; as-of just after it finished falls back to 4997.
    const failed = entries[4998]!;
    expect(failed.result).toBe('fail');
    expect((await resolveRef(wrapped, `reference/2024.1/noble/as-of:${failed.finishedAt}`)).buildId).toBe(entries[4997]!.buildId);
    expect(performance.now() - began).toBeLessThan(3000);
    // One stat and one read per call: the index was written just now, so nothing is served from the parse cache.
    expect(counts).toEqual({ get: 3, stat: 3, list: 0 });
  });
});

describe('parsed index cache', () => {
  let c: TempStore;
  beforeEach(async () => {
    c = await tempStore();
  });
  afterEach(() => c.cleanup());

  it('serves a settled index from memory after one stat, and re-reads it once it changes', async () => {
    const entry = (i: number): IndexEntry => {
      const started = new Date(Date.UTC(2021, 0, 1) + i * 3600_000);
      return { buildId: buildIdFromDate(started), result: 'success', startedAt: started.toISOString(), finishedAt: started.toISOString(), size: 1, files: 1, rocks: [] };
    };
    await writeIndex(c.store, TS, buildIndex(TS, [entry(0)], new Date()));
    const old = new Date(Date.now() - 60_000);
    await utimes(c.store.pathOf(indexKey(TS)), old, old);
    const { wrapped, counts } = counting(c.store);
    expect((await listBuilds(wrapped, TS)).builds).toHaveLength(1);
    expect((await listBuilds(wrapped, TS)).builds).toHaveLength(1);
    expect(counts).toEqual({ get: 1, stat: 2, list: 0 });
    await writeIndex(c.store, TS, buildIndex(TS, [entry(0), entry(1)], new Date()));
    expect((await listBuilds(wrapped, TS)).builds).toHaveLength(2);
  });
});
