// Webhooks and job callbacks against a local receiver: signed bodies, event filters, retries with
// backoff, timeouts, redirects not followed, and a controller that is never held up.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Notifier, verifySignature, type NotifierOptions, type Notification } from '../../../src/controller/notify/index.js';
import type { ControllerEvent, Job } from '../../../src/controller/types.js';
import { FakeController } from '../http/fake-controller.js';
import { send, startTestApi } from '../http/harness.js';
import { startReceiver, type Receiver } from './receiver.js';

const SECRET = 'webhook-signing-secret';
let receiver: Receiver;
let logs: string[];
let logger: Logger;

beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(() => receiver.close());
afterEach(() => {
  receiver.received.length = 0;
  receiver.script.length = 0;
});

function notifier(options: Partial<NotifierOptions> = {}): Notifier {
  logs = [];
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => (logs.push(chunk.toString()), done()) });
  logger = pino(sink);
  return new Notifier({ webhooks: [], signingSecret: SECRET, logger, allowLoopbackHttp: true, backoffMs: 10, maxBackoffMs: 50, timeoutMs: 1000, retries: 3, ...options });
}

const job = (patch: Partial<Job> = {}): Job => ({
  id: 'job-7',
  request: { release: '2024.1', train: 'fix', series: 'noble' },
  trigger: 'api',
  state: 'succeeded',
  createdAt: '2025-01-01T00:00:00Z',
  rocks: [],
  result: 'success',
  buildId: '20250101T000000Z',
  ...patch,
});
const finished = (patch: Partial<Job> = {}): ControllerEvent => ({ type: 'build-finished', job: job(patch) });

describe('webhooks', () => {
  it('POSTs signed JSON to the webhooks that asked for the event', async () => {
    const n = notifier({
      webhooks: [
        { url: `${receiver.url}/builds`, events: ['build-finished'] },
        { url: `${receiver.url}/promotions`, events: ['promoted'] },
        { url: `${receiver.url}/all`, events: ['*'] },
      ],
    });
    const controller = new FakeController();
    n.attach(controller);
    controller.emit(finished({ request: { release: '2024.1', train: 'fix', series: 'noble', callback: 'https://hooks.example.com/secret-path' } }));
    controller.emit({ type: 'rolled-back', app: 'cinder', resource: 'cinder-api-image', to: 'sha256:abc', reason: 'pods not ready' });
    await n.idle();
    const paths = receiver.received.map((r) => r.path).sort();
    expect(paths).toEqual(['/all', '/all', '/builds']);
    for (const request of receiver.received) {
      expect(request.headers['content-type']).toBe('application/json');
      expect(verifySignature(request.body, request.headers['x-heliostat-signature'] as string, SECRET)).toBe(true);
      expect(verifySignature(request.body, request.headers['x-heliostat-signature'] as string, 'other')).toBe(false);
      const body = JSON.parse(request.body) as Notification;
      expect(request.headers['x-heliostat-event']).toBe(body.event);
      expect(request.headers['x-heliostat-delivery']).toBe(body.id);
    }
    const build = JSON.parse(receiver.received.find((r) => r.path === '/builds')?.body ?? '{}') as Notification;
    expect(build).toMatchObject({ event: 'build-finished', data: { job: { id: 'job-7', result: 'success', request: { callback: 'https://hooks.example.com/…' } } } });
    const rollback = receiver.received.map((r) => JSON.parse(r.body) as Notification).find((b) => b.event === 'rolled-back');
    expect(rollback?.data).toEqual({ app: 'cinder', resource: 'cinder-api-image', to: 'sha256:abc', reason: 'pods not ready' });
    expect(logs.join('')).not.toContain(SECRET);
  });

  it('retries 5xx and 429 with backoff, keeping the delivery id', async () => {
    const n = notifier({ webhooks: [{ url: `${receiver.url}/flaky`, events: ['*'] }] });
    receiver.script.push({ status: 503 }, { status: 429, headers: { 'retry-after': '0' } }, { status: 500 });
    const started = Date.now();
    n.handle({ type: 'promoted', ref: 'fix/2024.1/noble/latest', buildId: '20250101T000000Z' });
    await n.idle();
    expect(receiver.received).toHaveLength(4);
    expect(new Set(receiver.received.map((r) => r.headers['x-heliostat-delivery'])).size).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(10 + 20 + 40);
    expect(logs.join('')).toMatch(/"attempts":4.*notification delivered/);
  });

  it('gives up after the last retry and logs it', async () => {
    const n = notifier({ webhooks: [{ url: `${receiver.url}/down`, events: ['*'] }], retries: 2 });
    receiver.script.push({ status: 502 }, { status: 502 }, { status: 502 }, { status: 502 });
    n.handle({ type: 'unpinned', ref: 'fix/2024.1/noble', name: 'a' });
    await n.idle();
    expect(receiver.received).toHaveLength(3);
    expect(logs.join('')).toMatch(/"attempts":3.*"reason":"answered 502".*not delivered/);
  });

  it('does not retry a 4xx refusal', async () => {
    const n = notifier({ webhooks: [{ url: `${receiver.url}/refuses`, events: ['*'] }] });
    receiver.script.push({ status: 400 });
    n.handle({ type: 'unpinned', ref: 'fix/2024.1/noble', name: 'a' });
    await n.idle();
    expect(receiver.received).toHaveLength(1);
  });

  it('never follows a redirect', async () => {
    const n = notifier({ webhooks: [{ url: `${receiver.url}/moved`, events: ['*'] }] });
    receiver.script.push({ status: 307, headers: { location: `${receiver.url}/elsewhere` } });
    n.handle({ type: 'unpinned', ref: 'fix/2024.1/noble', name: 'a' });
    await n.idle();
    expect(receiver.received.map((r) => r.path)).toEqual(['/moved']);
    expect(logs.join('')).toMatch(/redirects are not followed/);
  });

  it('times out a receiver that does not answer, and retries', async () => {
    const n = notifier({ webhooks: [{ url: `${receiver.url}/slow`, events: ['*'] }], timeoutMs: 100, retries: 1 });
    receiver.script.push({ status: 200, delayMs: 2000 }, { status: 200 });
    n.handle({ type: 'unpinned', ref: 'fix/2024.1/noble', name: 'a' });
    await n.idle();
    expect(receiver.received).toHaveLength(2);
    expect(logs.join('')).toMatch(/"attempts":2.*notification delivered/);
  });

  it('never holds up the controller, and bounds its backlog', async () => {
    const n = notifier({ webhooks: [{ url: `${receiver.url}/hang`, events: ['*'] }], concurrency: 1, maxPending: 2, timeoutMs: 300, retries: 0 });
    receiver.script.push({ status: 200, delayMs: 5000 });
    const controller = new FakeController();
    n.attach(controller);
    const started = performance.now();
    for (let i = 0; i < 5; i++) controller.emit({ type: 'unpinned', ref: 'fix/2024.1/noble', name: `p${i}` });
    expect(performance.now() - started).toBeLessThan(50);
    await n.idle();
    // One in flight, two waiting; the two oldest waiting ones were dropped.
    expect(receiver.received).toHaveLength(3);
    expect(receiver.received.map((r) => (JSON.parse(r.body) as Notification).data['name'])).toEqual(['p0', 'p3', 'p4']);
    expect(logs.join('').match(/backlog full/g)).toHaveLength(2);
  });

  it('refuses webhook URLs that are not https (or loopback http when allowed)', () => {
    expect(() => notifier({ webhooks: [{ url: 'http://hooks.example.com/x', events: ['*'] }] })).toThrow(/webhook 1 \(http:\/\/hooks.example.com\/…\): URL may use plain http only to the loopback/);
    expect(() => notifier({ webhooks: [{ url: 'file:///etc/passwd', events: ['*'] }] })).toThrow(/must use https/);
    expect(() => notifier({ webhooks: [{ url: `${receiver.url}/x`, events: ['*'] }], allowLoopbackHttp: false })).toThrow(/must use https/);
  });
});

