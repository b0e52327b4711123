import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeIntent } from '../../mirror/blobs.js';
import { parseBuildRecord } from '../../mirror/build-record.js';
import { collectGarbage } from '../../mirror/gc.js';
import { GC_LOCK_KEY, blobKey, buildRecordKey, outputKey } from '../../mirror/layout.js';
import { acquireLease } from '../../mirror/lease.js';
import { applyRetention } from '../../mirror/lifecycle.js';
import { publishBuild } from '../../mirror/publish.js';
import { openOutput } from '../../mirror/query.js';
import { TS, readAll, snapshot, stagedBuild, tempStore, type TempStore } from './helpers.js';

let t: TempStore;
beforeEach(async () => {
  t = await tempStore();
});
afterEach(() => t.cleanup());

const B1 = '20240501T120000Z';
const B2 = '20240502T120000Z';
const DAY = 86_400_000;
const inTwoDays = () => new Date(Date.now() + 2 * DAY);

async function blobs(): Promise<string[]> {
  const out: string[] = [];
  for await (const info of t.store.list('blobs/')) out.push(info.key);
  return out;
}

async function recordOf(buildId: string) {
  return parseBuildRecord((await t.store.get(buildRecordKey(TS, buildId)))!, buildId);
}

describe('collectGarbage', () => {
  beforeEach(async () => {
    await publishBuild(t.store, await stagedBuild(t.dir, B1, { rockSeed: 'one' }));
    await publishBuild(t.store, await stagedBuild(t.dir, B2, { rockSeed: 'two' }));
    // Drop B1 (only latest = B2 is protected).
    await applyRetention(t.store, TS, { keepDays: 0 }, { now: inTwoDays });
  });

  it('keeps unreferenced blobs younger than the grace period', async () => {
    const report = await collectGarbage(t.store, { graceMs: DAY });
    expect(report.deleted).toEqual([]);
    expect(report.protectedBlobs).toBe(5); // B1's rock, log, BUILD_RESULT, CONTEXT, SHA256SUMS (rockcraft.yaml is shared with B2)
  });

  it('dry run lists what would go and why, changing nothing', async () => {
    const before = await snapshot(t.store);
    const report = await collectGarbage(t.store, { graceMs: DAY, now: inTwoDays, dryRun: true });
    expect(report.dryRun).toBe(true);
    expect(report.deleted).toHaveLength(5);
    expect(report.deleted[0]?.reason).toMatch(/^unreferenced since at least /);
    expect(report.bytesFreed).toBeGreaterThan(200_000);
    expect(await snapshot(t.store)).toEqual(before);
  });

  it('deletes old unreferenced blobs and nothing a remaining build references', async () => {
    const report = await collectGarbage(t.store, { graceMs: DAY, now: inTwoDays });
    expect(report.deleted).toHaveLength(5);
    expect(report.builds).toBe(1);
    const remaining = await blobs();
    const referenced = Object.values((await recordOf(B2)).files).map((f) => blobKey(f.digest));
    expect(remaining.sort()).toEqual([...new Set(referenced)].sort());
    // Every output of the surviving build is still readable.
    for (const path of Object.keys((await recordOf(B2)).files)) await readAll((await openOutput(t.store, TS, B2, path)).stream);
  });

  it('keeps blobs named by a live publish intent', async () => {
    const dry = await collectGarbage(t.store, { graceMs: DAY, now: inTwoDays, dryRun: true });
    const victim = dry.deleted[0]!;
    const digest = `sha256:${victim.key.split('/').at(-1)!}`;
    const intent = await writeIntent(t.store, 'in-flight publish', [digest], 30 * DAY, new Date());
    const report = await collectGarbage(t.store, { graceMs: DAY, now: inTwoDays });
    expect(report.deleted.map((d) => d.key)).not.toContain(victim.key);
    expect(await t.store.stat(victim.key)).toBeDefined();
    await intent.release();
  });

  it('removes the view of a build whose record is gone (retention interrupted)', async () => {
    await t.store.delete([buildRecordKey(TS, B2)]);
    expect(await t.store.stat(outputKey(TS, B2, 'SHA256SUMS'))).toBeDefined();
    const report = await collectGarbage(t.store, { graceMs: DAY, now: inTwoDays });
    expect(report.deleted.some((d) => d.reason.startsWith('view of a deleted build'))).toBe(true);
    expect(await t.store.listPrefixes('reference/2024.1/noble/')).toEqual([]);
    expect(await blobs()).toEqual([]);
  });
});

describe('GC and publish', () => {
  it('a publish waits while GC holds its lock, then completes', async () => {
    const gc = await acquireLease(t.store, GC_LOCK_KEY, { purpose: 'gc' });
    let done = false;
    const publishing = publishBuild(t.store, await stagedBuild(t.dir, B1)).then((s) => {
      done = true;
      return s;
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    expect(await t.store.stat(buildRecordKey(TS, B1))).toBeUndefined();
    await gc.release();
    expect((await publishing).buildId).toBe(B1);
  });

  it('a publish that reuses an old unreferenced blob during GC never loses it', async () => {
    await publishBuild(t.store, await stagedBuild(t.dir, B1));
    // Make B1's blobs unreferenced (and, seen from two days on, old); B2 has the same rock.
    await t.store.delete([buildRecordKey(TS, B1)]);
    const [gcReport, summary] = await Promise.all([
      collectGarbage(t.store, { graceMs: DAY, now: inTwoDays }),
      // GC runs two days ahead; the intent must still be live on its clock, as it is in real life
      // where both sides share one clock.
      publishBuild(t.store, await stagedBuild(t.dir, B2), { intentTtlMs: 7 * DAY }),
    ]);
    expect(summary.buildId).toBe(B2);
    const record = await recordOf(B2);
    for (const file of Object.values(record.files)) expect(await t.store.stat(blobKey(file.digest)), file.digest).toBeDefined();
    expect(gcReport.dryRun).toBe(false);
  });
});
