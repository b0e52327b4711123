// Shared fixtures of the controller tests: a real upstream rocks repository, a real apt archive
// served over HTTP (counting requests), the rockcraft stand-in, and a controller configuration
// pointing at them; plus a controller opened in-process on a fake clock.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../../mirror/stores/fs.js';
import { resolveControllerConfig, type ControllerConfig } from '../../src/controller/config.js';
import type { ControllerConfigInput } from '../../src/controller/config-schema.js';
import { Controller } from '../../src/controller/controller.js';
import type { Job } from '../../src/controller/types.js';
import { startAptArchive, type AptArchiveFixture } from '../fixtures/apt-archive-server.js';
import { ROCKCRAFT_STANDIN, STANDIN_ENV, ensureRockcraftStandinBuilt } from '../fixtures/rockcraft/standin.js';
import { createRocksRepo, type FixtureBranch, type RocksRepo } from '../fixtures/rocks-repo.js';
import { trainArchiveSpec, writeVersionsFile, type TrainArchiveOptions } from '../fixtures/train-archive.js';
import { FakeCronClock } from './fake-cron.js';

export const TOKEN = 'ops-token-0123456789abcdef';

export interface Fixtures {
  root: string;
  repo: RocksRepo;
  apt: AptArchiveFixture;
  /** Environment of the rockcraft stand-in (its apt versions). */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

export async function startFixtures(options: { branch?: FixtureBranch; series?: string; archive?: Partial<TrainArchiveOptions> } = {}): Promise<Fixtures> {
  ensureRockcraftStandinBuilt();
  const branch = options.branch ?? 'stable/2024.1';
  const root = await mkdtemp(join(tmpdir(), 'heliostat-controller-'));
  const repo = await createRocksRepo(join(root, 'upstream'), { branches: [branch] });
  const { spec, versions } = trainArchiveSpec({ branch, series: options.series ?? 'noble', ...options.archive });
  const apt = await startAptArchive(spec);
  const env = { ...process.env, [STANDIN_ENV.aptVersions]: await writeVersionsFile(join(root, 'versions.json'), versions) };
  return {
    root,
    repo,
    apt,
    env,
    close: async () => {
      await apt.server.close();
      await rm(root, { recursive: true, force: true });
      await rm(apt.archive.root, { recursive: true, force: true });
    },
  };
}

/** A configuration document for the fixtures; `extra` is merged over it. */
export function configDoc(f: Fixtures, extra: ControllerConfigInput = {}, dataDir = 'data'): ControllerConfigInput {
  return {
    dataDir: join(f.root, dataDir),
    listen: '127.0.0.1:0',
    upstream: { url: f.repo.url },
    archives: { ubuntu: f.apt.server.archiveUrl, cloud: f.apt.server.cloudUrl, ppa: f.apt.server.ppaUrl },
    builder: { rockcraft: ROCKCRAFT_STANDIN, timeoutSeconds: 60 },
    juju: { executable: join(f.root, 'no-juju-here') },
    kubeconfig: join(f.root, 'no-kubeconfig'),
    tokens: [{ name: 'ops', token: TOKEN }],
    ...extra,
  };
}

export interface OpenedController {
  controller: Controller;
  config: ControllerConfig;
  store: FsStore;
  clock: FakeCronClock;
  lsRemotes: () => number;
}

export async function openController(f: Fixtures, doc: ControllerConfigInput, options: { env?: NodeJS.ProcessEnv; clock?: FakeCronClock } = {}): Promise<OpenedController> {
  const config = await resolveControllerConfig(doc, { baseDir: f.root, env: {} });
  const store = new FsStore(config.mirror.spec.slice(3));
  const clock = options.clock ?? new FakeCronClock('2026-11-02T00:30:00Z');
  let lsRemotes = 0;
  const controller = new Controller(config, {
    store,
    clock,
    env: options.env ?? f.env,
    arch: 'amd64',
    version: 'test',
    onUpstream: (e) => (lsRemotes += e.op === 'ls-remote' ? 1 : 0),
  });
  await controller.start();
  return { controller, config, store, clock, lsRemotes: () => lsRemotes };
}

const TERMINAL = ['succeeded', 'failed', 'cancelled', 'interrupted'];

export async function waitFor<T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function waitForJob(controller: Controller, id: string, timeoutMs = 30_000): Promise<Job> {
  return waitFor(`job ${id} to end`, () => {
    const job = controller.job(id);
    return job && TERMINAL.includes(job.state) ? job : undefined;
  }, timeoutMs);
}
