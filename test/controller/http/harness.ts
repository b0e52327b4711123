// Runs the API on a real socket over a FakeController, with the log captured in memory so that
// tests can check what was (and was not) logged.
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express from 'express';
import { pino } from 'pino';
import type { Registry } from 'prom-client';
import { mountControllerHttp, type ControllerHttpOptions } from '../../../src/controller/http/index.js';
import type { ControllerApi } from '../../../src/controller/types.js';
import { FakeController } from './fake-controller.js';

export const WRITE_TOKEN = 'ci-token-0123456789abcdef';
export const OTHER_TOKEN = 'ops-token-fedcba9876543210';

export interface TestApi<C extends ControllerApi = FakeController> {
  url: string;
  controller: C;
  /** The registry the test passed, if any (the API otherwise makes its own, with process metrics). */
  registry?: Registry;
  logs: string[];
  close(): Promise<void>;
}

export function startTestApi(options: Partial<ControllerHttpOptions> & { controller?: FakeController } = {}): Promise<TestApi> {
  return startApiOver(options.controller ?? new FakeController(), options);
}

/** The API over any controller (a real one for end-to-end route tests). */
export async function startApiOver<C extends ControllerApi>(controller: C, options: Partial<ControllerHttpOptions> = {}): Promise<TestApi<C>> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
      done();
    },
  });
  const registry = options.metrics;
  const app = express();
  mountControllerHttp(app, controller, {
    writeTokens: [
      { name: 'ci', token: WRITE_TOKEN },
      { name: 'ops', token: OTHER_TOKEN },
    ],
    mirrorRead: { public: true, clients: [] },
    bodyLimitBytes: 64 * 1024,
    signingSecret: 'signing-secret-never-shown',
    allowLoopbackHttpCallbacks: false,
    sse: { heartbeatMs: 50, logFlushMs: 20 },
    ...options,
    logger: options.logger ?? pino({ level: 'debug' }, sink),
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    controller,
    registry,
    logs,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const auth = (token = WRITE_TOKEN) => ({ authorization: `Bearer ${token}` });
export const jsonHeaders = (token = WRITE_TOKEN) => ({ ...auth(token), 'content-type': 'application/json' });

/** POSTs (or another method) JSON with the write token. */
export function send(api: Pick<TestApi<ControllerApi>, 'url'>, method: string, path: string, body?: unknown, headers: Record<string, string> = jsonHeaders()): Promise<Response> {
  return fetch(`${api.url}${path}`, { method, headers, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
}
