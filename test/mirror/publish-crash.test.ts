// Crash states of the publish transaction: the publisher is stopped after each step (by a hook
// that throws) and the mirror must then be in exactly the state §4 promises, and recoverable.
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildRecordKey, outputKey, seriesLockKey } from '../../mirror/layout.js';
import { LockTimeoutError } from '../../mirror/lease.js';
import { repairSeries } from '../../mirror/lifecycle.js';
import { publishBuild, type PublishStep } from '../../mirror/publish.js';
import { listBuilds, resolveRef, showBuild } from '../../mirror/query.js';
import { TS, snapshot, stagedBuild, tempStore, type TempStore } from './helpers.js';

let t: TempStore;
beforeEach(async () => {
  t = await tempStore();
});
afterEach(() => t.cleanup());

const B1 = '20240501T120000Z';
const B2 = '20240502T120000Z';
const B3 = '20240503T120000Z';
const LATEST = 'reference/2024.1/noble/latest';

class Crash extends Error {}
const crashAfter = (at: PublishStep) => (step: PublishStep) => {
  if (step === at) throw new Crash(`stopped after ${step}`);
};

async function indexed(): Promise<string[]> {
  return (await listBuilds(t.store, TS)).builds.map((b) => b.buildId);
}

describe('publish interrupted after each step', () => {
  beforeEach(async () => {
    await publishBuild(t.store, await stagedBuild(t.dir, B1));
  });

  it.each(['blobs', 'generated'] as const)('after %s: only unreferenced blobs were added; a retry completes', async (step) => {
    const before = await snapshot(t.store);
    const staged = await stagedBuild(t.dir, B2, { rockSeed: 'second' });
    await expect(publishBuild(t.store, staged, { afterStep: crashAfter(step) })).rejects.toBeInstanceOf(Crash);
    const after = await snapshot(t.store);
    const added = [...after.keys()].filter((k) => !before.has(k));
    expect(added.length).toBeGreaterThan(0);
    expect(added.every((k) => k.startsWith('blobs/sha256/'))).toBe(true);
    for (const [k, v] of before) expect(after.get(k), k).toBe(v);
    expect((await resolveRef(t.store, LATEST)).buildId).toBe(B1);
    expect(await indexed()).toEqual([B1]);

    const retry = await publishBuild(t.store, staged);
    expect(retry.blobsSkipped).toBe(step === 'blobs' ? 3 : 6);
    expect((await resolveRef(t.store, LATEST)).buildId).toBe(B2);
  });

  it.each(['record', 'view', 'latest'] as const)('after %s: the build is complete but not (all) published; repair and the next publish heal it', async (step) => {
    await expect(publishBuild(t.store, await stagedBuild(t.dir, B2, { rockSeed: 'second' }), { afterStep: crashAfter(step) })).rejects.toBeInstanceOf(Crash);
    // Readers never see a half build: the record is whole and readable.
    expect((await showBuild(t.store, TS, B2)).buildId).toBe(B2);
    expect((await resolveRef(t.store, LATEST)).buildId).toBe(step === 'latest' ? B2 : B1);
    expect(await indexed()).toEqual([B1]);
    const viewKey = outputKey(TS, B2, 'SHA256SUMS');
    expect(!!(await t.store.stat(viewKey))).toBe(step !== 'record');
    expect(await t.store.stat(seriesLockKey(TS))).toBeUndefined();

    const repaired = await repairSeries(t.store, TS);
    expect(repaired.builds).toBe(2);
    expect(repaired.latestMovedTo).toBe(step === 'latest' ? undefined : B2);
    expect(await indexed()).toEqual([B1, B2]);
    expect(await t.store.stat(viewKey)).toBeDefined();
  });

  it('after record: the next publish indexes the orphaned build itself', async () => {
    await expect(publishBuild(t.store, await stagedBuild(t.dir, B2), { afterStep: crashAfter('record') })).rejects.toBeInstanceOf(Crash);
    await publishBuild(t.store, await stagedBuild(t.dir, B3));
    expect(await indexed()).toEqual([B1, B2, B3]);
    expect((await resolveRef(t.store, LATEST)).buildId).toBe(B3);
  });

  it('after index: everything is done even though the publisher failed', async () => {
    await expect(publishBuild(t.store, await stagedBuild(t.dir, B2), { afterStep: crashAfter('index') })).rejects.toBeInstanceOf(Crash);
    expect(await indexed()).toEqual([B1, B2]);
    expect((await resolveRef(t.store, LATEST)).buildId).toBe(B2);
    expect(await t.store.stat(buildRecordKey(TS, B2))).toBeDefined();
  });
});

describe('locks left behind', () => {
  function lockBody(host: string, pid: number, expiresInMs: number): string {
    const now = Date.now();
    return JSON.stringify({
      token: 'f'.repeat(32),
      host,
      pid,
      purpose: 'publish (crashed)',
      acquiredAt: new Date(now).toISOString(),
      expiresAt: new Date(now + expiresInMs).toISOString(),
    });
  }

  it('breaks the lock of a process on this host that no longer exists', async () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await t.store.put(seriesLockKey(TS), lockBody(hostname(), dead, 3600_000));
    const summary = await publishBuild(t.store, await stagedBuild(t.dir, B1), { lock: { waitMs: 5000 } });
    expect(summary.latestMoved).toBe(true);
    expect(await t.store.stat(seriesLockKey(TS))).toBeUndefined();
  });

  it('breaks an expired lock of another host', async () => {
    await t.store.put(seriesLockKey(TS), lockBody('elsewhere', 1, -1000));
    await publishBuild(t.store, await stagedBuild(t.dir, B1), { lock: { waitMs: 5000 } });
    expect((await resolveRef(t.store, LATEST)).buildId).toBe(B1);
  });

  it('waits for a live lock and gives up with a clear error, committing nothing', async () => {
    await t.store.put(seriesLockKey(TS), lockBody('elsewhere', 1, 3600_000));
    const attempt = publishBuild(t.store, await stagedBuild(t.dir, B1), { lock: { waitMs: 300 } });
    await expect(attempt).rejects.toBeInstanceOf(LockTimeoutError);
    await expect(attempt).rejects.toThrow(/held by elsewhere:1 \(publish \(crashed\)\)/);
    expect(await t.store.stat(buildRecordKey(TS, B1))).toBeUndefined();
  });
});
