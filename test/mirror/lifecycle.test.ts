import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aliasKey, buildRecordKey, indexKey, outputKey } from '../../mirror/layout.js';
import { LifecycleError, applyRetention, applyTrainRetention, listPins, promote, reindex, removePin, setPin } from '../../mirror/lifecycle.js';
import { publishBuild } from '../../mirror/publish.js';
import { NotFoundInMirrorError, listBuilds, resolveRef } from '../../mirror/query.js';
import { TS, metadata, snapshot, stagedBuild, tempStore, type TempStore } from './helpers.js';

let t: TempStore;
beforeEach(async () => {
  t = await tempStore();
});
afterEach(() => t.cleanup());

const B1 = '20240501T120000Z';
const B2 = '20240502T120000Z';
const B3 = '20240503T120000Z';
const B4 = '20240504T120000Z';

async function publish(buildId: string, result: 'success' | 'fail' = 'success') {
  const rocks = result === 'fail' ? [{ ...metadata(buildId).rocks[0]!, outcome: 'failed' as const, image: undefined }] : metadata(buildId).rocks;
  return publishBuild(t.store, await stagedBuild(t.dir, buildId, { rockSeed: buildId, overrides: { result, rocks } }));
}

describe('promote', () => {
  it('points stable at a successful build and returns the previous one', async () => {
    await publish(B1);
    await publish(B2);
    expect(await promote(t.store, TS, B1)).toEqual({});
    expect(await promote(t.store, TS, B2)).toEqual({ previous: B1 });
    expect((await t.store.get(aliasKey(TS, 'stable')))?.toString()).toBe(`${B2}\n`);
    expect((await resolveRef(t.store, 'reference/2024.1/noble/stable')).buildId).toBe(B2);
  });

  it('refuses a failed or missing build', async () => {
    await publish(B1, 'fail');
    await expect(promote(t.store, TS, B1)).rejects.toBeInstanceOf(LifecycleError);
    await expect(promote(t.store, TS, B2)).rejects.toBeInstanceOf(NotFoundInMirrorError);
    expect(await t.store.stat(aliasKey(TS, 'stable'))).toBeUndefined();
  });
});

describe('pins', () => {
  it('sets, moves, lists (with liveness) and removes pins', async () => {
    await publish(B1);
    await publish(B2);
    const now = new Date();
    await setPin(t.store, TS, 'prod', B1, { note: 'change 1234' });
    await setPin(t.store, TS, 'canary', B2, { expiresAt: new Date(now.getTime() + 3600_000) });
    await setPin(t.store, TS, 'prod', B2);
    const later = new Date(now.getTime() + 7200_000);
    expect((await listPins(t.store, TS, later)).map((p) => [p.name, p.pin.buildId, p.live])).toEqual([
      ['canary', B2, false],
      ['prod', B2, true],
    ]);
    expect(await removePin(t.store, TS, 'canary')).toBe(true);
    expect(await removePin(t.store, TS, 'canary')).toBe(false);
    expect((await listPins(t.store, TS)).map((p) => p.name)).toEqual(['prod']);
  });

  it('refuses bad names, missing builds and past expiries', async () => {
    await publish(B1);
    await expect(setPin(t.store, TS, '../x', B1)).rejects.toThrow(/invalid pin name/);
    await expect(setPin(t.store, TS, 'p', B2)).rejects.toBeInstanceOf(NotFoundInMirrorError);
    await expect(setPin(t.store, TS, 'p', B1, { expiresAt: new Date(Date.now() - 1000) })).rejects.toThrow(/expiry is in the past/);
  });
});

describe('applyRetention', () => {
  beforeEach(async () => {
    for (const id of [B1, B2, B3]) await publish(id);
    await publish(B4, 'fail');
  });
  const now = () => new Date('2024-06-01T00:00:00Z');

  it('dry run reports decisions and changes nothing', async () => {
    const before = await snapshot(t.store);
    const report = await applyRetention(t.store, TS, { keepDays: 1 }, { dryRun: true, now });
    expect(report.dryRun).toBe(true);
    expect(report.deleted).toEqual([]);
    expect(report.decision.keep.map((k) => [k.buildId, k.reasons])).toEqual([[B3, ['latest']]]);
    expect(report.decision.drop.map((d) => d.buildId)).toEqual([B4, B2, B1]);
    expect(await snapshot(t.store)).toEqual(before);
  });

  it('deletes dropped builds (record and view), rewrites the index, keeps protected ones', async () => {
    await promote(t.store, TS, B1);
    await setPin(t.store, TS, 'prod', B2);
    const report = await applyRetention(t.store, TS, { keepDays: 1 }, { now, inUse: [] });
    expect(report.deleted).toEqual([B4]);
    const again = await applyRetention(t.store, TS, { keepDays: 1, keepMax: 1 }, { now, inUse: [B2] });
    expect(again.deleted).toEqual([]);
    await removePin(t.store, TS, 'prod');
    const third = await applyRetention(t.store, TS, { keepDays: 1 }, { now });
    expect(third.deleted).toEqual([B2]);
    expect(third.decision.drop).toEqual([{ buildId: B2, reason: 'older than keepDays=1' }]);
    expect((await listBuilds(t.store, TS)).builds.map((b) => b.buildId)).toEqual([B1, B3]);
    for (const id of [B2, B4]) {
      expect(await t.store.stat(buildRecordKey(TS, id))).toBeUndefined();
      expect(await t.store.stat(outputKey(TS, id, 'SHA256SUMS'))).toBeUndefined();
      expect(await t.store.listPrefixes(`reference/2024.1/noble/${id}/`)).toEqual([]);
    }
    expect((await resolveRef(t.store, 'reference/2024.1/noble/stable')).buildId).toBe(B1);
  });

  it('applies a train policy to every release and series, honouring in-use builds', async () => {
    const other = { ...TS, release: '2025.1' };
    await publishBuild(t.store, await stagedBuild(t.dir, B1, { overrides: { release: '2025.1' } }));
    await publishBuild(t.store, await stagedBuild(t.dir, B2, { overrides: { release: '2025.1' } }));
    const reports = await applyTrainRetention(t.store, 'reference', { keepDays: 1 }, { now, inUse: ['2024.1/noble/' + B1] });
    expect(reports.map((r) => [r.release, r.deleted])).toEqual([
      ['2024.1', [B4, B2]],
      ['2025.1', [B1]],
    ]);
    expect((await listBuilds(t.store, other)).builds.map((b) => b.buildId)).toEqual([B2]);
  });
});

describe('reindex', () => {
  it('rebuilds a lost or corrupt index from the build records; the next publish heals it too', async () => {
    await publish(B1);
    await publish(B2, 'fail');
    const original = (await listBuilds(t.store, TS)).builds;
    await t.store.put(indexKey(TS), 'not json');
    expect(await reindex(t.store, TS)).toBe(2);
    expect((await listBuilds(t.store, TS)).builds).toEqual(original);
    await t.store.delete([indexKey(TS)]);
    await publish(B3);
    const healed = await listBuilds(t.store, TS);
    expect(healed.source).toBe('index');
    expect(healed.builds.map((b) => b.buildId)).toEqual([B1, B2, B3]);
  });
});
