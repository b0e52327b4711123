// The controller in-process against the fixture repository, apt archive and rockcraft stand-in:
// submit validation (all or nothing), a build from request to mirror with live events and an audit
// trail, cancellation before and during a build (nothing published), promotion and pins, missing
// tools reported in the status, followers refusing writes, and retention after a publish.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBuilds, resolveRef } from '../../mirror/query.js';
import { listPins } from '../../mirror/lifecycle.js';
import { isUsageError } from '../../src/errors.js';
import { ControllerStateError } from '../../src/controller/controller.js';
import type { ControllerEvent, JobEvent } from '../../src/controller/types.js';
import { STANDIN_ENV } from '../fixtures/rockcraft/standin.js';
import { configDoc, openController, startFixtures, TOKEN, waitFor, waitForJob, type Fixtures, type OpenedController } from './harness.js';

let f: Fixtures;
let c: OpenedController;
const events: ControllerEvent[] = [];
const TS = { train: 'fix', release: '2024.1', series: 'noble' };

beforeAll(async () => {
  f = await startFixtures({ archive: { ppas: [{ owner: 'team', name: 'fix', sources: { cinder: '2:24.0.1-0ubuntu1~fix1' } }] } });
  const doc = configDoc(f, {
    trains: [{ name: 'fix', release: 'caracal', components: ['cinder'], ppas: ['ppa:team/fix'], suffix: 'fix1', retention: { keepMax: 2 } }],
  });
  c = await openController(f, doc);
  c.controller.onEvent((e) => events.push(e));
}, 60_000);

afterAll(async () => {
  await c?.controller.drain(0);
  await f?.close();
});

