// Reconcile against a Sunbeam-shaped 2024.1 model: a patched cinder build is pushed to a real
// registry, attached by digest to app `cinder` through the juju stand-in, the stand-in pods move
// to it; a failing rollout is rolled back; a hand-made change is held; removing the train restores
// the originals; a second pass with nothing changed writes nothing.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FsStore } from '../../mirror/stores/fs.js';
import { IndexFetcher } from '../../src/archive/fetch-index.js';
import { getRelease } from '../../src/catalog/releases.js';
import { runBuild, type BuildRequest } from '../../src/build/pipeline.js';
import { RockcraftBuilder } from '../../src/build/rockcraft-builder.js';
import { AttachmentStateFile } from '../../src/deploy/attachment-state.js';
import type { AttachTrain } from '../../src/deploy/desired.js';
import { JujuClient } from '../../src/deploy/juju.js';
import { KubeClient } from '../../src/deploy/kube.js';
import { reconcileOnce, type ReconcilerDeps } from '../../src/deploy/reconciler.js';
import { parseRegistryTarget } from '../../src/registry/config.js';
import { UpstreamRocksRepo } from '../../src/rocks/upstream.js';
import { startAptArchive, type AptArchiveFixture } from '../fixtures/apt-archive-server.js';
import { JUJU_ENV, JUJU_STANDIN, ensureJujuStandinBuilt, readJujuInvocations } from '../fixtures/juju/standin.js';
import { SUNBEAM_CONTROLLER, SUNBEAM_MODEL } from '../fixtures/juju/sunbeam.js';
import { appState, kubeFixture, type KubeFixture } from '../fixtures/kube/harness.js';
import { manifestDigestOverHttp, registryAvailability, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { ROCKCRAFT_STANDIN, STANDIN_ENV, ensureRockcraftStandinBuilt } from '../fixtures/rockcraft/standin.js';
import { createRocksRepo } from '../fixtures/rocks-repo.js';
import { trainArchiveSpec, writeVersionsFile } from '../fixtures/train-archive.js';

const availability = registryAvailability();

describe.skipIf(!availability.available)(`reconcile a Sunbeam 2024.1 model${availability.reason ? ` (${availability.reason})` : ''}`, () => {
  let root: string;
  let apt: AptArchiveFixture;
  let registry: TestRegistry;
  let kube: KubeFixture;
  let store: FsStore;
  let deps: ReconcilerDeps;
  let jujuLog: string;
  let buildCinder: (extra?: Partial<BuildRequest>, env?: NodeJS.ProcessEnv) => ReturnType<typeof runBuild>;
  let clock = Date.parse('2026-11-03T09:00:00Z');
  const train: AttachTrain = { train: 'fix', release: 'caracal', series: 'noble', pin: 'latest' };

  beforeAll(async () => {
    ensureRockcraftStandinBuilt();
    ensureJujuStandinBuilt();
    root = await mkdtemp(join(tmpdir(), 'heliostat-reconcile-'));
    const repo = await createRocksRepo(join(root, 'upstream'), { branches: ['stable/2024.1'] });
    const { spec, versions } = trainArchiveSpec({ branch: 'stable/2024.1', series: 'noble', ppas: [{ owner: 'team', name: 'fix', sources: { cinder: '2:24.0.1-0ubuntu1~fix1' } }] });
    apt = await startAptArchive(spec);
    const versionsFile = await writeVersionsFile(join(root, 'versions.json'), versions);
    registry = await startRegistry();
    kube = await kubeFixture({ rolloutDelayMs: 150 });
    store = new FsStore(join(root, 'mirror'));
    jujuLog = join(root, 'juju.log');
    const upstream = new UpstreamRocksRepo({ url: repo.url, cacheDir: join(root, 'cache') });
    const target = parseRegistryTarget({ host: registry.host, namespace: 'heliostat', tlsVerify: false, retries: 1, retryDelayMs: 100 });
    buildCinder = (extra = {}, env = {}) =>
      runBuild(
        { train: 'fix', release: getRelease('caracal'), pocket: 'updates', ppas: [{ owner: 'team', name: 'fix' }], packages: [], components: ['cinder'], rocks: [], suffix: 'fix1', force: false, arch: 'amd64', ...extra },
        {
          upstream,
          fetcher: new IndexFetcher({ cacheDir: join(root, 'cache') }),
          archives: { ubuntu: apt.server.archiveUrl, cloud: apt.server.cloudUrl, ppa: apt.server.ppaUrl },
          builder: new RockcraftBuilder({ executable: ROCKCRAFT_STANDIN, workRoot: join(root, 'work'), env: { ...process.env, [STANDIN_ENV.aptVersions]: versionsFile, ...env } }),
          store,
          registry: { target },
          publish: true,
          workDir: join(root, `build-${clock}`),
          jobs: 2,
          timeoutMs: 30_000,
          now: () => new Date((clock += 60_000)),
        },
      );
    deps = {
      juju: new JujuClient({ executable: JUJU_STANDIN, controller: SUNBEAM_CONTROLLER, model: SUNBEAM_MODEL, env: { [JUJU_ENV.state]: kube.state, [JUJU_ENV.log]: jujuLog }, retries: 1, backoffMs: 50 }),
      kube: KubeClient.fromKubeconfig(kube.kubeconfig, { timeoutMs: 5000 }),
      store,
      state: new AttachmentStateFile(join(root, 'attachments.json'), SUNBEAM_MODEL),
      namespace: SUNBEAM_MODEL,
      rolloutTimeoutMs: 5000,
      pollMs: 50,
    };
  }, 120_000);

  afterAll(async () => {
    await kube?.close();
    await registry?.stop();
    await apt?.server.close();
    await rm(root, { recursive: true, force: true });
  });

  const writes = () => readJujuInvocations(jujuLog).filter((i) => i.command === 'attach-resource').length;
  const cinderImages = () => {
    const app = appState(kube.state, 'cinder');
    return { api: app?.resources['cinder-api-image']?.image, scheduler: app?.resources['cinder-scheduler-image']?.image };
  };

  it('attaches both cinder resources by digest and the pods move to it', async () => {
    const build = await buildCinder();
    expect(build.result, build.notes.join('; ')).toBe('success');
    const image = build.images.find((i) => i.rock === 'cinder-consolidated');
    expect(image?.ref).toMatch(new RegExp(`^${registry.host}/heliostat/cinder-consolidated@sha256:[0-9a-f]{64}$`));
    // The registry holds the dated and the latest tags on that digest.
    expect(await manifestDigestOverHttp(registry, 'heliostat/cinder-consolidated', `2024.1-fix-${build.buildId}`)).toBe(image?.digest);
    expect(await manifestDigestOverHttp(registry, 'heliostat/cinder-consolidated', '2024.1-fix-latest')).toBe(image?.digest);

    const result = await reconcileOnce([train], deps);
    expect(result.problems).toEqual([]);
    expect(result.actions.map((a) => `${a.kind} ${a.app} ${a.resource}`).sort()).toEqual(['attach cinder cinder-api-image', 'attach cinder cinder-scheduler-image']);
    expect(result.report?.apps).toEqual([expect.objectContaining({ app: 'cinder', result: 'attached' })]);
    expect(cinderImages()).toEqual({ api: image?.ref, scheduler: image?.ref });
    const pods = await deps.kube.listPods(SUNBEAM_MODEL);
    const digests = pods.filter((p) => p.app === 'cinder').flatMap((p) => p.containers.filter((c) => c.name !== 'cinder-volume').map((c) => c.digest));
    expect(new Set(digests)).toEqual(new Set([image?.digest]));
  });

  it('changes nothing on a second pass', async () => {
    const before = writes();
    const stateBefore = await stat(join(root, 'attachments.json'));
    const result = await reconcileOnce([train], deps);
    expect(result.actions).toEqual([]);
    expect(writes()).toBe(before);
    expect((await stat(join(root, 'attachments.json'))).mtimeMs).toBe(stateBefore.mtimeMs);
  });

  it('rolls a failing rollout back to what ran before', async () => {
    const previous = cinderImages();
    const build = await buildCinder({ suffix: 'fix2' });
    expect(build.result, build.notes.join('; ')).toBe('success');
    const image = build.images.find((i) => i.rock === 'cinder-consolidated');
    kube.server.injectFailure({ kind: 'image-pull', app: 'cinder', image: image?.digest });
    const result = await reconcileOnce([train], deps);
    expect(result.report?.apps).toEqual([expect.objectContaining({ app: 'cinder', result: 'rolled-back', reason: expect.stringMatching(/ImagePullBackOff|ErrImagePull/) as string })]);
    expect(cinderImages()).toEqual(previous);
    // Not retried on the next pass: the failed digest is held.
    kube.server.clearFailures();
    const again = await reconcileOnce([train], deps);
    expect(again.actions.every((a) => a.kind === 'hold')).toBe(true);
  });

  it('holds a hand-made change instead of overwriting it', async () => {
    const build = await buildCinder({ suffix: 'fix3' });
    expect(build.result).toBe('success');
    const hand = `${registry.host}/heliostat/cinder-consolidated@sha256:${'e'.repeat(64)}`;
    await kube.attach('cinder', 'cinder-api-image', hand);
    await new Promise((r) => setTimeout(r, 600));
    const before = writes();
    const result = await reconcileOnce([train], deps);
    expect(result.actions.find((a) => a.resource === 'cinder-api-image')).toMatchObject({ kind: 'hold', why: expect.stringMatching(/changed by hand/) as string });
    expect(appState(kube.state, 'cinder')?.resources['cinder-api-image']?.image).toBe(hand);
    expect(writes()).toBe(before + (result.actions.some((a) => a.kind === 'attach') ? 1 : 0));
  });

  it('restores the originals when the train is removed (forced past the hand-made change)', async () => {
    const state = await deps.state.load();
    const originals = Object.fromEntries(state.records.filter((r) => r.app === 'cinder').map((r) => [r.resource, r.original.ref]));
    const result = await reconcileOnce([], deps, { force: true });
    expect(result.actions.map((a) => a.kind)).toEqual(['restore', 'restore']);
    expect(result.report?.apps).toEqual([expect.objectContaining({ app: 'cinder', result: 'restored' })]);
    expect(cinderImages()).toEqual({ api: originals['cinder-api-image'], scheduler: originals['cinder-scheduler-image'] });
    expect((await reconcileOnce([], deps)).actions).toEqual([]);
  });
});
