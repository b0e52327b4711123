// The OpenAPI document against the code: every express route is documented, every documented
// operation exists and answers one of its documented statuses, and every $ref resolves.
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mountControllerHttp, openApiDocument } from '../../../src/controller/http/index.js';
import { FakeController } from './fake-controller.js';
import { jsonHeaders, send, startTestApi, type TestApi } from './harness.js';

interface Walkable {
  stack?: Array<{ rawPath?: unknown; route?: { path: string; methods: Record<string, boolean> }; handle: unknown }>;
}

/** Every (method, path) the mounted router serves, in OpenAPI path syntax. */
function walk(router: Walkable, prefix = ''): string[] {
  const out: string[] = [];
  for (const layer of router.stack ?? []) {
    if (layer.route) {
      const path = `${prefix}${layer.route.path}`.replace(/:(\w+)/g, '{$1}');
      for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') out.push(`${method.toUpperCase()} ${path}`);
    } else if (typeof layer.handle === 'function' && Array.isArray((layer.handle as Walkable).stack)) {
      const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
      out.push(...walk(layer.handle as Walkable, `${prefix}${mount}`));
    }
  }
  return out;
}

type Operation = { responses: Record<string, unknown>; parameters?: Array<{ in: string; name: string }> };
const doc = openApiDocument() as { openapi: string; paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, unknown> } };
const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));

describe('OpenAPI document', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  it('is OpenAPI 3.1 with resolvable references', () => {
    expect(doc.openapi).toBe('3.1.0');
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1] ?? '');
    expect(refs.length).toBeGreaterThan(5);
    for (const name of refs) expect(doc.components.schemas[name], name).toBeDefined();
    // Generated from the contract's schema, so the two stay the same.
    expect(Object.keys((doc.components.schemas['BuildRequest'] as { properties: object }).properties)).toContain('callback');
  });

  it('documents exactly the routes express serves', () => {
    const app = express();
    mountControllerHttp(app, new FakeController(), { writeTokens: [], mirrorRead: { public: true, clients: [] }, bodyLimitBytes: 1024, logger: pino({ level: 'silent' }) });
    const served = walk(app.router as unknown as Walkable);
    expect(served.length).toBeGreaterThan(10);
    expect([...new Set(served)].sort()).toEqual([...documented].sort());
  });

  it('is served at /api/v1/openapi.json', async () => {
    const res = await fetch(`${api.url}/api/v1/openapi.json`);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(doc)));
  });

  it('answers every documented operation with one of its documented statuses', async () => {
    const job = api.controller.addJob({ state: 'succeeded', result: 'success' });
    const running = api.controller.addJob({ state: 'running' });
    const bodies: Record<string, unknown> = {
      'POST /api/v1/builds': [{ release: 'caracal' }],
      'POST /api/v1/reconcile': { dryRun: true },
      'POST /api/v1/promote': { ref: 'reference/2024.1/noble/latest' },
      'POST /api/v1/pins': { ref: 'reference/2024.1/noble/latest', name: 'p' },
      'DELETE /api/v1/pins': { ref: 'reference/2024.1/noble', name: 'p' },
      'POST /api/v1/attachments': { ref: 'fix/2024.1/noble/latest' },
      'POST /api/v1/rollback': { app: 'cinder' },
      'POST /api/v1/gc': { dryRun: true },
    };
    for (const operation of documented) {
      const [method = '', template = ''] = operation.split(' ');
      const id = method === 'DELETE' ? running.id : job.id;
      const path = template.replace('{id}', id).replace('{train}', 'fix').replace('{release}', 'caracal').replace('{series}', 'noble');
      const res = method === 'GET' ? await fetch(`${api.url}${path}`) : await send(api, method, path, bodies[operation], jsonHeaders());
      await res.arrayBuffer();
      const responses = doc.paths[template]?.[method.toLowerCase()]?.responses ?? {};
      expect(Object.keys(responses), `${operation} answered ${res.status}`).toContain(String(res.status));
      expect(res.status, operation).toBeLessThan(400);
    }
  });
});
