// The scheduler on a fake clock against a real upstream repository and apt archive: a tick with
// nothing changed starts nothing and costs at most two conditional requests; a moved upstream head
// or a changed index queues exactly one build; ticks never overlap a build of the same train; a
// manual request bypasses the check; schedules follow their time zone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TrainScheduler } from '../../src/controller/scheduler.js';
import type { TrainSpec } from '../../src/controller/trains.js';
import type { CheckResult } from '../../src/controller/watch.js';
import { STANDIN_ENV } from '../fixtures/rockcraft/standin.js';
import { commitToBranch } from '../fixtures/rocks-repo.js';
import { FakeCronClock } from './fake-cron.js';
import { configDoc, openController, startFixtures, waitFor, waitForJob, type Fixtures, type OpenedController } from './harness.js';

const HOUR = 3_600_000;
let f: Fixtures;
let c: OpenedController;

beforeAll(async () => {
  f = await startFixtures();
  const doc = configDoc(f, { trains: [{ name: 'fix', release: 'caracal', components: ['cinder'], schedule: '0 * * * *' }] });
  c = await openController(f, doc, { env: { ...f.env, [STANDIN_ENV.sleepMs]: '300' } });
}, 60_000);

afterAll(async () => {
  await c?.controller.drain(0);
  await f?.close();
});

const requestsSince = (mark: number) => f.apt.server.requests.slice(mark);
const fixJobs = () => c.controller.jobs({ train: 'fix' });

/** Advances to the next full hour (the train's schedule) and waits for what the tick queued. */
async function hourlyTick(): Promise<{ requests: number; lsRemotes: number; jobs: number }> {
  const [aptBefore, gitBefore, jobsBefore] = [f.apt.server.requests.length, c.lsRemotes(), fixJobs().length];
  const now = c.clock.now().getTime();
  await c.clock.advance(Math.ceil((now + 1) / HOUR) * HOUR - now);
  return { requests: requestsSince(aptBefore).length, lsRemotes: c.lsRemotes() - gitBefore, jobs: fixJobs().length - jobsBefore };
}

async function settleLatest(): Promise<void> {
  const latest = fixJobs()[0];
  if (latest) await waitForJob(c.controller, latest.id);
}

describe('scheduled builds', () => {
  it('builds a train never built, then a tick with nothing changed starts nothing for ≤ 2 requests', async () => {
    const first = await hourlyTick();
    expect(first.jobs).toBe(1);
    const job = await waitForJob(c.controller, fixJobs()[0]?.id ?? '');
    expect(job).toMatchObject({ state: 'succeeded', trigger: 'schedule', request: { train: 'fix', release: '2024.1', series: 'noble', components: ['cinder'] } });

    const quiet = await hourlyTick();
    expect(quiet.jobs).toBe(0);
    expect(quiet.lsRemotes + quiet.requests).toBeLessThanOrEqual(2);
    expect(quiet.lsRemotes).toBe(1);
    const probes = f.apt.server.requests.slice(-quiet.requests);
    expect(probes.every((r) => r.method === 'HEAD' && r.path.endsWith('/InRelease') && r.ifNoneMatch !== undefined && r.status === 304)).toBe(true);
    expect(c.controller.trains()[0]).toMatchObject({ name: 'fix', lastCheck: { outcome: 'unchanged' }, latestBuild: job.buildId });
  });

  it('queues one build when the upstream head moves', async () => {
    await commitToBranch(f.repo.dir, 'stable/2024.1', { 'README.md': 'moved\n' }, 'Move the head');
    const tick = await hourlyTick();
    expect(tick.jobs).toBe(1);
    expect(c.controller.trains()[0]?.lastCheck?.reasons?.[0]).toMatch(/^upstream head/);
    await settleLatest();
    expect((await hourlyTick()).jobs).toBe(0);
  });

  it('queues one build when an apt index changes', async () => {
    // A new Date in a still valid InRelease: the archive republished the suite.
    const inRelease = '/ubuntu/dists/noble-updates/InRelease';
    const current = await (await fetch(`${f.apt.server.url}${inRelease}`)).text();
    await f.apt.server.updateFile(inRelease, current.replace(/^Date: .*$/m, 'Date: Mon, 23 Nov 2026 00:00:00 UTC'));
    const tick = await hourlyTick();
    expect(tick.jobs).toBe(1);
    expect(c.controller.trains()[0]?.lastCheck?.reasons).toEqual([expect.stringMatching(/noble-updates\/InRelease changed$/)]);
    await settleLatest();
    expect((await hourlyTick()).jobs).toBe(0);
  });

  it('never overlaps a build of the same train, and a manual request bypasses the check', async () => {
    const [manual] = await c.controller.submit([{ release: 'caracal', train: 'fix' }], 'api', 'ops');
    expect(manual).toMatchObject({ state: 'queued', request: { train: 'fix', components: ['cinder'], series: 'noble' } });
    await waitFor('the manual build to run', () => c.controller.job(manual?.id ?? '')?.state === 'running');
    await commitToBranch(f.repo.dir, 'stable/2024.1', { 'README.md': 'moved again\n' }, 'Move the head again');
    const during = await hourlyTick();
    expect(during).toMatchObject({ jobs: 0, requests: 0, lsRemotes: 0 });
    expect(c.controller.trains()[0]?.lastCheck?.outcome).toBe('busy');
    expect((await waitForJob(c.controller, manual?.id ?? '')).state).toBe('succeeded');
    // The manual build did not record what the watch saw: the next tick still sees the move.
    expect((await hourlyTick()).jobs).toBe(1);
    await settleLatest();
  });

  it('reports the next run of each schedule', () => {
    const next = c.controller.trains()[0]?.nextRun;
    expect(next).toBeDefined();
    expect(new Date(next ?? '').getUTCMinutes()).toBe(0);
    expect(new Date(next ?? '').getTime()).toBeGreaterThan(c.clock.now().getTime());
  });
});

describe('TrainScheduler', () => {
  const train: TrainSpec = { name: 't', release: '2024.1', series: 'noble', components: [], rocks: [], ppas: [], packages: [], pocket: 'updates', attach: false, pin: 'latest', schedule: '0 2 * * *', timezone: 'Asia/Tokyo' };

  it('fires in the train\'s time zone and never runs two ticks of a train at once', async () => {
    const clock = new FakeCronClock('2026-11-02T16:58:00Z');
    const ticks: string[] = [];
    let release: (() => void) | undefined;
    const scheduler = new TrainScheduler(clock, {
      busy: () => false,
      check: async (): Promise<CheckResult> => {
        ticks.push(clock.now().toISOString());
        await new Promise<void>((resolve) => (release = resolve));
        return { changed: false, reasons: [], observation: { sources: {} } };
      },
      start: () => Promise.resolve(),
      log: () => undefined,
    });
    scheduler.apply([train]);
    expect(scheduler.nextRun(train)?.toISOString()).toBe('2026-11-02T17:00:00.000Z');
    const advancing = clock.advance(3 * 60_000);
    await waitFor('the 02:00 Tokyo tick', () => ticks.length === 1);
    // A second tick while the first is still checking is refused.
    expect(await scheduler.tick(train)).toBe('overlap');
    release?.();
    await advancing;
    expect(ticks).toEqual(['2026-11-02T17:00:00.000Z']);
    scheduler.stop();
    expect(clock.scheduled).toBe(0);
  });
});
