// The Juju adapter against the juju stand-in as a real process: parsing of status, resources and
// config, attach-resource by digest, app names that differ from charm names, error kinds, retries
// of transient failures, timeouts that kill the process group, and refusal of moving tags.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyJujuFailure } from '../../src/deploy/juju-errors.js';
import { JujuConfigSchema, JujuResourcesSchema, JujuStatusSchema, toJujuStatus } from '../../src/deploy/juju-schemas.js';
import { appsByCharm, JujuClient, JujuError, type JujuClientOptions } from '../../src/deploy/juju.js';
import { ensureJujuStandinBuilt, JUJU_ENV, JUJU_STANDIN, readJujuInvocations, REPO_ROOT } from '../fixtures/juju/standin.js';
import { attachedImage, readState, writeState } from '../fixtures/juju/state.js';
import { SUNBEAM_CONTROLLER, sunbeamState } from '../fixtures/juju/sunbeam.js';
import { processAlive as alive } from '../fixtures/ports.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const REF = `registry.local:5000/heliostat/cinder-consolidated@${DIGEST}`;

const root = mkdtempSync(join(tmpdir(), 'heliostat-juju-'));
let counter = 0;

beforeAll(() => ensureJujuStandinBuilt(), 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Fixture {
  state: string;
  log: string;
  client: (options?: Partial<JujuClientOptions>, env?: NodeJS.ProcessEnv) => JujuClient;
  calls: (command?: string) => number;
}

function fixture(release = '2024.1'): Fixture {
  const dir = join(root, `case-${++counter}`);
  const state = `${dir}.state.json`;
  const log = `${dir}.log`;
  writeState(state, sunbeamState(release));
  return {
    state,
    log,
    client: (options = {}, env = {}) =>
      new JujuClient({
        executable: JUJU_STANDIN,
        controller: SUNBEAM_CONTROLLER,
        backoffMs: 10,
        timeoutMs: 20_000,
        ...options,
        env: { [JUJU_ENV.state]: state, [JUJU_ENV.log]: log, ...env },
      }),
    calls: (command) => readJujuInvocations(log).filter((i) => command === undefined || i.command === command).length,
  };
}

async function failure(promise: Promise<unknown>): Promise<JujuError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JujuError);
  return err as JujuError;
}

const example = (name: string): unknown => JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures/data', name), 'utf8'));

describe('schemas and classification (no process)', () => {
  it('accept the Juju 3.6 reference examples', () => {
    const status = toJujuStatus(JujuStatusSchema.parse(example('juju-status.json')));
    expect(appsByCharm(status, 'cinder-k8s')).toEqual(['cinder']);
    expect(status.applications.cinder?.units['cinder/0']?.agentStatus).toMatchObject({ current: 'executing', message: 'running upgrade-charm hook' });
    const { resources } = JujuResourcesSchema.parse(example('juju-resources.json'));
    expect(resources.map((r) => [r.name, r.origin, r.revision])).toEqual([
      ['cinder-api-image', 'upload', 3],
      ['cinder-scheduler-image', 'store', 108],
    ]);
    expect(JujuConfigSchema.parse(example('juju-config.json'))).toMatchObject({ application: 'cinder', charm: 'cinder-k8s', trust: true });
  });

  it('tolerate unknown fields but not missing or malformed ones heliostat uses', () => {
    const doc = example('juju-status.json') as { applications: Record<string, Record<string, unknown>>; future?: unknown };
    doc.future = { added: 'later' };
    doc.applications.cinder!['charm-profile'] = 'new field';
    expect(JujuStatusSchema.safeParse(doc).success).toBe(true);
    delete doc.applications.cinder!['charm-name'];
    expect(JujuStatusSchema.safeParse(doc).success).toBe(false);
    expect(JujuResourcesSchema.safeParse({ resources: [{ name: 'x', type: 'oci-image', revision: 'three', fingerprint: '', size: 0, origin: 'store', used: true }] }).success).toBe(false);
    expect(JujuResourcesSchema.parse({ resources: [{ name: 'x', type: 'file', revision: '-', fingerprint: '', size: 0, origin: 'upload', used: false }] }).resources[0]?.revision).toBeNull();
  });

  it.each([
    ['ERROR cannot connect to API: dial tcp 10.0.0.1:17070: connect: connection refused', 1, 'transient'],
    ['ERROR connection is shut down', 1, 'transient'],
    ['ERROR permission denied (unauthorized access)', 1, 'permission'],
    ['ERROR application "cinder" not found', 1, 'not-found'],
    ['ERROR model sunbeam-controller:admin/nope not found', 1, 'not-found'],
    ['ERROR failed to upload resource "x": filepath or registry path: Bad not valid', 1, 'invalid'],
    ['ERROR option provided but not defined: --x', 2, 'invalid'],
  ] as const)('classifies %s', (stderr, code, kind) => {
    expect(classifyJujuFailure(`some progress\n${stderr}\n`, code)).toBe(kind);
  });
});

