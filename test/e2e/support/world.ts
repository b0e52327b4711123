// The world a story runs in: the real local parts (a git rocks repository, an apt archive over
// HTTP, a docker-registry, and the test run's Ceph RGW when given), the stand-ins (rockcraft and
// juju on PATH, a Kubernetes API whose pods follow a Sunbeam-shaped juju model), and the
// environment a controller process needs to find them — nothing of the test process leaks in
// beyond PATH, as under systemd. Stories start a controller on it from a configuration, either
// directly (`startController`) or through the charm (see charm-unit.ts).
import { readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { Client } from 'minio';
import type { RgwConnection } from '../../setup/rgw.js';
import { startFixtures, type Fixtures } from '../../controller/harness.js';
import { ensureBuilt } from '../../fixtures/build-on-demand.js';
import { JUJU_ENV, JUJU_STANDIN_BIN_DIR, ensureJujuStandinBuilt } from '../../fixtures/juju/standin.js';
import { kubeFixture, type KubeFixture, type KubeFixtureOptions } from '../../fixtures/kube/harness.js';
import { startRegistry, type TestRegistry } from '../../fixtures/registry.js';
import { REPO_ROOT, STANDIN_ENV } from '../../fixtures/rockcraft/standin.js';
import type { FixtureBranch } from '../../fixtures/rocks-repo.js';
import type { TrainArchiveOptions } from '../../fixtures/train-archive.js';
import { ControllerProcess } from './controller-process.js';
export { freePort } from '../../fixtures/ports.js';

/** The heliostat executable the charm's unit runs (`node <charm>/dist/src/cli/main.js`). */
export const HELIOSTAT_MAIN = join(REPO_ROOT, 'dist/src/cli/main.js');

function dirsUnder(top: string): string[] {
  const dirs = [top];
  for (const entry of readdirSync(join(REPO_ROOT, top), { recursive: true, withFileTypes: true })) {
    if (entry.isDirectory()) dirs.push(join(entry.parentPath, entry.name).slice(REPO_ROOT.length + 1));
  }
  return dirs;
}

/** Compiles the heliostat executable when dist/ is missing it or older than any source it imports. */
export function ensureHeliostatBuilt(): void {
  ensureBuilt(REPO_ROOT, 'src/cli/main.ts', [...dirsUnder('src'), ...dirsUnder('mirror')]);
}

export interface WorldOptions {
  branch?: FixtureBranch;
  series?: string;
  archive?: Partial<TrainArchiveOptions>;
  kube?: KubeFixtureOptions;
  /** The test run's RGW (`inject('rgw')`); a fresh bucket name is handed out for the story. */
  rgw?: RgwConnection | undefined;
}

export interface World {
  fixtures: Fixtures;
  registry: TestRegistry;
  kube: KubeFixture;
  rgw?: { connection: RgwConnection; bucket: string; client: Client };
  /** The environment of a controller process: PATH with the stand-ins first, and their controls. */
  env: NodeJS.ProcessEnv;
  /** Where the juju stand-in logs every invocation (one JSON line each). */
  jujuLog: string;
  close(): Promise<void>;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  ensureJujuStandinBuilt();
  ensureHeliostatBuilt();
  const fixtures = await startFixtures({ ...(options.branch ? { branch: options.branch } : {}), ...(options.series ? { series: options.series } : {}), ...(options.archive ? { archive: options.archive } : {}) });
  const registry = await startRegistry();
  const kube = await kubeFixture(options.kube);
  const jujuLog = join(fixtures.root, 'juju.log');
  const env: NodeJS.ProcessEnv = {
    PATH: [JUJU_STANDIN_BIN_DIR, process.env['PATH'] ?? '/usr/bin:/bin'].join(delimiter),
    LANG: 'C.UTF-8',
    [STANDIN_ENV.aptVersions]: fixtures.env[STANDIN_ENV.aptVersions],
    [JUJU_ENV.state]: kube.state,
    [JUJU_ENV.log]: jujuLog,
  };
  let rgw: World['rgw'];
  if (options.rgw) {
    const url = new URL(options.rgw.endpoint);
    const client = new Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false, pathStyle: true, region: options.rgw.region, accessKey: options.rgw.accessKey, secretKey: options.rgw.secretKey });
    rgw = { connection: options.rgw, bucket: `story-${process.pid}-${Date.now().toString(36)}`, client };
  }
  return {
    fixtures,
    registry,
    kube,
    ...(rgw ? { rgw } : {}),
    env,
    jujuLog,
    async close() {
      await kube.close();
      await registry.stop();
      await fixtures.close();
    },
  };
}

/** `heliostat serve --config FILE` on the world, as a real process (for stories that bypass the charm). */
export function startController(world: World, configFile: string, options: { env?: NodeJS.ProcessEnv; port?: number } = {}): Promise<ControllerProcess> {
  return ControllerProcess.start([process.execPath, HELIOSTAT_MAIN, 'serve', '--config', configFile], {
    env: { ...world.env, HOME: world.fixtures.root, ...options.env },
    cwd: world.fixtures.root,
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
}
