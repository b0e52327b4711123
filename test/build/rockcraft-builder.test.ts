import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BuildFailure } from '../../src/build/builder.js';
import { readOciArchive } from '../../src/build/oci-archive.js';
import { RockcraftBuilder, classify } from '../../src/build/rockcraft-builder.js';
import { runBuilds, summarise } from '../../src/build/runner.js';
import { ROCKCRAFT_STANDIN, STANDIN_ENV, ensureRockcraftStandinBuilt } from '../fixtures/rockcraft/standin.js';

const yaml = (name: string, version = '"2024.1"') => `name: ${name}
summary: test
description: test
license: Apache-2.0
version: ${version}
base: ubuntu@24.04
platforms:
  amd64:
parts:
  ${name}:
    plugin: nil
    overlay-packages:
      - sudo
`;

/** True while the process exists and is not a zombie waiting for a reaper. */
async function isRunning(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  return stat !== '' && !/^\d+ \(.*\) Z/.test(stat);
}

let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  ensureRockcraftStandinBuilt();
  dir = await mkdtemp(join(tmpdir(), 'heliostat-builder-'));
  await writeFile(join(dir, 'apt.json'), JSON.stringify({ sudo: '1.9.15p5-3ubuntu5' }));
  env = { ...process.env, [STANDIN_ENV.aptVersions]: join(dir, 'apt.json') };
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

const builder = (extra: NodeJS.ProcessEnv = {}) =>
  new RockcraftBuilder({ executable: ROCKCRAFT_STANDIN, workRoot: join(dir, 'work'), env: { ...env, ...extra }, killGraceMs: 200 });

const job = (rock: string, files: Record<string, string> = { 'rockcraft.yaml': yaml(rock) }) => ({
  rock,
  files,
  logFile: join(dir, `${rock}.log`),
  outputDir: join(dir, 'out'),
  timeoutMs: 20_000,
});

describe('RockcraftBuilder', () => {
  it('packs a rock from the rendered yaml and keeps its log', async () => {
    const artifact = await builder().build(job('keystone'));
    expect(artifact.rockFile).toBe(join(dir, 'out', 'keystone_2024.1_amd64.rock'));
    const info = await readOciArchive(artifact.rockFile);
    expect(info.manifestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await readFile(join(dir, 'keystone.log'), 'utf8')).toContain('Packed keystone_2024.1_amd64.rock');
  });

  it('reports its version', async () => {
    expect(await builder({ [STANDIN_ENV.rockcraftVersion]: '1.9.9' }).version()).toBe('rockcraft 1.9.9');
  });

  it('classifies an invalid rockcraft.yaml as a config failure', async () => {
    const failure = await builder().build(job('bad', { 'rockcraft.yaml': yaml('bad', '2023.1') })).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(BuildFailure);
    expect((failure as BuildFailure).failureClass).toBe('config');
  });

  it('classifies a failing build as a build failure', async () => {
    const failure = (await builder({ [STANDIN_ENV.fail]: 'nova-api' }).build(job('nova-api')).catch((e: unknown) => e)) as BuildFailure;
    expect(failure.failureClass).toBe('build');
    expect(failure.message).toMatch(/exited 1/);
  });

  it('kills the whole process group on timeout', async () => {
    const logFile = join(dir, 'invocations.jsonl');
    const failure = (await builder({ [STANDIN_ENV.hang]: '*', [STANDIN_ENV.log]: logFile })
      .build({ ...job('glance-api'), timeoutMs: 500 })
      .catch((e: unknown) => e)) as BuildFailure;
    expect(failure.failureClass).toBe('timeout');
    const lines = (await readFile(logFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { childPid?: number });
    const child = lines.find((l) => l.childPid)?.childPid;
    expect(child).toBeTypeOf('number');
    await new Promise((r) => setTimeout(r, 400));
    expect(await isRunning(child ?? 0)).toBe(false);
  });

  it('cancels on abort', async () => {
    const controller = new AbortController();
    const pending = builder({ [STANDIN_ENV.hang]: '*' }).build({ ...job('horizon'), signal: controller.signal });
    setTimeout(() => controller.abort(), 300);
    const failure = (await pending.catch((e: unknown) => e)) as BuildFailure;
    expect(failure.failureClass).toBe('cancelled');
  });

  it('reports a missing executable as infra', async () => {
    const missing = new RockcraftBuilder({ executable: join(dir, 'no-such-rockcraft'), workRoot: dir });
    const failure = (await missing.build(job('x')).catch((e: unknown) => e)) as BuildFailure;
    expect(failure.failureClass).toBe('infra');
    await expect(missing.version()).rejects.toThrow(/cannot run/);
  });

  it('rejects build file names with a path', async () => {
    const failure = (await builder().build(job('p', { 'rockcraft.yaml': yaml('p'), '../evil': 'x' })).catch((e: unknown) => e)) as BuildFailure;
    expect(failure.failureClass).toBe('config');
  });
});

describe('runBuilds', () => {
  it('runs every rock, one failure does not stop the others, reuse skips the builder', async () => {
    const items = ['aodh-api', 'aodh-evaluator', 'aodh-notifier', 'aodh-listener'].map((rock) => ({
      rock,
      files: { 'rockcraft.yaml': yaml(rock) },
      logFile: join(dir, `${rock}.log`),
      reuse: rock === 'aodh-listener',
    }));
    const events: string[] = [];
    const results = await runBuilds(items, builder({ [STANDIN_ENV.fail]: 'aodh-evaluator' }), {
      jobs: 2,
      timeoutMs: 20_000,
      outputDir: join(dir, 'run'),
      onEvent: (e) => events.push(e.type === 'start' ? `start ${e.rock}` : `${e.result.outcome} ${e.result.rock}`),
    });
    const summary = summarise(results);
    expect(summary.built.sort()).toEqual(['aodh-api', 'aodh-notifier']);
    expect(summary.reused).toEqual(['aodh-listener']);
    expect(summary.failed).toEqual([{ rock: 'aodh-evaluator', failureClass: 'build', error: expect.stringMatching(/exited 1/) as string }]);
    expect(events).toContain('reused aodh-listener');
    expect(events.filter((e) => e.startsWith('start'))).toHaveLength(3);
  });
});

describe('classify', () => {
  it.each([
    ['Bad rockcraft.yaml content:\n- input should be a valid string', 'config'],
    ['E: Unable to locate package foo', 'config'],
    ['LXD is not installed', 'infra'],
    ['Failed to run the build script for part', 'build'],
  ])('%j → %s', (text, cls) => expect(classify(text)).toBe(cls));
});
