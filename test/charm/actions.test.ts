// Every action run as Juju runs it (the actions/ shim, action-get/-set/-fail stand-ins) against
// the controller's real HTTP API mounted over the fake controller: what each asks of the
// controller, with the token the charm rendered, and the structured results it hands back.
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { UsageError } from '../../src/errors.js';
import { startTestApi, WRITE_TOKEN, type TestApi } from '../controller/http/harness.js';
import { ensureHookToolsBuilt } from '../fixtures/hook-tools/standin.js';
import { TestUnit } from './unit.js';

let api: TestApi;
let unit: TestUnit;

beforeAll(async () => {
  ensureHookToolsBuilt();
  api = await startTestApi();
}, 120_000);
afterAll(() => api.close());
beforeEach(() => {
  unit = new TestUnit('heliostat/0', api.url);
  mkdirSync(unit.dataDir, { recursive: true });
  writeFileSync(unit.configFile, stringify({ listen: '0.0.0.0:8080', trains: [{ name: 'operator', release: 'caracal' }], tokens: [{ name: 'juju', token: WRITE_TOKEN }] }));
  api.controller.calls.length = 0;
});
afterEach(() => unit.remove());

const call = (method: string) => api.controller.calls.filter((c) => c.method === method).at(-1)?.args;

describe('charm actions', { timeout: 30_000 }, () => {
  it('build queues a build of the operator train', async () => {
    const a = await unit.action('build');
    expect(a.failed).toBeUndefined();
    expect(a.results).toEqual({ jobs: expect.stringMatching(/^job-\d+$/) as string, state: 'queued' });
    expect(call('submit')).toEqual([[{ train: 'operator', release: 'caracal' }], 'api', 'ci']);
  });

  it('build of a train that is not configured fails naming the configured ones', async () => {
    const a = await unit.action('build', { train: 'nope' });
    expect(a.failed).toBe('no train named "nope" is configured; configured: operator');
    expect(api.controller.mutatingCalls()).toEqual([]);
  });

  it('list-builds filters and returns one structured entry per job', async () => {
    api.controller.addJob({ state: 'succeeded', result: 'success', buildId: '20250101T000000Z', request: { train: 'operator', release: '2024.1', series: 'jammy' } });
    const a = await unit.action('list-builds', { train: 'operator', limit: 5 });
    expect(call('jobs')).toEqual([{ train: 'operator', limit: 5 }]);
    expect(Number(a.results['count'])).toBeGreaterThan(0);
    expect(a.results).toMatchObject({ 'builds.0.train': 'operator', 'builds.0.release': '2024.1', 'builds.0.build-id': '20250101T000000Z', 'builds.0.result': 'success', 'builds.0.state': 'succeeded' });
  });

  it('promote, pin and unpin go through the API', async () => {
    expect((await unit.action('promote', { ref: 'operator/caracal/jammy/latest' })).results).toEqual({ ref: 'operator/caracal/jammy/latest', 'build-id': '20250101T000000Z' });
    expect(call('promote')).toEqual(['operator/caracal/jammy/latest', 'ci']);
    await unit.action('pin', { ref: 'operator/caracal/jammy/20250101T000000Z', name: 'golden', note: 'tested' });
    expect(call('pin')).toEqual(['operator/caracal/jammy/20250101T000000Z', 'golden', { note: 'tested' }, 'ci']);
    expect((await unit.action('unpin', { series: 'operator/2024.1/jammy', name: 'golden' })).results).toEqual({ removed: 'operator/2024.1/jammy golden' });
    expect(call('unpin')).toEqual(['operator/2024.1/jammy', 'golden', 'ci']);
  });

  it('attach, detach and rollback go through the API', async () => {
    expect((await unit.action('attach', { ref: 'operator/caracal/jammy/20250101T000000Z' })).results).toEqual({ ref: 'operator/caracal/jammy/20250101T000000Z', train: 'operator', release: 'caracal', series: 'jammy', 'build-id': '20250101T000000Z' });
    expect((await unit.action('detach', { series: 'operator/caracal/jammy' })).results).toEqual({ train: 'operator', release: 'caracal', series: 'jammy', restores: 'originals' });
    expect(call('detach')).toEqual(['operator/caracal/jammy', 'ci']);
    const rolled = await unit.action('rollback', { app: 'cinder' });
    expect(call('rollback')).toEqual([{ app: 'cinder' }, 'ci']);
    expect(rolled.results).toEqual({ 'rolled-back.0.train': 'fix', 'rolled-back.0.release': '2024.1', 'rolled-back.0.series': 'noble', 'rolled-back.0.from': '20250102T000000Z', 'rolled-back.0.to': '20250101T000000Z', 'rolled-back.0.apps.0': 'cinder' });
  });

  it('reconcile and gc pass dry-run on and report structured results', async () => {
    api.controller.reconcileResult = { actions: [{ kind: 'attach', app: 'cinder', resource: 'cinder-api-image', to: { ref: 'reg/cinder@sha256:1' }, why: 'train operator wants 1' }], problems: ['nova: no pods'] };
    const r = await unit.action('reconcile', { 'dry-run': true });
    expect(call('reconcile')).toEqual([{ dryRun: true }, 'ci']);
    expect(r.results).toEqual({ 'dry-run': 'true', count: '1', 'actions.0.kind': 'attach', 'actions.0.app': 'cinder', 'actions.0.resource': 'cinder-api-image', 'actions.0.why': 'train operator wants 1', 'actions.0.image': 'reg/cinder@sha256:1', 'problems.0': 'nova: no pods' });
    const g = await unit.action('gc', { 'dry-run': true });
    expect(call('gc')).toEqual([{ dryRun: true }, 'ci']);
    expect(g.results).toEqual({ 'dry-run': 'true', 'would-delete-builds': '[]', 'blobs.objects': '0', 'blobs.bytes-freed': '0', 'blobs.referenced-blobs': '3', 'blobs.protected-blobs': '0', 'blobs.builds': '2' });
  });

  it('status returns the controller status as nested keys', async () => {
    const a = await unit.action('status');
    expect(a.results).toMatchObject({ version: '0.1.0', leader: 'true', 'queue.queued': '2', 'queue.running': '1', 'mirror.location': 'fs:/srv/mirror' });
  });

  it('fails with the controller\'s own message, or with what to check when it does not answer', async () => {
    api.controller.failNext = new UsageError('cannot promote operator/2024.1/jammy/20250101T000000Z: its result is fail');
    expect((await unit.action('promote', { ref: 'operator/caracal/jammy/20250101T000000Z' })).failed).toBe('cannot promote operator/2024.1/jammy/20250101T000000Z: its result is fail');
    const down = new TestUnit('heliostat/0', 'http://127.0.0.1:1');
    mkdirSync(down.dataDir, { recursive: true });
    writeFileSync(down.configFile, stringify({ listen: '0.0.0.0:8080' }));
    expect((await down.action('status')).failed).toMatch(/^the controller does not answer at http:\/\/127\.0\.0\.1:1 \(.*\); check `systemctl status heliostat` on the unit$/);
    down.remove();
  });

  it('refuses bad parameters before calling the controller, and runs only when configured', async () => {
    expect((await unit.action('pin', { ref: 'operator/caracal/jammy/latest' })).failed).toMatch(/^invalid parameter name: /);
    expect((await unit.action('detach', { series: 'operator' })).failed).toBe('invalid parameter series: expected TRAIN/RELEASE/SERIES');
    expect((await unit.action('gc', { 'dry-run': true, extra: 1 })).failed).toMatch(/^invalid parameter/);
    expect(api.controller.mutatingCalls()).toEqual([]);
    const fresh = new TestUnit('heliostat/0', api.url);
    expect((await fresh.action('status')).failed).toMatch(/^the controller is not configured yet/);
    fresh.remove();
  });
});