describe('submit validation', () => {
  it.each([
    [[{ release: 'nope' }], /request: release: unknown release 'nope'/],
    [[{ release: 'caracal', train: 'fix', ppas: ['ppa:a/b;rm -rf /'] }], /request: ppas\.0: invalid PPA "ppa:a\/b;rm -rf \/": must not contain whitespace/],
    [[{ release: 'caracal', rocks: ['../../etc/passwd'] }], /request: rocks\.0: invalid rock name/],
    [[{ release: 'caracal', components: ['Cinder!'] }], /request: components\.0: invalid Debian package name/],
    [[{ release: 5 }], /request: release: Invalid input: expected string, received number/],
    [[{ release: 'caracal', force: 'yes' }], /request: force: Invalid input: expected boolean/],
    [[{ release: 'caracal', shell: 'rm -rf /' }], /request: \(request\): Unrecognized key: "shell"/],
    [[{ release: 'caracal', series: 'focal' }], /request: series: release caracal cannot be built on focal/],
    [[{ release: 'caracal', ppas: ['ppa:team/fix'] }], /request: train: a request with ppas, packages or suffix needs a train name/],
    [[{ release: 'caracal', train: 'reference', packages: ['vim'] }], /request: train: train reference is unpatched/],
    [[{ release: 'caracal', train: 'Bad_Train' }], /request: train: invalid train "Bad_Train"/],
    [[{ release: 'caracal', callback: 'http://example.com/hook' }], /request: callback: must be an https URL/],
    [[{ release: 'caracal' }, { release: 'nope' }], /^invalid build request: request 2: release: unknown release/],
    [[], /expected a non-empty list/],
  ])('refuses %j, queueing nothing', async (requests, message) => {
    const before = c.controller.jobs().length;
    const error = await c.controller.submit(requests, 'api', 'ops').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isUsageError(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect(c.controller.jobs()).toHaveLength(before);
  });
});

describe('a build from request to mirror', () => {
  it('fills in the configured train, streams its progress, publishes, and audits it', async () => {
    const [queued] = await c.controller.submit([{ release: 'caracal', train: 'fix' }], 'api', 'ops');
    expect(queued).toMatchObject({ state: 'queued', trigger: 'api', request: { train: 'fix', release: '2024.1', series: 'noble', components: ['cinder'], ppas: ['ppa:team/fix'], suffix: 'fix1', pocket: 'updates' } });
    const seen: JobEvent[] = [];
    c.controller.subscribe(queued?.id ?? '', (e) => seen.push(e));
    const job = await waitForJob(c.controller, queued?.id ?? '');
    expect(job).toMatchObject({ state: 'succeeded', result: 'success' });
    expect(job.rocks.map((r) => `${r.rock}:${r.state}`)).toEqual(['cinder-api:built', 'cinder-consolidated:built', 'cinder-scheduler:built', 'cinder-volume:built']);
    expect(seen[0]).toMatchObject({ type: 'job', job: { id: queued?.id } });
    expect(seen.filter((e) => e.type === 'rock').map((e) => e.type === 'rock' && e.rock.state)).toEqual(expect.arrayContaining(['building', 'built']));
    expect(seen.some((e) => e.type === 'log' && e.lines.length > 0)).toBe(true);
    // The job reads as ended a moment before its last event is out.
    await waitFor('the final job event', () => seen.at(-1)?.type === 'job');
    expect(seen.at(-1)).toMatchObject({ type: 'job', job: { state: 'succeeded' } });
    expect((await resolveRef(c.store, 'fix/2024.1/noble/latest')).buildId).toBe(job.buildId);
    await waitFor('build-finished', () => events.some((e) => e.type === 'build-finished'));
    expect(events).toEqual(expect.arrayContaining([{ type: 'published', ...TS, buildId: job.buildId, result: 'success' }, expect.objectContaining({ type: 'build-finished' })]));
    const actions = c.controller.history({ limit: 10 }).map((e) => `${e.actor} ${e.action} ${e.target}`);
    expect(actions).toEqual(expect.arrayContaining(['ops build.submit fix/2024.1/noble', `ops publish fix/2024.1/noble/${job.buildId}`, 'ops build.finish fix/2024.1/noble']));
    expect(c.controller.trains()[0]).toMatchObject({ name: 'fix', latestBuild: job.buildId, lastRun: { jobId: job.id, state: 'succeeded' } });
  });

  it('cancels a queued job and a running one; nothing of either is published', async () => {
    const hanging = await openController(f, configDoc(f, { trains: [{ name: 'hang', release: 'caracal', rocks: ['cinder-api'] }] }, 'data-hang'), { env: { ...f.env, [STANDIN_ENV.hang]: '*' } });
    try {
      const [running, waiting] = await hanging.controller.submit([{ release: 'caracal', train: 'hang' }, { release: 'caracal', train: 'hang', force: true }], 'api', 'ops');
      await waitFor('a rock to be building', () => hanging.controller.job(running?.id ?? '')?.rocks.some((r) => r.state === 'building'));
      expect(hanging.controller.job(waiting?.id ?? '')?.state).toBe('queued');
      expect(await hanging.controller.cancel(waiting?.id ?? '', 'ops')).toBe(true);
      expect(hanging.controller.job(waiting?.id ?? '')).toMatchObject({ state: 'cancelled', error: 'cancelled by ops before it started' });
      expect(await hanging.controller.cancel(running?.id ?? '', 'ops')).toBe(true);
      const ended = await waitForJob(hanging.controller, running?.id ?? '');
      expect(ended.state).toBe('cancelled');
      expect(ended.buildId).toBeUndefined();
      expect(await hanging.controller.cancel(running?.id ?? '', 'ops')).toBe(false);
      expect((await listBuilds(hanging.store, { train: 'hang', release: '2024.1', series: 'noble' })).builds).toEqual([]);
      expect(hanging.controller.history({ action: 'build.cancel' })).toHaveLength(2);
    } finally {
      await hanging.controller.drain(0);
    }
  });

  it('keeps at most the configured builds of the train after each publish', async () => {
    for (let i = 0; i < 2; i++) {
      const [job] = await c.controller.submit([{ release: 'caracal', train: 'fix', force: true }], 'api', 'ops');
      expect((await waitForJob(c.controller, job?.id ?? '')).state).toBe('succeeded');
    }
    await waitFor('retention', () => c.controller.history({ action: 'retention' }).length > 0);
    expect((await listBuilds(c.store, TS)).builds).toHaveLength(2);
    expect(c.controller.history({ action: 'retention' })[0]).toMatchObject({ target: 'fix/2024.1/noble', detail: { deleted: [expect.any(String)] } });
  });
});

describe('promotion and pins', () => {
  it('promotes, pins and unpins through the mirror, with events and audit entries', async () => {
    const latest = (await resolveRef(c.store, 'fix/2024.1/noble/latest')).buildId;
    expect(await c.controller.promote('fix/caracal/noble/latest', 'ops')).toEqual({ ref: 'fix/2024.1/noble/latest', buildId: latest });
    expect((await resolveRef(c.store, 'fix/2024.1/noble/stable')).buildId).toBe(latest);
    const pinned = await c.controller.pin('fix/2024.1/noble/stable', 'prod', { note: 'what prod runs' }, 'ops');
    expect(pinned.buildId).toBe(latest);
    expect((await listPins(c.store, TS)).map((p) => p.name)).toEqual(['prod']);
    await c.controller.unpin('fix/caracal/noble', 'prod', 'ops');
    expect(await listPins(c.store, TS)).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['promoted', 'pinned', 'unpinned']));
    expect(c.controller.history({ limit: 3 }).map((e) => e.action)).toEqual(['unpin', 'pin', 'promote']);
    await expect(c.controller.unpin('fix/2024.1/noble', 'prod', 'ops')).rejects.toThrow(/no pin named prod/);
    await expect(c.controller.pin('fix/2024.1/noble/latest', 'Bad Name', {}, 'ops')).rejects.toThrow(/invalid pin name/);
    await expect(c.controller.promote('fix/2024.1/noble/20000101T000000Z', 'ops')).rejects.toThrow(/no such build/);
  });
});

