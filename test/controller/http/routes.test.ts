// Every route of the API over a real socket, against the fake controller: what it answers and
// what it asks of the controller (with the token's name as the actor).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../../src/controller/types.js';
import { auth, send, startTestApi, type TestApi } from './harness.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

const lastCall = (method: string) => api.controller.calls.filter((c) => c.method === method).at(-1);

describe('builds', () => {
  it('POST /builds queues every request and answers 202 with links', async () => {
    const res = await send(api, 'POST', '/api/v1/builds', [
      { release: 'caracal', components: ['cinder'] },
      { release: '2025.1', series: 'noble', train: 'fix', ppas: ['ppa:team/fix:prefer'], packages: ['python3-cinder'], suffix: 'fix1', callback: 'https://hooks.example.com/heliostat?key=abc' },
    ]);
    expect(res.status).toBe(202);
    const body = (await res.json()) as { jobs: Array<{ id: string; state: string; links: { self: string; events: string } }> };
    expect(body.jobs).toHaveLength(2);
    expect(body.jobs[0]).toEqual({ id: expect.any(String) as string, state: 'queued', links: { self: `/api/v1/builds/${body.jobs[0]?.id}`, events: `/api/v1/builds/${body.jobs[0]?.id}/events` } });
    expect(lastCall('submit')?.args[1]).toBe('api');
    expect(lastCall('submit')?.args[2]).toBe('ci');
    expect((lastCall('submit')?.args[0] as unknown[]).length).toBe(2);
  });

  it('answers a single submission with a Location header', async () => {
    const res = await send(api, 'POST', '/api/v1/builds', [{ release: 'caracal' }]);
    expect(res.status).toBe(202);
    const { jobs } = (await res.json()) as { jobs: Array<{ id: string }> };
    expect(res.headers.get('location')).toBe(`/api/v1/builds/${jobs[0]?.id}`);
  });

  it('GET /builds lists jobs, filtered, with the callback reduced to its host', async () => {
    const res = await fetch(`${api.url}/api/v1/builds?train=fix&limit=5`);
    expect(res.status).toBe(200);
    const { jobs } = (await res.json()) as { jobs: Job[] };
    expect(jobs.length).toBeGreaterThan(0);
    expect(jobs.every((j) => j.request.train === 'fix')).toBe(true);
    expect(jobs[0]?.request.callback).toBe('https://hooks.example.com/…');
    expect(lastCall('jobs')?.args[0]).toEqual({ train: 'fix', limit: 5 });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('GET /builds/:id shows state, per-rock progress and summary', async () => {
    const job = api.controller.addJob({
      state: 'succeeded',
      rocks: [{ rock: 'cinder-api', state: 'built', durationMs: 1200 }],
      result: 'success',
      buildId: '20250101T000000Z',
      summary: { built: ['cinder-api'], reused: [], failed: [], skipped: [] },
    });
    const res = await fetch(`${api.url}/api/v1/builds/${job.id}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { job: Job & { links: unknown } };
    expect(body.job).toMatchObject({ id: job.id, state: 'succeeded', rocks: [{ rock: 'cinder-api', state: 'built' }], summary: { built: ['cinder-api'] }, links: { self: `/api/v1/builds/${job.id}` } });
  });

  it('GET /builds/:id of an unknown job is 404', async () => {
    const res = await fetch(`${api.url}/api/v1/builds/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no job nope' } });
  });

  it('DELETE /builds/:id cancels a running job, and 409 once it has ended', async () => {
    const job = api.controller.addJob({ state: 'running' });
    const res = await send(api, 'DELETE', `/api/v1/builds/${job.id}`, undefined, auth('ops-token-fedcba9876543210'));
    expect(res.status).toBe(202);
    expect(((await res.json()) as { job: Job }).job.state).toBe('cancelled');
    expect(lastCall('cancel')?.args).toEqual([job.id, 'ops']);
    const again = await send(api, 'DELETE', `/api/v1/builds/${job.id}`, undefined, auth());
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: { message: string } }).error.message).toMatch(/cancelled/);
  });
});

describe('trains, status, history', () => {
  it('GET /trains', async () => {
    const res = await fetch(`${api.url}/api/v1/trains`);
    expect(await res.json()).toEqual({ trains: api.controller.trainsValue });
  });

  it('GET /status, scrubbed of credentials', async () => {
    api.controller.statusValue = { ...api.controller.statusValue, mirror: { location: 'https://user:hunter2@mirror.example.com/base' } };
    const res = await fetch(`${api.url}/api/v1/status`);
    const text = await res.text();
    expect(res.status).toBe(200);
    expect(text).not.toContain('hunter2');
    expect((JSON.parse(text) as { queue: unknown }).queue).toEqual({ queued: 2, running: 1 });
  });

  it('GET /history with filters, secret-looking details redacted', async () => {
    api.controller.historyValue = [{ at: '2025-01-01T00:00:00Z', actor: 'ci', action: 'promote', target: 'reference/2024.1/noble/latest', detail: { token: 'abc', note: 'ok' } }];
    const res = await fetch(`${api.url}/api/v1/history?action=promote&limit=10`);
    const body = (await res.json()) as { entries: Array<{ detail: Record<string, unknown> }> };
    expect(body.entries[0]?.detail).toEqual({ token: '[redacted]', note: 'ok' });
    expect(lastCall('history')?.args[0]).toEqual({ action: 'promote', limit: 10 });
  });
});

