// `heliostat serve` as a real process: SIGHUP with a bad file keeps the running configuration and
// says why; SIGKILL in the middle of a build and a restart leave the job `interrupted` and the
// mirror without a trace of it; SIGTERM lets a running build finish (or cancels it after the grace
// period) and keeps queued jobs for the next start.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ControllerConfigInput } from '../../src/controller/config-schema.js';
import type { Job } from '../../src/controller/types.js';
import { STANDIN_ENV } from '../fixtures/rockcraft/standin.js';
import { configDoc, startFixtures, TOKEN, waitFor, type Fixtures } from './harness.js';
import { ensureServeEntryBuilt, ServeProcess } from './serve-process.js';

let f: Fixtures;
const running: ServeProcess[] = [];
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };

beforeAll(async () => {
  f = await startFixtures();
  ensureServeEntryBuilt();
}, 120_000);

afterEach(async () => {
  for (const p of running.splice(0)) {
    p.signal('SIGKILL');
    await p.exited;
  }
  reapStandins();
});

afterAll(async () => {
  await f?.close();
});

const standinLog = () => join(f.root, 'standin.log');

/** Hanging stand-ins outlive a SIGKILLed controller (they run in their own process groups). */
function reapStandins(): void {
  let text = '';
  try {
    text = execFileSync('cat', [standinLog()], { encoding: 'utf8' });
  } catch {
    return;
  }
  for (const line of text.split('\n').filter(Boolean)) {
    const { pid, command } = JSON.parse(line) as { pid: number; command: string };
    if (command !== 'pack') continue;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

async function writeConfig(name: string, doc: ControllerConfigInput | string): Promise<string> {
  const path = join(f.root, `${name}.yaml`);
  await writeFile(path, typeof doc === 'string' ? doc : stringify(doc));
  return path;
}

function start(config: string, env: NodeJS.ProcessEnv = {}): ServeProcess {
  const p = new ServeProcess(['--config', config], { ...f.env, [STANDIN_ENV.log]: standinLog(), ...env }, f.root);
  running.push(p);
  return p;
}

async function api<T>(base: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(`${base}/api/v1${path}`, { method: init.method ?? 'GET', headers: auth, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
  const body = (await response.json()) as T;
  if (!response.ok) throw new Error(`${response.status} ${JSON.stringify(body)}`);
  return body;
}

const job = async (base: string, id: string) => (await api<{ job: Job }>(base, `/builds/${id}`)).job;

async function submit(base: string, requests: unknown[]): Promise<string[]> {
  const answer = await api<{ jobs: Array<{ id: string }> }>(base, '/builds', { method: 'POST', body: requests });
  return answer.jobs.map((j) => j.id);
}

/** The builds `heliostat mirror list --json` shows for the train's caracal/noble series. */
function mirrorBuilds(dataDir: string, train: string): Array<{ buildId: string; result: string }> {
  const list = (...path: string[]) => JSON.parse(execFileSync(process.execPath, [ensureServeEntryBuilt(), 'mirror', 'list', ...path, '--mirror', `fs:${join(dataDir, 'mirror')}`, '--json'], { encoding: 'utf8' })) as unknown;
  const trains = list() as Array<{ train: string }>;
  if (!trains.some((t) => t.train === train)) return [];
  return list(`${train}/2024.1/noble`) as Array<{ buildId: string; result: string }>;
}

// Each test starts the executable two or three times (about 2 s each) and runs real builds.
describe('heliostat serve', { timeout: 90_000 }, () => {
  it('keeps its configuration when a reload finds the file invalid, and says why', async () => {
    const doc = configDoc(f, { trains: [{ name: 'fix', release: 'caracal', components: ['cinder'] }] }, 'data-reload');
    const config = await writeConfig('reload', doc);
    const p = start(config);
    const base = await p.ready();
    type Status = { trains: Array<{ name: string }>; builder: { available: boolean }; juju: { available: boolean; error?: string }; config: { reloadError?: string } };
    const before = await api<Status>(base, '/status');
    expect(before).toMatchObject({ trains: [{ name: 'fix' }], builder: { available: true }, juju: { available: false, error: expect.stringMatching(/no-juju-here/) as string } });

    await writeConfig('reload', { ...doc, trains: [{ name: 'fix', release: 'nope' }] });
    p.signal('SIGHUP');
    await p.waitForLog((l) => l.msg.startsWith('configuration reload failed'));
    const kept = await api<Status>(base, '/status');
    expect(kept.trains).toEqual([expect.objectContaining({ name: 'fix' })]);
    expect(kept.config.reloadError).toMatch(/trains\.0\.release: unknown OpenStack release/);

    await writeConfig('reload', { ...doc, trains: [{ name: 'fix', release: 'caracal' }, { name: 'fix2', release: 'caracal' }] });
    p.signal('SIGHUP');
    await p.waitForLog((l) => l.msg === 'configuration reloaded');
    const after = await api<Status>(base, '/status');
    expect(after.trains.map((t) => t.name)).toEqual(['fix', 'fix2']);
    expect(after.config.reloadError).toBeUndefined();
    expect(p.output.join('')).not.toContain(TOKEN);
  });

  it('marks a build interrupted by SIGKILL and leaves no half build in the mirror', async () => {
    const dataDir = join(f.root, 'data-kill');
    const config = await writeConfig('kill', configDoc(f, {}, 'data-kill'));
    const first = start(config, { [STANDIN_ENV.hang]: '*' });
    const base = await first.ready();
    const [id = ''] = await submit(base, [{ release: 'caracal', rocks: ['cinder-api', 'keystone'] }]);
    await waitFor('a rock building', async () => (await job(base, id)).rocks.some((r) => r.state === 'building'));
    first.signal('SIGKILL');
    expect(await first.exited).toBeNull();
    reapStandins();

    const second = start(config);
    const again = await second.ready();
    const interrupted = await job(again, id);
    expect(interrupted).toMatchObject({ state: 'interrupted', error: expect.stringMatching(/nothing of it was published/) as string });
    expect(mirrorBuilds(dataDir, 'reference')).toEqual([]);
    const history = await api<{ entries: Array<{ action: string }> }>(again, '/history?action=build.interrupted');
    expect(history.entries).toHaveLength(1);

    const [retry = ''] = await submit(again, [{ release: 'caracal', rocks: ['cinder-api', 'keystone'] }]);
    await waitFor('the retry to succeed', async () => (await job(again, retry)).state === 'succeeded');
    expect(mirrorBuilds(dataDir, 'reference')).toEqual([expect.objectContaining({ result: 'success' })]);
  });

  it('on SIGTERM lets a running build finish and keeps queued jobs for the next start', async () => {
    const dataDir = join(f.root, 'data-drain');
    const config = await writeConfig('drain', configDoc(f, { drainGraceSeconds: 60 }, 'data-drain'));
    const p = start(config, { [STANDIN_ENV.sleepMs]: '1500' });
    const base = await p.ready();
    const [first = '', second = ''] = await submit(base, [{ release: 'caracal', rocks: ['keystone'] }, { release: 'caracal', train: 'other', rocks: ['keystone'] }]);
    await waitFor('the first build to run', async () => (await job(base, first)).state === 'running');
    p.signal('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(mirrorBuilds(dataDir, 'reference')).toEqual([expect.objectContaining({ result: 'success' })]);

    const q = start(config);
    const again = await q.ready();
    expect((await job(again, first)).state).toBe('succeeded');
    await waitFor('the queued job to run after the restart', async () => (await job(again, second)).state === 'succeeded');
    expect(mirrorBuilds(dataDir, 'other')).toHaveLength(1);
  });

  it('on SIGTERM cancels a build still running after the grace period; nothing is published', async () => {
    const dataDir = join(f.root, 'data-cancel');
    const config = await writeConfig('cancel', configDoc(f, { drainGraceSeconds: 1 }, 'data-cancel'));
    const p = start(config, { [STANDIN_ENV.hang]: '*' });
    const base = await p.ready();
    const [id = ''] = await submit(base, [{ release: 'caracal', rocks: ['keystone'] }]);
    await waitFor('a rock building', async () => (await job(base, id)).rocks.some((r) => r.state === 'building'));
    const stopping = Date.now();
    p.signal('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(15_000);
    const jobs = JSON.parse(await readFile(join(dataDir, 'controller', 'jobs.json'), 'utf8')) as { jobs: Array<{ job: Job }> };
    expect(jobs.jobs.find((r) => r.job.id === id)?.job).toMatchObject({ state: 'interrupted', error: expect.stringMatching(/stopped before this build finished/) as string });
    expect(mirrorBuilds(dataDir, 'reference')).toEqual([]);
  });
});
