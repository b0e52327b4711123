// The publisher killed with SIGKILL at a random moment, 24 times in a row on one mirror. After
// each kill: no half build is listed, `latest` resolves to a complete build whose every file
// matches SHA256SUMS, and the same build published again completes.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildIdFromDate } from '../../mirror/layout.js';
import { parseSha256Sums } from '../../mirror/generated.js';
import { DuplicateBuildError, publishBuild } from '../../mirror/publish.js';
import { listBuilds, openOutput, resolveRef, showBuild } from '../../mirror/query.js';
import { TS, readAll, stagedBuild, stagedBuildSpec, tempStore, type TempStore } from './helpers.js';
import { transpileFixture, type Transpiled } from './transpile.js';

const TRIALS = 24;
let fixture: Transpiled;
let t: TempStore;

beforeAll(async () => {
  fixture = await transpileFixture('test/fixtures/mirror-publish-crash.ts');
  t = await tempStore();
});
afterAll(async () => {
  await t.cleanup();
  await fixture.cleanup();
});

/** Runs the publisher and SIGKILLs it after `delayMs` (or lets it finish first). */
function publishAndKill(spec: string, delayMs: number): Promise<'killed' | 'finished'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fixture.entry, t.store.root, spec, 'none'], { stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), delayMs);
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(timer);
      resolve(signal === 'SIGKILL' ? 'killed' : 'finished');
    });
  });
}

const stage = (buildId: string, seed: string) => stagedBuildSpec(t.dir, buildId, seed);

async function assertConsistent(): Promise<void> {
  // Every listed build is committed with all its files readable and matching.
  for (const entry of (await listBuilds(t.store, TS)).builds) {
    const record = await showBuild(t.store, TS, entry.buildId);
    expect(Object.keys(record.files).length).toBeGreaterThan(3);
  }
  const latest = await resolveRef(t.store, `${TS.train}/${TS.release}/${TS.series}/latest`);
  const sums = parseSha256Sums((await readAll((await openOutput(t.store, TS, latest.buildId, 'SHA256SUMS')).stream)).toString('utf8'));
  for (const [path, digest] of sums) {
    const bytes = await readAll((await openOutput(t.store, TS, latest.buildId, path)).stream);
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, path).toBe(digest);
  }
}

describe(`publisher SIGKILLed at random moments (${TRIALS} trials)`, () => {
  it('never leaves a half build visible and always recovers', async () => {
    await publishBuild(t.store, await stagedBuild(t.dir, '20240101T000000Z', { rockSeed: 'base' }));
    let killed = 0;
    for (let i = 0; i < TRIALS; i++) {
      const buildId = buildIdFromDate(new Date(Date.UTC(2024, 1, 1 + i, 12)));
      const spec = await stage(buildId, `trial-${i}`);
      // Spread the kill over the publisher's life: start-up, uploads, commit, aliases, index.
      const outcome = await publishAndKill(spec, 60 + ((i * 37) % 24) * 12);
      if (outcome === 'killed') killed += 1;
      await assertConsistent();
      // Publishing the same build again completes it (or finds it already committed).
      await publishBuild(t.store, await stagedBuild(t.dir, buildId, { rockSeed: `trial-${i}` }), { lock: { waitMs: 10_000 } }).catch((error: unknown) => {
        if (!(error instanceof DuplicateBuildError)) throw error;
      });
      await assertConsistent();
      expect((await resolveRef(t.store, `${TS.train}/${TS.release}/${TS.series}/latest`)).buildId).toBe(buildId);
    }
    // Most trials must really have been killed mid-way for the test to mean anything.
    expect(killed).toBeGreaterThanOrEqual(TRIALS / 2);
  }, 240_000);
});