describe('writes', () => {
  it('POST /reconcile passes dryRun and force and returns the result', async () => {
    api.controller.reconcileResult = { actions: [{ kind: 'attach', app: 'cinder' }], problems: [] };
    const res = await send(api, 'POST', '/api/v1/reconcile', { dryRun: true, force: false });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ dryRun: true, result: { actions: [{ kind: 'attach', app: 'cinder' }], problems: [] } });
    expect(lastCall('reconcile')?.args).toEqual([{ dryRun: true, force: false }, 'ci']);
  });

  it('POST /reconcile without a body is a plain pass', async () => {
    const res = await send(api, 'POST', '/api/v1/reconcile', undefined, auth());
    expect(res.status).toBe(200);
    expect(lastCall('reconcile')?.args).toEqual([{}, 'ci']);
  });

  it('POST /promote', async () => {
    const res = await send(api, 'POST', '/api/v1/promote', { ref: 'reference/caracal/noble/20250101T000000Z' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ref: 'reference/caracal/noble/20250101T000000Z', buildId: '20250101T000000Z' });
    expect(lastCall('promote')?.args).toEqual(['reference/caracal/noble/20250101T000000Z', 'ci']);
  });

  it('POST /pins and DELETE /pins', async () => {
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const res = await send(api, 'POST', '/api/v1/pins', { ref: 'reference/2024.1/noble/latest', name: 'team-a', expiresAt, note: 'for the upgrade test' });
    expect(res.status).toBe(201);
    expect(await res.json()).toEqual({ ref: 'reference/2024.1/noble/latest', buildId: '20250101T000000Z', name: 'team-a', expiresAt });
    expect(lastCall('pin')?.args).toEqual(['reference/2024.1/noble/latest', 'team-a', { expiresAt, note: 'for the upgrade test' }, 'ci']);
    const del = await send(api, 'DELETE', '/api/v1/pins', { ref: 'reference/2024.1/noble', name: 'team-a' });
    expect(del.status).toBe(204);
    expect(lastCall('unpin')?.args).toEqual(['reference/2024.1/noble', 'team-a', 'ci']);
  });

  it('maps a controller refusal to 400, a missing build to 404, its state to 409/503, an internal failure to a bare 500', async () => {
    const { UsageError } = await import('../../../src/errors.js');
    const { NotFoundInMirrorError } = await import('../../../mirror/query.js');
    api.controller.failNext = new UsageError('release caracal has no train fix');
    let res = await send(api, 'POST', '/api/v1/builds', [{ release: 'caracal' }]);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: { code: 'invalid_request', message: 'release caracal has no train fix' } });
    api.controller.failNext = new NotFoundInMirrorError('no build reference/2024.1/noble/20250101T000000Z');
    res = await send(api, 'POST', '/api/v1/promote', { ref: 'reference/2024.1/noble/20250101T000000Z' });
    expect(res.status).toBe(404);
    const { ControllerStateError } = await import('../../../src/controller/errors.js');
    api.controller.failNext = new ControllerStateError('this unit is not the leader; pins are made on the leader', 409);
    res = await send(api, 'POST', '/api/v1/pins', { ref: 'reference/2024.1/noble/latest', name: 'a' });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ error: { code: 'conflict', message: 'this unit is not the leader; pins are made on the leader' } });
    api.controller.failNext = new ControllerStateError('the controller is shutting down', 503);
    res = await send(api, 'POST', '/api/v1/builds', [{ release: 'caracal' }]);
    expect(res.status).toBe(503);
    api.controller.failNext = new Error('disk on fire at https://admin:s3cret@store.example.com');
    res = await send(api, 'POST', '/api/v1/reconcile', {});
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'internal', message: 'internal error; the controller log has the details' } });
    expect(api.logs.join('\n')).not.toContain('s3cret');
  });
});

describe('probes', () => {
  it('/healthz answers while the process runs', async () => {
    const res = await fetch(`${api.url}/healthz`);
    expect(await res.json()).toEqual({ status: 'ok' });
  });

  it('/readyz follows the controller status', async () => {
    let res = await fetch(`${api.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ready: true, checks: { controller: 'ok', mirror: 'ok' } });
    api.controller.statusError = new Error('config not loaded');
    res = await fetch(`${api.url}/readyz`);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ ready: false, checks: { controller: 'not ready', mirror: 'unknown' } });
    api.controller.statusError = undefined;
    api.controller.statusValue = { ...api.controller.statusValue, mirror: { location: 'fs:/x', reachable: false } as never };
    res = await fetch(`${api.url}/readyz`);
    expect(res.status).toBe(503);
  });

  it('unknown API paths are JSON 404s; other paths fall through to the app', async () => {
    const res = await fetch(`${api.url}/api/v1/nothing`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    const other = await fetch(`${api.url}/elsewhere`);
    expect(other.status).toBe(404);
    expect(other.headers.get('content-type')).not.toMatch(/json/);
  });
});
