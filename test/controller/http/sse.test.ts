// GET /builds/:id/events end to end over a real socket: current state first, rock changes and log
// batches in order, heartbeats, the stream's end with the job, and clean-up on client disconnect.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEventStream, type SseEvent } from '../../../src/cli/server-client.js';
import { startTestApi, type TestApi } from './harness.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(5);
  }
}

async function collect(response: Response): Promise<SseEvent[]> {
  const events: SseEvent[] = [];
  if (!response.body) throw new Error('no body');
  for await (const event of parseEventStream(response.body)) events.push(event);
  return events;
}

describe('job event stream', () => {
  it('streams state, rock changes and log batches in order and closes when the job ends', async () => {
    const job = api.controller.addJob({ state: 'queued', rocks: [{ rock: 'cinder-api', state: 'pending' }] });
    const response = await fetch(`${api.url}/api/v1/builds/${job.id}/events`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const events = collect(response);
    await until(() => api.controller.subscriberCount(job.id) === 1);
    const c = api.controller;
    c.update(job.id, { state: 'running', startedAt: new Date().toISOString() });
    c.rock(job.id, { rock: 'cinder-api', state: 'building' });
    c.log(job.id, 'cinder-api', ['step 1']);
    c.log(job.id, 'cinder-api', ['step 2', 'step 3']);
    c.rock(job.id, { rock: 'cinder-api', state: 'built', durationMs: 1500 });
    c.log(job.id, 'cinder-api', ['after']);
    await sleep(60); // longer than the flush delay: this batch goes out on its own
    c.update(job.id, { state: 'succeeded', result: 'success', buildId: '20250101T000000Z', finishedAt: new Date().toISOString() });
    const got = await events;
    expect(got.map((e) => e.event)).toEqual(['job', 'job', 'rock', 'log', 'rock', 'log', 'job', 'end']);
    const data = got.map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect(data[0]).toMatchObject({ id: job.id, state: 'queued' });
    expect(data[1]).toMatchObject({ state: 'running' });
    expect(data[2]).toEqual({ jobId: job.id, rock: { rock: 'cinder-api', state: 'building' } });
    // Lines that arrived close together went out as one batch, before the next rock change.
    expect(data[3]).toEqual({ jobId: job.id, rock: 'cinder-api', lines: ['step 1', 'step 2', 'step 3'] });
    expect(data[5]).toEqual({ jobId: job.id, rock: 'cinder-api', lines: ['after'] });
    expect(data[6]).toMatchObject({ state: 'succeeded', result: 'success', links: { self: `/api/v1/builds/${job.id}` } });
    expect(data[7]).toEqual({ jobId: job.id, state: 'succeeded' });
    expect(got.map((e) => Number(e.id))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    await until(() => c.subscriberCount(job.id) === 0);
  });

  it('answers a finished job with its state and the end at once', async () => {
    const job = api.controller.addJob({ state: 'failed', result: 'fail', error: 'upstream unreachable' });
    const got = await collect(await fetch(`${api.url}/api/v1/builds/${job.id}/events`));
    expect(got.map((e) => e.event)).toEqual(['job', 'end']);
    expect(api.controller.subscriberCount(job.id)).toBe(0);
  });

  it('sends heartbeats while nothing happens', async () => {
    const job = api.controller.addJob({ state: 'running' });
    const response = await fetch(`${api.url}/api/v1/builds/${job.id}/events`);
    const reader = response.body?.getReader();
    let text = '';
    const decoder = new TextDecoder();
    while (!text.includes(': heartbeat')) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      text += decoder.decode(chunk.value as Uint8Array);
    }
    expect(text).toMatch(/^retry: 3000\n\n/);
    expect(text).toContain(': heartbeat\n\n');
    await reader?.cancel();
    await until(() => api.controller.subscriberCount(job.id) === 0);
  });

  it('unsubscribes when the client goes away', async () => {
    const job = api.controller.addJob({ state: 'running' });
    const abort = new AbortController();
    const response = await fetch(`${api.url}/api/v1/builds/${job.id}/events`, { signal: abort.signal });
    expect(response.status).toBe(200);
    await until(() => api.controller.subscriberCount(job.id) === 1);
    abort.abort();
    await until(() => api.controller.subscriberCount(job.id) === 0);
    // Events after the disconnect go nowhere and break nothing.
    api.controller.update(job.id, { state: 'succeeded' });
  });

  it('sends a burst of log lines in batches bounded in size', async () => {
    const job = api.controller.addJob({ state: 'running' });
    const events = collect(await fetch(`${api.url}/api/v1/builds/${job.id}/events`));
    await until(() => api.controller.subscriberCount(job.id) === 1);
    for (let i = 0; i < 450; i++) api.controller.log(job.id, 'nova-api', [`line ${i}`]);
    api.controller.update(job.id, { state: 'succeeded', result: 'success' });
    const logs = (await events).filter((e) => e.event === 'log').map((e) => (JSON.parse(e.data) as { lines: string[] }).lines);
    expect(logs.map((l) => l.length)).toEqual([200, 200, 50]);
    expect(logs.flat()).toEqual(Array.from({ length: 450 }, (_, i) => `line ${i}`));
  });

  it('answers HEAD without holding the connection', async () => {
    const job = api.controller.addJob({ state: 'running' });
    const res = await fetch(`${api.url}/api/v1/builds/${job.id}/events`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(api.controller.subscriberCount(job.id)).toBe(0);
  });

  it('404s an unknown job and 400s a malformed id without subscribing', async () => {
    const before = api.controller.calls.filter((c) => c.method === 'subscribe').length;
    expect((await fetch(`${api.url}/api/v1/builds/missing/events`)).status).toBe(404);
    expect((await fetch(`${api.url}/api/v1/builds/${encodeURIComponent('a b')}/events`)).status).toBe(400);
    expect(api.controller.calls.filter((c) => c.method === 'subscribe').length).toBe(before);
  });
});
