// A train with attach on, end to end through the controller: a build asked to attach is pushed to
// a real registry, published, and reconciled into a Sunbeam-shaped model (juju stand-in, Kubernetes
// API test server) with the attachments audited and announced; a second pass changes nothing.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveControllerConfig } from '../../src/controller/config.js';
import type { ControllerConfigInput } from '../../src/controller/config-schema.js';
import type { ControllerEvent } from '../../src/controller/types.js';
import { JUJU_ENV, JUJU_STANDIN, ensureJujuStandinBuilt } from '../fixtures/juju/standin.js';
import { SUNBEAM_CONTROLLER, SUNBEAM_MODEL } from '../fixtures/juju/sunbeam.js';
import { appState, kubeFixture, type KubeFixture } from '../fixtures/kube/harness.js';
import { registryAvailability, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { configDoc, openController, startFixtures, waitFor, waitForJob, type Fixtures, type OpenedController } from './harness.js';

const availability = registryAvailability();

describe.skipIf(!availability.available)(`attach trains${availability.reason ? ` (${availability.reason})` : ''}`, () => {
  let f: Fixtures;
  let registry: TestRegistry;
  let kube: KubeFixture;
  let c: OpenedController;
  let doc: ControllerConfigInput;
  let originals: Record<string, string | undefined>;
  const events: ControllerEvent[] = [];

  beforeAll(async () => {
    ensureJujuStandinBuilt();
    f = await startFixtures({ archive: { ppas: [{ owner: 'team', name: 'fix', sources: { cinder: '2:24.0.1-0ubuntu1~fix1' } }] } });
    registry = await startRegistry();
    kube = await kubeFixture({ rolloutDelayMs: 150 });
    doc = configDoc(f, {
      registry: { host: registry.host, namespace: 'heliostat', tlsVerify: false, retries: 1 },
      juju: { executable: JUJU_STANDIN, model: SUNBEAM_MODEL, controller: SUNBEAM_CONTROLLER },
      kubeconfig: kube.kubeconfig,
      namespace: SUNBEAM_MODEL,
      reconcile: { intervalSeconds: 3600, rolloutTimeoutSeconds: 20 },
      trains: [{ name: 'fix', release: 'caracal', components: ['cinder'], ppas: ['ppa:team/fix'], suffix: 'fix1', attach: true }],
    });
    c = await openController(f, doc, { env: { ...f.env, [JUJU_ENV.state]: kube.state, [JUJU_ENV.log]: join(f.root, 'juju.log') } });
    c.controller.onEvent((e) => events.push(e));
    const cinder = appState(kube.state, 'cinder')?.resources;
    originals = { api: cinder?.['cinder-api-image']?.image, scheduler: cinder?.['cinder-scheduler-image']?.image };
  }, 120_000);

  afterAll(async () => {
    await c?.controller.drain(0);
    await kube?.close();
    await registry?.stop();
    await f?.close();
  });

  it('attaches a build that asked for it and audits each attachment', async () => {
    const status = await c.controller.status();
    expect(status.juju).toEqual({ available: true });
    expect(status.reconcile.enabled).toBe(true);

    const [queued] = await c.controller.submit([{ release: 'caracal', train: 'fix', attach: true }], 'api', 'ops');
    const job = await waitForJob(c.controller, queued?.id ?? '', 60_000);
    expect(job.state, job.error).toBe('succeeded');
    await waitFor('the attachments', () => events.filter((e) => e.type === 'attached').length >= 2, 60_000);
    const attached = events.filter((e): e is Extract<ControllerEvent, { type: 'attached' }> => e.type === 'attached');
    expect(attached.map((e) => `${e.app} ${e.resource} ${e.train} ${e.buildId}`).sort()).toEqual([
      `cinder cinder-api-image fix ${job.buildId}`,
      `cinder cinder-scheduler-image fix ${job.buildId}`,
    ]);
    const image = attached[0]?.ref;
    expect(image).toMatch(new RegExp(`^${registry.host}/heliostat/cinder-consolidated@sha256:[0-9a-f]{64}$`));
    expect(appState(kube.state, 'cinder')?.resources['cinder-api-image']?.image).toBe(image);
    expect(c.controller.history({ action: 'attach' }).map((e) => e.target).sort()).toEqual(['cinder/cinder-api-image', 'cinder/cinder-scheduler-image']);
    expect((await c.controller.status()).reconcile).toMatchObject({ lastResult: 'applied', held: 0, enabled: true });
  });

  it('changes nothing on the next pass', async () => {
    const result = (await c.controller.reconcile({}, 'ops')) as { actions: unknown[] };
    expect(result.actions).toEqual([]);
    expect((await c.controller.status()).reconcile.lastResult).toBe('nothing to do');
  });

  it('restores the originals when a reload turns the train\'s attach off', async () => {
    const detached = { ...doc, trains: [{ name: 'fix', release: 'caracal', components: ['cinder'], ppas: ['ppa:team/fix'], suffix: 'fix1' }] };
    await c.controller.applyConfig(await resolveControllerConfig(detached, { baseDir: f.root, env: {} }));
    await waitFor('the originals to be back', () => events.filter((e) => e.type === 'restored').length >= 2, 60_000);
    const cinder = appState(kube.state, 'cinder')?.resources;
    // The original image again, pinned by the digest it ran (attachments are always by digest).
    const original = (tagged: string | undefined) => new RegExp(`^${(tagged ?? '').replace(/:[^:/]+$/, '').replace(/[.]/g, '\\.')}@sha256:[0-9a-f]{64}$`);
    expect(cinder?.['cinder-api-image']?.image).toMatch(original(originals['api']));
    expect(cinder?.['cinder-scheduler-image']?.image).toMatch(original(originals['scheduler']));
    expect(c.controller.history({ action: 'restore' })).toHaveLength(2);
    expect((await c.controller.status()).reconcile.enabled).toBe(false);
  });
});