describe('reading the model', () => {
  it('parses status and finds Sunbeam applications by charm name, not app name', async () => {
    const f = fixture();
    const status = await f.client().status();
    expect(status.model).toMatchObject({ name: 'openstack', controller: SUNBEAM_CONTROLLER, type: 'caas' });
    const cinder = status.applications.cinder;
    expect(cinder).toMatchObject({ charm: 'cinder-k8s', charmName: 'cinder-k8s', charmChannel: '2024.1/stable', scale: 1, exposed: false });
    expect(cinder?.units['cinder/0']).toMatchObject({ leader: true, providerId: 'cinder-0' });
    expect(appsByCharm(status, 'cinder-k8s')).toEqual(['cinder']);
    expect(appsByCharm(status, 'designate-bind-k8s')).toEqual(['bind']);
    expect(appsByCharm(status, 'openstack-images-sync-k8s')).toEqual(['images-sync']);
    expect(appsByCharm(status, 'cinder')).toEqual([]);
    expect(status.applicationErrors).toEqual({});
  });

  it('returns every application of a charm deployed more than once, and errored ones apart', async () => {
    const f = fixture();
    const state = readState(f.state);
    const apps = state.controllers[SUNBEAM_CONTROLLER]!.models.openstack!.applications;
    apps['ironic-conductor-shard1'] = { ...apps['ironic-conductor']!, scale: 2 };
    apps.glance = { ...apps.glance!, statusError: 'cannot get application status' };
    writeState(f.state, state);
    const status = await f.client().status();
    expect(appsByCharm(status, 'ironic-conductor-k8s')).toEqual(['ironic-conductor', 'ironic-conductor-shard1']);
    expect(Object.keys(status.applications['ironic-conductor-shard1']!.units)).toEqual(['ironic-conductor-shard1/0', 'ironic-conductor-shard1/1']);
    expect(status.applicationErrors).toEqual({ glance: 'cannot get application status' });
    expect(appsByCharm(status, 'glance-k8s')).toEqual([]);
  });

  it('parses resources with numeric revisions, and an application without any', async () => {
    const f = fixture();
    const client = f.client();
    const { resources, updates } = await client.resources('cinder');
    expect(resources.map((r) => r.name)).toEqual(['cinder-api-image', 'cinder-scheduler-image']);
    expect(resources[0]).toMatchObject({ type: 'oci-image', origin: 'store', used: true, application: 'cinder', description: 'OCI image for OpenStack Cinder API' });
    expect(typeof resources[0]?.revision).toBe('number');
    expect(updates).toEqual([]);
    await expect(client.resources('openstack-port-cni')).resolves.toEqual({ resources: [], updates: [] });
  });

  it('parses config', async () => {
    const config = await fixture().client().config('cinder');
    expect(config).toMatchObject({ application: 'cinder', charm: 'cinder-k8s', trust: true });
    expect(config.settings.region).toMatchObject({ type: 'string', value: 'RegionOne', source: 'default' });
  });

  it('puts -m controller:model after the subcommand, or the bare model without a controller', async () => {
    const f = fixture();
    await f.client().status();
    await f.client({ controller: undefined }).resources('cinder');
    const [status, resources] = readJujuInvocations(f.log);
    expect(status?.argv).toEqual(['status', '-m', `${SUNBEAM_CONTROLLER}:openstack`, '--format=json']);
    expect(resources?.argv).toEqual(['resources', '-m', 'openstack', 'cinder', '--format=json']);
  });
});

describe('attach-resource', () => {
  it('attaches by digest: resources show an upload with a new revision, status shows the upgrade', async () => {
    const f = fixture();
    const client = f.client({}, { [JUJU_ENV.settleMs]: '60000' });
    const before = (await client.resources('cinder')).resources.find((r) => r.name === 'cinder-api-image');
    await client.attachResource('cinder', 'cinder-api-image', REF);
    const after = (await client.resources('cinder')).resources.find((r) => r.name === 'cinder-api-image');
    expect(after).toMatchObject({ origin: 'upload', username: 'admin', type: 'oci-image' });
    expect(after?.revision).not.toBe(before?.revision);
    expect(after?.fingerprint).not.toBe(before?.fingerprint);
    expect(attachedImage(f.state, 'cinder', 'cinder-api-image')).toBe(REF);
    expect(attachedImage(f.state, 'cinder', 'cinder-scheduler-image')).toBe('ghcr.io/canonical/cinder-consolidated:2024.1-24.04_edge');
    const unit = (await client.status()).applications.cinder?.units['cinder/0'];
    expect(unit?.agentStatus).toMatchObject({ current: 'executing', message: 'running upgrade-charm hook' });
    expect(readJujuInvocations(f.log).find((i) => i.command === 'attach-resource')?.argv).toEqual([
      'attach-resource',
      '-m',
      `${SUNBEAM_CONTROLLER}:openstack`,
      'cinder',
      `cinder-api-image=${REF}`,
    ]);
    await client.attachResource('cinder', 'cinder-api-image', REF);
    const again = (await client.resources('cinder')).resources.find((r) => r.name === 'cinder-api-image');
    expect(again?.revision).toBe((after?.revision ?? 0) + 1);
  });

  it('addresses the application, whose name is not the charm name', async () => {
    const f = fixture();
    const client = f.client();
    const bindRef = `registry.local:5000/ubuntu/bind9@${DIGEST}`;
    const [app] = appsByCharm(await client.status(), 'designate-bind-k8s');
    await client.attachResource(app!, 'designate-bind-image', bindRef);
    expect(attachedImage(f.state, 'bind', 'designate-bind-image')).toBe(bindRef);
    const err = await failure(client.attachResource('designate-bind-k8s', 'designate-bind-image', bindRef));
    expect(err.kind).toBe('not-found');
    expect(err.message).toContain('application "designate-bind-k8s" not found');
  });

  it('refuses a reference without a digest before running juju', async () => {
    const f = fixture();
    const client = f.client();
    for (const ref of ['ghcr.io/canonical/cinder-consolidated:2024.1-24.04_edge', 'registry.local/cinder@sha256:abc', `registry.local/cinder@SHA256:${'ab'.repeat(32)}`]) {
      const err = await failure(client.attachResource('cinder', 'cinder-api-image', ref));
      expect(err.kind).toBe('invalid');
      expect(err.attempts).toBe(0);
    }
    const err = await failure(client.attachResource('cinder', 'cinder-api-image=x', REF));
    expect(err.kind).toBe('invalid');
    expect(f.calls()).toBe(0);
  });
});

