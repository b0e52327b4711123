// /metrics: counters and histograms fed from controller events, gauges from status() at scrape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job } from '../../../src/controller/types.js';
import { startTestApi, type TestApi } from './harness.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

function finishedJob(patch: Partial<Job>): Job {
  return api.controller.addJob({ state: 'succeeded', startedAt: '2025-01-01T00:00:00.000Z', finishedAt: '2025-01-01T00:05:00.000Z', ...patch });
}

describe('metrics', () => {
  it('exposes build, rock, publish, reconcile, queue and HTTP metrics', async () => {
    const c = api.controller;
    c.emit({ type: 'build-finished', job: finishedJob({ result: 'success', request: { release: 'caracal', train: 'reference', series: 'noble' }, summary: { built: ['a', 'b'], reused: ['c'], failed: [], skipped: [] } }) });
    c.emit({
      type: 'build-finished',
      job: finishedJob({ state: 'failed', result: 'fail', summary: { built: [], reused: [], failed: [{ rock: 'd', failureClass: 'timeout' }], skipped: ['e'] } }),
    });
    c.emit({ type: 'build-finished', job: finishedJob({ state: 'cancelled', startedAt: undefined }) });
    c.emit({ type: 'published', train: 'reference', release: '2024.1', series: 'noble', buildId: '20250101T000000Z', result: 'success', durationMs: 12_000, bytesUploaded: 4096 } as never);
    c.emit({ type: 'attached', app: 'cinder', resource: 'cinder-api-image', ref: 'r', train: 'reference', buildId: '20250101T000000Z' });
    c.emit({ type: 'rolled-back', app: 'cinder', resource: 'cinder-api-image', to: 'sha256:x', reason: 'pods not ready' });
    c.emit({ type: 'restored', app: 'nova', resource: 'nova-api-image', to: 'sha256:y' });
    c.emit({ type: 'promoted', ref: 'reference/2024.1/noble/latest', buildId: '20250101T000000Z' });
    c.trainsValue = [];
    c.statusValue = { ...c.statusValue, queue: { queued: 7, running: 2 }, trains: [{ name: 'fix', release: '2024.1', series: 'noble', attach: false, pin: 'latest', lastRun: { at: '2025-02-01T00:00:00.000Z', jobId: 'j', state: 'succeeded', result: 'success' } }] };
    await fetch(`${api.url}/api/v1/trains`);

    const res = await fetch(`${api.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const expectLine = (re: RegExp) => expect(text).toMatch(re);
    expectLine(/^heliostat_builds_total\{result="success",failure_class="none"\} 1$/m);
    expectLine(/^heliostat_builds_total\{result="fail",failure_class="timeout"\} 1$/m);
    expectLine(/^heliostat_builds_total\{result="cancelled",failure_class="none"\} 1$/m);
    expectLine(/^heliostat_build_duration_seconds_sum\{result="success"\} 300$/m);
    expectLine(/^heliostat_build_duration_seconds_count\{result="fail"\} 1$/m);
    expectLine(/^heliostat_rocks_total\{outcome="built"\} 2$/m);
    expectLine(/^heliostat_rocks_total\{outcome="reused"\} 1$/m);
    expectLine(/^heliostat_rocks_total\{outcome="failed"\} 1$/m);
    expectLine(/^heliostat_rocks_total\{outcome="skipped"\} 1$/m);
    expectLine(/^heliostat_publish_duration_seconds_sum 12$/m);
    expectLine(/^heliostat_published_bytes_total 4096$/m);
    expectLine(/^heliostat_reconcile_actions_total\{action="attach"\} 1$/m);
    expectLine(/^heliostat_reconcile_actions_total\{action="rollback"\} 1$/m);
    expectLine(/^heliostat_reconcile_actions_total\{action="restore"\} 1$/m);
    expectLine(/^heliostat_rollbacks_total\{app="cinder"\} 1$/m);
    expectLine(/^heliostat_promotions_total 1$/m);
    expectLine(/^heliostat_queue_jobs\{state="queued"\} 7$/m);
    expectLine(/^heliostat_queue_jobs\{state="running"\} 2$/m);
    // From the event (caracal is 2024.1) and from the status at scrape time.
    expectLine(/^heliostat_last_success_timestamp_seconds\{train="reference",release="2024.1",series="noble"\} 1735689900$/m);
    expectLine(/^heliostat_last_success_timestamp_seconds\{train="fix",release="2024.1",series="noble"\} 1738368000$/m);
    expectLine(/^heliostat_http_requests_total\{method="GET",route="\/api\/v1\/trains",status="200"\} 1$/m);
    expectLine(/^heliostat_process_cpu_seconds_total /m);
  });

  it('keeps serving when the controller status fails', async () => {
    api.controller.statusError = new Error('busy');
    const res = await fetch(`${api.url}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^heliostat_queue_jobs\{state="queued"\} 7$/m);
    api.controller.statusError = undefined;
  });
});

describe('metrics registry', () => {
  it('uses the registry it is given, without process metrics', async () => {
    const { Registry } = await import('prom-client');
    const registry = new Registry();
    const other = await startTestApi({ metrics: registry });
    other.controller.emit({ type: 'promoted', ref: 'reference/2024.1/noble/latest', buildId: '20250101T000000Z' });
    expect(await registry.metrics()).toMatch(/^heliostat_promotions_total 1$/m);
    const served = await (await fetch(`${other.url}/metrics`)).text();
    expect(served).toMatch(/^heliostat_promotions_total 1$/m);
    expect(served).not.toMatch(/heliostat_process_cpu/);
    await other.close();
  });
});
