// Attach, detach, rollback and gc through the API: validation against the fake controller, then
// the real controller over a real fs mirror holding published builds, checking what it records
// (the attach requests the reconciler reads, the audit log, the events) and what it refuses.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { publishBuild } from '../../../mirror/publish.js';
import { listBuilds } from '../../../mirror/query.js';
import { FsStore } from '../../../mirror/stores/fs.js';
import { resolveControllerConfig } from '../../../src/controller/config.js';
import type { ControllerConfigInput } from '../../../src/controller/config-schema.js';
import { Controller } from '../../../src/controller/controller.js';
import type { ControllerEvent } from '../../../src/controller/types.js';
import { stagedBuild } from '../../mirror/helpers.js';
import { auth, send, startApiOver, startTestApi, WRITE_TOKEN, type TestApi } from './harness.js';

describe('attachments, rollback and gc: validation', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());
  const last = (method: string) => api.controller.calls.filter((c) => c.method === method).at(-1);

  it('passes valid requests on with the token name as the actor', async () => {
    expect((await send(api, 'POST', '/api/v1/attachments', { ref: 'fix/caracal/noble/20250101T000000Z' })).status).toBe(202);
    expect(last('attach')?.args).toEqual(['fix/caracal/noble/20250101T000000Z', 'ci']);
    expect((await send(api, 'DELETE', '/api/v1/attachments/fix/2024.1/noble', undefined, auth())).status).toBe(202);
    expect(last('detach')?.args).toEqual(['fix/2024.1/noble', 'ci']);
    const rolled = await send(api, 'POST', '/api/v1/rollback', { app: 'cinder' });
    expect(rolled.status).toBe(202);
    expect(((await rolled.json()) as { rolledBack: unknown[] }).rolledBack).toHaveLength(1);
    expect(last('rollback')?.args).toEqual([{ app: 'cinder' }, 'ci']);
    expect((await send(api, 'POST', '/api/v1/rollback', undefined, auth())).status).toBe(202);
    expect(last('rollback')?.args).toEqual([{}, 'ci']);
    const gc = await send(api, 'POST', '/api/v1/gc', { dryRun: true });
    expect(gc.status).toBe(200);
    expect(((await gc.json()) as { dryRun: boolean }).dryRun).toBe(true);
    expect(last('gc')?.args).toEqual([{ dryRun: true }, 'ci']);
  });

  it.each([
    ['POST', '/api/v1/attachments', { ref: 'fix/bogus/noble/latest' }, /ref: .*release/i],
    ['POST', '/api/v1/attachments', { ref: 'not a ref' }, /ref/],
    ['POST', '/api/v1/attachments', {}, /ref/],
    ['POST', '/api/v1/attachments', { ref: 'fix/caracal/noble/latest', force: true }, /unknown field/],
    ['POST', '/api/v1/rollback', { app: 'Not An App' }, /app: must be a Juju application name/],
    ['POST', '/api/v1/gc', { dryRun: 'yes' }, /dryRun/],
    ['DELETE', '/api/v1/attachments/fix/bogus/noble', undefined, /release/],
    ['DELETE', '/api/v1/attachments/Fix!/caracal/noble', undefined, /train/],
  ])('%s %s %j is refused with 400 and reaches no controller call', async (method, path, body, why) => {
    const before = api.controller.mutatingCalls().length;
    const res = await send(api, method, path, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(why);
    expect(api.controller.mutatingCalls().length).toBe(before);
  });

  it('needs the write token', async () => {
    const before = api.controller.mutatingCalls().length;
    for (const [method, path] of [['POST', '/api/v1/attachments'], ['DELETE', '/api/v1/attachments/fix/caracal/noble'], ['POST', '/api/v1/rollback'], ['POST', '/api/v1/gc']] as const) {
      const res = await fetch(`${api.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : null });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
    expect(api.controller.mutatingCalls().length).toBe(before);
  });
});

const TRAIN = { train: 'fix', release: '2024.1', series: 'noble' };
const BUILDS = ['20250101T000000Z', '20250102T000000Z', '20250103T000000Z'];
const digest = (c: string) => `sha256:${c.repeat(64)}`;

describe('attachments, rollback and gc: the controller', () => {
  let root: string;
  let store: FsStore;
  let controller: Controller;
  let api: TestApi<Controller>;
  let events: ControllerEvent[];

  async function open(extra: ControllerConfigInput = {}): Promise<void> {
    const doc: ControllerConfigInput = {
      dataDir: join(root, 'data'),
      listen: '127.0.0.1:0',
      juju: { executable: join(root, 'no-juju-here') },
      kubeconfig: join(root, 'no-kubeconfig'),
      tokens: [{ name: 'ci', token: WRITE_TOKEN }],
      trains: [{ name: 'fix', release: 'caracal', components: ['cinder'], ppas: ['ppa:team/fix'] }],
      ...extra,
    };
    const config = await resolveControllerConfig(doc, { baseDir: root, env: {} });
    store = new FsStore(config.mirror.spec.slice(3));
    controller = new Controller(config, { store, version: 'test' });
    await controller.start();
    events = [];
    controller.onEvent((e) => events.push(e));
    api = await startApiOver(controller);
  }

  async function publish(buildId: string, result: 'success' | 'fail' = 'success'): Promise<void> {
    await publishBuild(store, await stagedBuild(root, buildId, { rockSeed: `rock-${buildId}`, overrides: { ...TRAIN, result } }));
  }

  const requests = async () => JSON.parse(await readFile(join(root, 'data', 'controller', 'attached-builds.json'), 'utf8')) as { trains: unknown[] };

  /** What the reconciler recorded: cinder's api image runs `buildId` of the train. */
  async function running(buildId: string): Promise<void> {
    const file = join(root, 'data', 'attach', 'current-openstack.state.json');
    await mkdir(join(root, 'data', 'attach'), { recursive: true });
    const record = { app: 'cinder', resource: 'cinder-api-image', containers: ['cinder-api'], original: { ref: 'ghcr.io/canonical/cinder-consolidated:2024.1', digest: digest('a') }, current: { ref: `registry.local/cinder@${digest('b')}`, digest: digest('b'), train: 'fix', buildId, rock: 'keystone', at: '2025-01-04T00:00:00.000Z' } };
    await writeFile(file, JSON.stringify({ schema: 1, model: 'openstack', records: [record], history: [] }));
  }

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'heliostat-attachments-'));
  });
  afterEach(async () => {
    await api?.close();
    await controller?.drain(0);
    await rm(root, { recursive: true, force: true });
  });

  it('attach records the resolved build, audits and announces it; detach takes it back', async () => {
    await open();
    for (const id of BUILDS) await publish(id);
    const res = await send(api, 'POST', '/api/v1/attachments', { ref: 'fix/caracal/noble/latest' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ ref: 'fix/2024.1/noble/latest', ...TRAIN, buildId: BUILDS[2] });
    expect((await requests()).trains).toEqual([{ ...TRAIN, pin: BUILDS[2] }]);
    expect(events).toContainEqual({ type: 'attach-requested', ref: 'fix/2024.1/noble/latest', ...TRAIN, buildId: BUILDS[2] });
    expect(controller.history({ action: 'attach-requested' })[0]).toMatchObject({ actor: 'ci', target: 'fix/2024.1/noble/latest' });

    const detached = await send(api, 'DELETE', '/api/v1/attachments/fix/caracal/noble', undefined, auth());
    expect(detached.status).toBe(202);
    expect(await detached.json()).toEqual({ ...TRAIN, restores: 'originals' });
    expect((await requests()).trains).toEqual([]);
    expect(controller.history({ action: 'detached' })[0]).toMatchObject({ actor: 'ci', target: 'fix/2024.1/noble' });
    const again = await send(api, 'DELETE', '/api/v1/attachments/fix/caracal/noble', undefined, auth());
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { message: string } }).error.message).toBe('cannot detach fix/2024.1/noble: nothing is attached on request for it');
  });

  it('an attach request overrides the configured pin until detached, then the configuration resumes', async () => {
    await open({ trains: [{ name: 'fix', release: 'caracal', components: ['cinder'], ppas: ['ppa:team/fix'], attach: true, apps: ['cinder'] }] });
    await publish(BUILDS[0] ?? '');
    expect(await send(api, 'POST', '/api/v1/attachments', { ref: `fix/caracal/noble/${BUILDS[0]}` }).then((r) => r.status)).toBe(202);
    const detached = await send(api, 'DELETE', '/api/v1/attachments/fix/caracal/noble', undefined, auth());
    expect(await detached.json()).toEqual({ ...TRAIN, restores: 'configured-pin' });
    const refused = await send(api, 'DELETE', '/api/v1/attachments/fix/caracal/noble', undefined, auth());
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(/attached by the configuration.*turn the train's attach off/);
  });

  it('refuses builds the model cannot run, and changes nothing', async () => {
    await open();
    await publish(BUILDS[0] ?? '', 'fail');
    const failed = await send(api, 'POST', '/api/v1/attachments', { ref: `fix/caracal/noble/${BUILDS[0]}` });
    expect(failed.status).toBe(400);
    expect(((await failed.json()) as { error: { message: string } }).error.message).toBe(`cannot attach fix/2024.1/noble/${BUILDS[0]}: its result is fail`);
    expect((await send(api, 'POST', '/api/v1/attachments', { ref: 'fix/caracal/noble/20990101T000000Z' })).status).toBe(404);
    expect(events).toEqual([]);
  });

  it('rollback re-attaches the build before the running one and holds it; with none before it, says what to do', async () => {
    await open();
    for (const id of BUILDS) await publish(id);
    await publish('20250102T120000Z', 'fail');
    await running(BUILDS[2] ?? '');
    // The train is attached on request (as a build asked to attach would be).
    await controller.attach(`fix/caracal/noble/${BUILDS[2]}`, 'ci');
    const res = await send(api, 'POST', '/api/v1/rollback', { app: 'cinder' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ rolledBack: [{ ...TRAIN, from: BUILDS[2], to: BUILDS[1], apps: ['cinder'] }] });
    expect((await requests()).trains).toEqual([{ ...TRAIN, pin: BUILDS[1] }]);
    expect(events.at(-1)).toEqual({ type: 'rollback-requested', ref: `fix/2024.1/noble/${BUILDS[1]}`, from: BUILDS[2], to: BUILDS[1] });

    await running(BUILDS[0] ?? '');
    const none = await send(api, 'POST', '/api/v1/rollback', {});
    expect(none.status).toBe(409);
    expect(((await none.json()) as { error: { message: string } }).error.message).toBe(`cannot roll back fix/2024.1/noble: no successful build before ${BUILDS[0]}; detach it to restore the original images`);
    const other = await send(api, 'POST', '/api/v1/rollback', { app: 'nova' });
    expect(((await other.json()) as { error: { message: string } }).error.message).toBe('nothing to roll back: heliostat runs no build in application nova');
  });

  it('gc applies the configured retention, keeping what runs in the model; a dry run deletes nothing', async () => {
    await open({ trains: [{ name: 'fix', release: 'caracal', components: ['cinder'], ppas: ['ppa:team/fix'], retention: { keepMax: 1 } }] });
    for (const id of BUILDS) await publish(id);
    await running(BUILDS[0] ?? '');
    const dry = await send(api, 'POST', '/api/v1/gc', { dryRun: true });
    const planned = (await dry.json()) as { dryRun: boolean; retention: Array<{ drop: Array<{ buildId: string }> }> };
    expect(planned.dryRun).toBe(true);
    expect(planned.retention[0]?.drop.map((d) => d.buildId)).toEqual([BUILDS[1]]);
    expect((await listBuilds(store, TRAIN)).builds).toHaveLength(3);
    expect(events).toEqual([]);

    const res = await send(api, 'POST', '/api/v1/gc', {});
    expect(res.status).toBe(200);
    const done = (await res.json()) as { retention: Array<{ deleted: string[] }>; gc: { objects: number } };
    expect(done.retention[0]?.deleted).toEqual([BUILDS[1]]);
    expect((await listBuilds(store, TRAIN)).builds.map((b) => b.buildId)).toEqual([BUILDS[0], BUILDS[2]]);
    expect(events).toEqual([{ type: 'gc', buildsDeleted: 1, objectsDeleted: done.gc.objects, bytesFreed: expect.any(Number) as number }]);
    expect(controller.history({ action: 'gc' })).toHaveLength(1);
  });

  it('a unit that is not the leader refuses every change but answers a gc dry run', async () => {
    await open({ leader: false });
    await publish(BUILDS[0] ?? '');
    for (const [method, path, body] of [['POST', '/api/v1/attachments', { ref: 'fix/caracal/noble/latest' }], ['DELETE', '/api/v1/attachments/fix/caracal/noble', undefined], ['POST', '/api/v1/rollback', {}], ['POST', '/api/v1/gc', {}]] as const) {
      const res = await send(api, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(409);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/not the leader/);
    }
    expect((await send(api, 'POST', '/api/v1/gc', { dryRun: true })).status).toBe(200);
  });
});
