// The composition of `heliostat serve` in-process: the controller's API, probes and metrics and the
// mirror's API and browse pages on one app, with the configured tokens and mirror read access.
import { pino } from 'pino';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import { parseEventStream } from '../../src/cli/server-client.js';
import { composeApp } from '../../src/controller/serve.js';
import { configDoc, openController, startFixtures, TOKEN, waitForJob, type Fixtures, type OpenedController } from './harness.js';

let f: Fixtures;
let c: OpenedController;
let app: ReturnType<typeof composeApp>;

beforeAll(async () => {
  f = await startFixtures();
  c = await openController(f, configDoc(f, { mirror: { public: false, clients: [{ name: 'reader', token: 'reader-token-0123456789' }] } }));
  app = composeApp({ controller: c.controller, config: c.config, logger: pino({ level: 'silent' }), store: c.store });
}, 60_000);

afterAll(async () => {
  await c?.controller.drain(0);
  await f?.close();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe('serve composition', () => {
  it('answers the probes and guards the API with the configured tokens', async () => {
    expect((await request(app).get('/healthz')).status).toBe(200);
    expect((await request(app).get('/api/v1/status')).status).toBe(401);
    const status = await request(app).get('/api/v1/status').set(bearer('reader-token-0123456789'));
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ leader: true, builder: { available: true }, config: { source: '(defaults)' } });
    expect((await request(app).post('/api/v1/builds').set(bearer('reader-token-0123456789')).send([{ release: 'caracal' }])).status).toBe(401);
  });

  it('queues builds through the API, refusing bad ones with the field named', async () => {
    const bad = await request(app).post('/api/v1/builds').set(bearer(TOKEN)).send([{ release: 'caracal', rocks: ['../x'] }]);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/rocks.*invalid rock name/);
    expect(c.controller.jobs()).toEqual([]);
    const good = await request(app).post('/api/v1/builds').set(bearer(TOKEN)).send([{ release: 'caracal', rocks: ['keystone'] }]);
    expect(good.status).toBe(202);
    const id = (good.body as { jobs: Array<{ id: string }> }).jobs[0]?.id ?? '';
    expect((await waitForJob(c.controller, id)).state).toBe('succeeded');
  });

  it('streams the progress of a build over Server-Sent Events, rock by rock, until it ends', async () => {
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const queued = await fetch(`${base}/api/v1/builds`, {
        method: 'POST',
        headers: { ...bearer(TOKEN), 'content-type': 'application/json' },
        body: JSON.stringify([{ release: 'caracal', components: ['cinder'], force: true }]),
      });
      expect(queued.status).toBe(202);
      const id = ((await queued.json()) as { jobs: Array<{ id: string }> }).jobs[0]?.id ?? '';
      const stream = await fetch(`${base}/api/v1/builds/${id}/events`, { headers: bearer('reader-token-0123456789') });
      expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const seen: string[] = [];
      let last: { state?: string } = {};
      for await (const event of parseEventStream(stream.body as unknown as AsyncIterable<Uint8Array>)) {
        if (event.event === 'rock') {
          const rock = JSON.parse(event.data) as { rock: { rock: string; state: string } };
          seen.push(`${rock.rock.rock} ${rock.rock.state}`);
        }
        if (event.event === 'job') last = JSON.parse(event.data) as { state: string };
        if (event.event === 'end') {
          expect(JSON.parse(event.data)).toMatchObject({ jobId: id, state: 'succeeded' });
          break;
        }
      }
      for (const rock of ['cinder-api', 'cinder-consolidated', 'cinder-scheduler', 'cinder-volume']) {
        expect(seen, rock).toContain(`${rock} building`);
        expect(seen, rock).toContain(`${rock} built`);
        expect(seen.indexOf(`${rock} building`)).toBeLessThan(seen.indexOf(`${rock} built`));
      }
      expect(last.state).toBe('succeeded');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('serves the mirror beside the API, behind its read guard', async () => {
    expect((await request(app).get('/api/mirror/v1/trains')).status).toBe(401);
    const trains = await request(app).get('/api/mirror/v1/trains').set(bearer('reader-token-0123456789'));
    expect(trains.status).toBe(200);
    expect(JSON.stringify(trains.body)).toContain('reference');
  });
});