describe('errors', () => {
  it('classifies missing applications, resources and models as not-found, without retrying', async () => {
    const f = fixture();
    const client = f.client();
    expect((await failure(client.resources('nope'))).kind).toBe('not-found');
    expect((await failure(client.config('nope'))).kind).toBe('not-found');
    const missingResource = await failure(client.attachResource('cinder', 'cinder-volume-image', REF));
    expect(missingResource.kind).toBe('not-found');
    expect(missingResource.message).toContain('failed to upload resource "cinder-volume-image"');
    const missingModel = await failure(f.client({ model: 'nope' }).status());
    expect(missingModel.kind).toBe('not-found');
    expect(missingModel.message).toContain(`model ${SUNBEAM_CONTROLLER}:admin/nope not found`);
    expect(f.calls()).toBe(4);
  });

  it('reports permission errors as such', async () => {
    const f = fixture();
    const err = await failure(f.client({}, { [JUJU_ENV.fail]: 'attach-resource::permission' }).attachResource('cinder', 'cinder-api-image', REF));
    expect(err).toMatchObject({ kind: 'permission', exitCode: 1, attempts: 1 });
    expect(err.stderr).toContain('permission denied');
  });

  it('reports a missing executable as unavailable', async () => {
    const err = await failure(new JujuClient({ executable: join(root, 'no-such-juju') }).status());
    expect(err.kind).toBe('unavailable');
    expect(err.message).toContain('not found');
  });

  it('reports an invalid state of the CLI (no controllers) as not-found', async () => {
    const err = await failure(new JujuClient({ executable: JUJU_STANDIN, env: { [JUJU_ENV.state]: join(root, 'absent.json') } }).status());
    expect(err.kind).toBe('not-found');
    expect(err.message).toContain('No controllers registered');
  });
});

describe('retries and timeouts', () => {
  it('retries transient failures with backoff and then succeeds', async () => {
    const f = fixture();
    const sleeps: number[] = [];
    const client = f.client({ retries: 3, sleep: (ms) => (sleeps.push(ms), Promise.resolve()) }, { [JUJU_ENV.fail]: 'status:2' });
    const status = await client.status();
    expect(status.applications.cinder).toBeDefined();
    expect(f.calls('status')).toBe(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[1]).toBeGreaterThanOrEqual(10);
  });

  it('gives up after the configured retries', async () => {
    const f = fixture();
    const err = await failure(f.client({ retries: 2 }, { [JUJU_ENV.fail]: 'attach-resource' }).attachResource('cinder', 'cinder-api-image', REF));
    expect(err).toMatchObject({ kind: 'transient', attempts: 3 });
    expect(err.message).toContain('connection is shut down');
    expect(f.calls('attach-resource')).toBe(3);
    expect(attachedImage(f.state, 'cinder', 'cinder-api-image')).not.toBe(REF);
  });

  it('kills a hanging juju and its process group at the timeout', async () => {
    const f = fixture();
    const started = Date.now();
    const err = await failure(f.client({ timeoutMs: 1_000, retries: 0, killGraceMs: 200 }, { [JUJU_ENV.hang]: 'status' }).status());
    expect(err).toMatchObject({ kind: 'transient', timedOut: true, attempts: 1 });
    expect(Date.now() - started).toBeLessThan(10_000);
    const [hung] = readJujuInvocations(f.log);
    expect(hung?.childPid).toBeGreaterThan(0);
    // The stand-in's sleeping child shared its process group, so it is gone too.
    await expect.poll(() => alive(hung!.childPid!), { timeout: 5_000 }).toBe(false);
  });
});

