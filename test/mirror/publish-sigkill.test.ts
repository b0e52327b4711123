// A publisher killed with SIGKILL after each step of the transaction (a real process, no cleanup:
// the series lock and the publish intent stay behind). The mirror must show a consistent state and
// recover: the next publish breaks the dead holder's lock, repair finishes a committed build, and
// GC neither keeps the dead intent's blobs forever nor loses a committed build's blobs.
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { collectGarbage } from '../../mirror/gc.js';
import { INTENTS_PREFIX, blobKey, buildRecordKey, seriesLockKey } from '../../mirror/layout.js';
import { repairSeries } from '../../mirror/lifecycle.js';
import { publishBuild } from '../../mirror/publish.js';
import { listBuilds, resolveRef, showBuild } from '../../mirror/query.js';
import { TS, stagedBuild, stagedBuildSpec, tempStore, type TempStore } from './helpers.js';
import { transpileFixture, type Transpiled } from './transpile.js';

let fixture: Transpiled;
beforeAll(async () => {
  fixture = await transpileFixture('test/fixtures/mirror-publish-crash.ts');
});
afterAll(() => fixture.cleanup());

let t: TempStore;
beforeEach(async () => {
  t = await tempStore();
});
afterEach(() => t.cleanup());

const B1 = '20240501T120000Z';
const B2 = '20240502T120000Z';
const B3 = '20240503T120000Z';
const LATEST = 'reference/2024.1/noble/latest';
const inTwoDays = () => new Date(Date.now() + 2 * 86_400_000);

function run(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [fixture.entry, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr }));
  });
}

const stage = (buildId: string, seed: string) => stagedBuildSpec(t.dir, buildId, seed);

describe('publisher killed with SIGKILL', () => {
  it('publishes normally when not told to crash', async () => {
    const result = await run([t.store.root, await stage(B1, 'one'), 'none']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ buildId: B1, latestMoved: true });
  });

  const steps = ['blobs', 'generated', 'record', 'view', 'latest', 'index'] as const;
  it.each(steps)('after %s: consistent state, then full recovery', async (step) => {
    await publishBuild(t.store, await stagedBuild(t.dir, B1, { rockSeed: 'one' }));
    const result = await run([t.store.root, await stage(B2, 'two'), step]);
    expect(result.signal).toBe('SIGKILL');

    const committed = step !== 'blobs' && step !== 'generated';
    const lockHeld = committed; // steps record … index run under the series lock
    expect(!!(await t.store.stat(buildRecordKey(TS, B2)))).toBe(committed);
    expect(!!(await t.store.stat(seriesLockKey(TS)))).toBe(lockHeld);
    const intents: string[] = [];
    for await (const info of t.store.list(INTENTS_PREFIX)) intents.push(info.key);
    expect(intents).toHaveLength(1);
    if (committed) expect((await showBuild(t.store, TS, B2)).result).toBe('success');
    expect((await resolveRef(t.store, LATEST)).buildId).toBe(step === 'latest' || step === 'index' ? B2 : B1);

    // The next publish is not blocked by the dead publisher's lock, and heals the index.
    await publishBuild(t.store, await stagedBuild(t.dir, B3, { rockSeed: 'three' }), { lock: { waitMs: 5000 } });
    expect((await listBuilds(t.store, TS)).builds.map((b) => b.buildId)).toEqual(committed ? [B1, B2, B3] : [B1, B3]);
    if (committed) expect((await repairSeries(t.store, TS)).builds).toBe(3);

    // GC: the dead intent protects nothing; a committed B2 keeps all its blobs.
    const gc = await collectGarbage(t.store, { now: inTwoDays });
    for await (const info of t.store.list(INTENTS_PREFIX)) throw new Error(`intent left: ${info.key}`);
    if (committed) {
      for (const f of Object.values((await showBuild(t.store, TS, B2)).files)) expect(await t.store.stat(blobKey(f.digest))).toBeDefined();
      expect(gc.deleted).toEqual([]);
    } else {
      expect(gc.deleted.length).toBeGreaterThan(0); // B2's uploaded but never committed blobs
    }
  });
});
