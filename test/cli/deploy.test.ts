// The operator's path through the built binary: build a patched cinder with --registry, attach it
// to the Sunbeam model, read status, reconcile (nothing to do), detach (originals back).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAptArchive, type AptArchiveFixture } from '../fixtures/apt-archive-server.js';
import { JUJU_ENV, JUJU_STANDIN, ensureJujuStandinBuilt } from '../fixtures/juju/standin.js';
import { SUNBEAM_CONTROLLER } from '../fixtures/juju/sunbeam.js';
import { appState, kubeFixture, type KubeFixture } from '../fixtures/kube/harness.js';
import { registryAvailability, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { ROCKCRAFT_STANDIN, STANDIN_ENV, ensureRockcraftStandinBuilt } from '../fixtures/rockcraft/standin.js';
import { createRocksRepo } from '../fixtures/rocks-repo.js';
import { trainArchiveSpec, writeVersionsFile } from '../fixtures/train-archive.js';
import { heliostat } from './helpers.js';

const availability = registryAvailability();

describe.skipIf(!availability.available)(`attach, status, reconcile, detach${availability.reason ? ` (${availability.reason})` : ''}`, () => {
  let root: string;
  let apt: AptArchiveFixture;
  let registry: TestRegistry;
  let kube: KubeFixture;
  let env: NodeJS.ProcessEnv;
  let common: string[];
  let deploy: string[];

  beforeAll(async () => {
    ensureRockcraftStandinBuilt();
    ensureJujuStandinBuilt();
    root = await mkdtemp(join(tmpdir(), 'heliostat-cli-deploy-'));
    const repo = await createRocksRepo(join(root, 'upstream'), { branches: ['stable/2024.1'] });
    const { spec, versions } = trainArchiveSpec({ branch: 'stable/2024.1', series: 'noble', ppas: [{ owner: 'team', name: 'fix', sources: { cinder: '2:24.0.1-0ubuntu1~fix1' } }] });
    apt = await startAptArchive(spec);
    registry = await startRegistry();
    kube = await kubeFixture({ rolloutDelayMs: 150 });
    env = { ...process.env, [STANDIN_ENV.aptVersions]: await writeVersionsFile(join(root, 'versions.json'), versions), [JUJU_ENV.state]: kube.state };
    common = ['--cache-dir', join(root, 'cache'), '--mirror', `fs:${join(root, 'mirror')}`, '--data-dir', join(root, 'data')];
    deploy = ['--juju', JUJU_STANDIN, '--controller', SUNBEAM_CONTROLLER, '--kubeconfig', kube.kubeconfig, '--timeout', '10'];
    const build = await heliostat([
      'build', '--release', 'caracal', '--train', 'fix', '--component', 'cinder', '--ppa', 'ppa:team/fix', '--suffix', 'fix1',
      '--publish', '--registry', `${registry.host}/heliostat`, '--registry-insecure', '--rockcraft', ROCKCRAFT_STANDIN, '--json',
      '--rocks-repo', repo.url, '--ubuntu-archive', apt.server.archiveUrl, '--cloud-archive', apt.server.cloudUrl, '--ppa-archive', apt.server.ppaUrl, ...common,
    ], { env });
    if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr}`);
  }, 120_000);

  afterAll(async () => {
    await kube?.close();
    await registry?.stop();
    await apt?.server.close();
    await rm(root, { recursive: true, force: true });
  });

  const image = (resource: string) => appState(kube.state, 'cinder')?.resources[resource]?.image;

  it('attaches the build to app cinder and reports it in status', async () => {
    const original = image('cinder-api-image');
    const dry = await heliostat(['attach', 'fix/caracal/noble/latest', '--dry-run', ...deploy, ...common], { env });
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^would attach\s+cinder\s+cinder-api-image/m);
    expect(image('cinder-api-image')).toBe(original);

    const r = await heliostat(['attach', 'fix/caracal/noble/latest', ...deploy, ...common], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^cinder: attached$/m);
    expect(image('cinder-api-image')).toMatch(new RegExp(`^${registry.host}/heliostat/cinder-consolidated@sha256:`));
    expect(image('cinder-scheduler-image')).toBe(image('cinder-api-image'));

    const status = await heliostat(['status', '--json', ...deploy, ...common], { env });
    expect(status.exitCode, status.stderr).toBe(0);
    const rows = (JSON.parse(status.stdout) as { resources: Array<{ app: string; resource: string; state: string }> }).resources;
    expect(rows.filter((x) => x.app === 'cinder').map((x) => `${x.resource} ${x.state}`).sort()).toEqual(['cinder-api-image attached', 'cinder-scheduler-image attached']);
  });

  it('reconciles to nothing when nothing changed', async () => {
    const r = await heliostat(['reconcile', ...deploy, ...common], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/nothing to do/);
  });

  it('detaches, restoring the originals', async () => {
    const r = await heliostat(['detach', 'fix', ...deploy, ...common], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^cinder: restored$/m);
    expect(image('cinder-api-image')).toMatch(/^ghcr\.io\/canonical\/cinder-consolidated@sha256:/);
  });

  it.each([
    [['attach', 'fix/caracal/noble/../x'], /invalid|expected/],
    [['attach', 'fix/havana/noble/latest'], /unknown release 'havana'|release/],
    [['detach', 'nope'], /train 'nope' is not attached/],
    [['attach', 'fix/caracal/noble/latest', '--model', 'Bad Model'], /invalid model name/],
  ])('rejects %j with exit 2', async (args, message) => {
    const before = image('cinder-api-image');
    const r = await heliostat([...args, ...deploy, ...common], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(image('cinder-api-image')).toBe(before);
  });
});
