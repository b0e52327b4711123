// A controller train with `builder: kubernetes`, end to end: its rocks are packed by Jobs on the
// Kubernetes API stand-in (pods running the rockcraft stand-in, uploading to the real RGW through
// presigned URLs), published to the S3 mirror, pushed to a real registry and attached in the
// Sunbeam-shaped model, with the same rock bytes a local build of the same inputs gives. Then a
// controller stopped mid-build leaves its Jobs running, and the next controller re-attaches to
// them: exactly one Job per rock.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { BuildRecord } from '../../mirror/build-record.js';
import { readAlias, readBuildRecord } from '../../mirror/series.js';
import { S3Store } from '../../mirror/stores/s3.js';
import { resolveControllerConfig } from '../../src/controller/config.js';
import type { ControllerConfigInput } from '../../src/controller/config-schema.js';
import { Controller } from '../../src/controller/controller.js';
import type { ControllerEvent } from '../../src/controller/types.js';
import { FakeCronClock } from '../controller/fake-cron.js';
import { configDoc, startFixtures, waitFor, waitForJob, type Fixtures } from '../controller/harness.js';
import { JUJU_ENV, JUJU_STANDIN, ensureJujuStandinBuilt } from '../fixtures/juju/standin.js';
import { SUNBEAM_CONTROLLER, SUNBEAM_MODEL } from '../fixtures/juju/sunbeam.js';
import { appState, kubeFixture, type KubeFixture } from '../fixtures/kube/harness.js';
import { POD_SETTINGS } from '../fixtures/kube/job-builder.js';
import { registryAvailability, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { ROCKCRAFT_STANDIN_BIN_DIR, STANDIN_ENV } from '../fixtures/rockcraft/standin.js';
import { RGW_SKIP_REASON } from '../setup/rgw.js';

const rgw = inject('rgw');
const availability = registryAvailability();
const skip = !rgw ? RGW_SKIP_REASON : availability.reason;

// Each case packs, uploads, pushes and attaches a whole train twice over real sockets: minutes, not seconds, on a busy machine.
describe.skipIf(!rgw || !availability.available)(`a train built by Kubernetes Jobs${skip ? ` (${skip})` : ''}`, { timeout: 180_000 }, () => {
  let f: Fixtures;
  let registry: TestRegistry;
  let kube: KubeFixture;
  let store: S3Store;
  let doc: ControllerConfigInput;
  const podEnv: Record<string, string> = {};
  const bucket = `kube-train-${randomBytes(4).toString('hex')}`;
  const controllers: Controller[] = [];
  const events: ControllerEvent[] = [];

  const jobCreates = () => kube.server.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/jobs')).length;

  async function open(): Promise<Controller> {
    const config = await resolveControllerConfig(doc, { baseDir: f.root, env: {} });
    const controller = new Controller(config, {
      store,
      clock: new FakeCronClock('2026-11-02T00:30:00Z'),
      env: { ...f.env, [JUJU_ENV.state]: kube.state, [JUJU_ENV.log]: join(f.root, 'juju.log') },
      arch: 'amd64',
      version: 'test',
    });
    await controller.start();
    controller.onEvent((e) => events.push(e));
    controllers.push(controller);
    return controller;
  }

  async function build(controller: Controller, train: string, force = false): Promise<{ buildId: string; record: BuildRecord }> {
    const [queued] = await controller.submit([{ release: 'caracal', train, attach: train === 'fix', force }], 'api', 'ops');
    const job = await waitForJob(controller, queued?.id ?? '', 90_000);
    expect(job.state, job.error).toBe('succeeded');
    const ts = { train, release: '2024.1', series: 'noble' };
    expect(await readAlias(store, ts, 'latest')).toBe(job.buildId);
    return { buildId: job.buildId ?? '', record: (await readBuildRecord(store, ts, job.buildId ?? ''))! };
  }

  beforeAll(async () => {
    if (!rgw || !availability.available) return;
    ensureJujuStandinBuilt();
    f = await startFixtures({ archive: { ppas: [{ owner: 'team', name: 'fix', sources: { cinder: '2:24.0.1-0ubuntu1~fix1' } }] } });
    podEnv[STANDIN_ENV.aptVersions] = f.env[STANDIN_ENV.aptVersions] ?? '';
    registry = await startRegistry();
    kube = await kubeFixture({ rolloutDelayMs: 150, jobPods: { path: [ROCKCRAFT_STANDIN_BIN_DIR], env: podEnv } });
    store = new S3Store({ endpoint: rgw.endpoint, region: rgw.region, bucket, prefix: 'mirror', accessKey: rgw.accessKey, secretKey: rgw.secretKey });
    await store.ensureBucket();
    const patch = { release: 'caracal', components: ['cinder'], ppas: ['ppa:team/fix'], suffix: 'fix1' };
    doc = configDoc(f, {
      mirror: { store: `s3://${bucket}/mirror`, s3: { endpoint: rgw.endpoint, region: rgw.region, accessKey: rgw.accessKey, secretKey: rgw.secretKey } },
      registry: { host: registry.host, namespace: 'heliostat', tlsVerify: false, retries: 1 },
      juju: { executable: JUJU_STANDIN, model: SUNBEAM_MODEL, controller: SUNBEAM_CONTROLLER },
      kubeconfig: kube.kubeconfig,
      namespace: SUNBEAM_MODEL,
      reconcile: { intervalSeconds: 3600, rolloutTimeoutSeconds: 20 },
      kubernetesBuilder: { image: POD_SETTINGS.image, concurrency: 4, stuckGraceSeconds: 5 },
      trains: [
        { name: 'fix', ...patch, attach: true, builder: 'kubernetes' },
        { name: 'fixlocal', ...patch },
      ],
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of controllers) await c.drain(0);
    await kube?.close();
    await registry?.stop();
    store?.close();
    await f?.close();
  });

  it('builds, publishes and attaches like a local train, with the same rock bytes', async () => {
    const controller = await open();
    const before = jobCreates();
    const kubeBuild = await build(controller, 'fix');
    const built = kubeBuild.record.rocks.filter((r) => r.outcome === 'built');
    expect(built.length).toBeGreaterThan(0);
    expect(jobCreates() - before).toBe(built.length);
    expect(built.every((r) => r.image?.digest.startsWith('sha256:'))).toBe(true);

    await waitFor('the attachments', () => events.filter((e) => e.type === 'attached').length >= 2, 60_000);
    const attached = events.find((e): e is Extract<ControllerEvent, { type: 'attached' }> => e.type === 'attached');
    expect(attached?.buildId).toBe(kubeBuild.buildId);
    expect(appState(kube.state, 'cinder')?.resources['cinder-api-image']?.image).toBe(attached?.ref);

    const localBuild = await build(controller, 'fixlocal');
    expect(jobCreates() - before).toBe(built.length);
    const rockFiles = (r: BuildRecord) => Object.entries(r.files).filter(([path]) => path.startsWith('rocks/')).map(([path, e]) => `${path} ${e.digest}`).sort();
    expect(rockFiles(kubeBuild.record)).toEqual(rockFiles(localBuild.record));
    expect(rockFiles(kubeBuild.record)).toHaveLength(built.length);
    // Nothing is left in the staging area.
    const staging: string[] = [];
    for await (const o of store.list('meta/staging/')) staging.push(o.key);
    expect(staging).toEqual([]);
  });

  it('re-attaches to the Jobs a stopped controller left running instead of starting them again', async () => {
    podEnv[STANDIN_ENV.sleepMs] = '2500';
    const first = await open();
    const before = jobCreates();
    const [queued] = await first.submit([{ release: 'caracal', train: 'fix', force: true }], 'api', 'ops');
    await waitFor('the Jobs to run', () => kube.server.jobs.pods('heliostat-builds').filter((p) => (p.status as { phase: string }).phase === 'Running').length > 0, 30_000);
    await first.drain(0);
    expect(first.job(queued?.id ?? '')?.state).toBe('interrupted');
    expect(kube.server.jobs.list('heliostat-builds').filter((j) => !(j.status as { completionTime?: string }).completionTime).length).toBeGreaterThan(0);

    const second = await open();
    const { record } = await build(second, 'fix', true);
    const built = record.rocks.filter((r) => r.outcome === 'built');
    expect(built.length).toBeGreaterThan(0);
    // Every rock of the forced rebuild has exactly one Job: the ones the first controller started.
    expect(jobCreates() - before).toBe(built.length);
    delete podEnv[STANDIN_ENV.sleepMs];
  });
});