describe('job callbacks', () => {
  it('POSTs the finished job to its callback, signed', async () => {
    const n = notifier();
    n.handle(finished({ request: { release: '2024.1', train: 'fix', series: 'noble', callback: `${receiver.url}/cb?token=abc` } }));
    await n.idle();
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request?.path).toBe('/cb?token=abc');
    expect(request?.headers['x-heliostat-event']).toBe('build-finished');
    expect(verifySignature(request?.body ?? '', request?.headers['x-heliostat-signature'] as string, SECRET)).toBe(true);
    expect(logs.join('')).not.toContain('token=abc');
  });

  it('skips a callback that breaks the URL rules', async () => {
    const n = notifier({ allowLoopbackHttp: false });
    n.handle(finished({ request: { release: '2024.1', train: 'fix', series: 'noble', callback: `${receiver.url}/cb` } }));
    await n.idle();
    expect(receiver.received).toHaveLength(0);
    expect(logs.join('')).toMatch(/job callback not sent: URL must use https/);
  });

  it('sends unsigned when no secret is configured, and says so once', async () => {
    const n = notifier({ signingSecret: undefined, webhooks: [{ url: `${receiver.url}/u`, events: ['*'] }] });
    n.handle({ type: 'unpinned', ref: 'fix/2024.1/noble', name: 'a' });
    await n.idle();
    expect(receiver.received[0]?.headers['x-heliostat-signature']).toBeUndefined();
    expect(logs.join('')).toMatch(/no signing secret configured/);
  });

  it('delivers the callback a client gave through the API when its job ends', async () => {
    const api = await startTestApi({ allowLoopbackHttpCallbacks: true });
    try {
      const n = notifier();
      n.attach(api.controller);
      const refused = await send(api, 'POST', '/api/v1/builds', [{ release: 'caracal', callback: 'http://hooks.example.com/x' }]);
      expect(refused.status).toBe(400);
      const res = await send(api, 'POST', '/api/v1/builds', [{ release: 'caracal', callback: `${receiver.url}/done` }]);
      expect(res.status).toBe(202);
      const { jobs } = (await res.json()) as { jobs: Array<{ id: string }> };
      const id = jobs[0]?.id ?? '';
      const job = api.controller.update(id, { state: 'succeeded', result: 'success' });
      api.controller.emit({ type: 'build-finished', job });
      await n.idle();
      expect(receiver.received.map((r) => r.path)).toEqual(['/done']);
      const body = JSON.parse(receiver.received[0]?.body ?? '{}') as Notification;
      expect(body.data).toMatchObject({ job: { id, state: 'succeeded', request: { callback: `${receiver.url}/…` } } });
    } finally {
      await api.close();
    }
  });
});