describe('status', () => {
  it('reports the builder, a missing juju, the queue and never a secret', async () => {
    const status = await c.controller.status();
    expect(status).toMatchObject({ version: 'test', leader: true, queue: { queued: 0, running: 0 }, builder: { available: true, version: expect.stringMatching(/rockcraft/) as string } });
    expect(status.juju).toEqual({ available: false, error: expect.stringMatching(/no-juju-here/) as string });
    expect(status.reconcile.enabled).toBe(false);
    expect(status.mirror.location).toContain(join(f.root, 'data', 'mirror'));
    const audit = await readFile(join(c.config.dataDir, 'controller', 'audit.jsonl'), 'utf8');
    for (const text of [JSON.stringify(status), audit, JSON.stringify(c.controller.jobs())]) expect(text).not.toContain(TOKEN);
  });

  it('says rockcraft is missing instead of crashing, and its builds fail with the reason', async () => {
    const doc = configDoc(f, { builder: { rockcraft: join(f.root, 'no-rockcraft') }, trains: [{ name: 'nb', release: 'caracal', rocks: ['keystone'], schedule: '0 * * * *' }] }, 'data-norockcraft');
    const missing = await openController(f, doc);
    try {
      const status = await missing.controller.status();
      expect(status.builder).toEqual({ available: false, error: expect.stringMatching(/cannot run .*no-rockcraft: not found on PATH/) as string });
      // A tick that finds a change does not queue a build that could only fail; it says why.
      expect(await missing.controller.tick(missing.config.trains[0]!)).toBe('error');
      expect(missing.controller.jobs()).toEqual([]);
      expect(missing.controller.trains()[0]?.lastCheck).toMatchObject({ outcome: 'error', error: expect.stringMatching(/changed, but not building: .*not found on PATH/) as string });
      const [job] = await missing.controller.submit([{ release: 'caracal', rocks: ['keystone'] }], 'api', 'ops');
      const ended = await waitForJob(missing.controller, job?.id ?? '');
      expect(ended).toMatchObject({ state: 'failed', error: expect.stringMatching(/no-rockcraft: not found on PATH/) as string });
    } finally {
      await missing.controller.drain(0);
    }
  });

  it('reconcile without a cluster fails with a clear message, recorded in the status', async () => {
    await expect(c.controller.reconcile({ dryRun: true }, 'ops')).rejects.toThrow(/cannot read kubeconfig .*no-kubeconfig/);
    expect((await c.controller.status()).reconcile.lastResult).toMatch(/^failed: cannot read kubeconfig/);
  });
});

describe('a follower', () => {
  it('answers reads and refuses writes', async () => {
    const follower = await openController(f, configDoc(f, { leader: false, trains: [{ name: 'fix', release: 'caracal', schedule: '* * * * *' }] }, 'data'));
    try {
      expect(follower.controller.trains()).toEqual([expect.objectContaining({ name: 'fix' })]);
      expect(follower.controller.trains()[0]?.nextRun).toBeUndefined();
      expect(follower.clock.scheduled).toBe(0);
      const error = await follower.controller.submit([{ release: 'caracal' }], 'api', 'ops').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ControllerStateError);
      expect(error).toMatchObject({ statusCode: 409, message: expect.stringMatching(/not the leader/) as string });
      await expect(follower.controller.promote('fix/2024.1/noble/latest', 'ops')).rejects.toThrow(/not the leader/);
      expect((await follower.controller.status()).leader).toBe(false);
    } finally {
      await follower.controller.drain(0);
    }
  });
});
