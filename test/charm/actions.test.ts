// The charm's actions run as Juju runs them (node dist/charm/main.js with JUJU_ACTION_NAME), against
// a small HTTP server standing in for the controller's API.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { emptyHookState, ensureHookToolsBuilt, HOOK_STATE_ENV, HOOK_TOOLS_BIN_DIR, readHookState, REPO_ROOT, writeHookState } from '../fixtures/hook-tools/standin.js';

const run = promisify(execFile);
const TOKEN = '0123456789abcdef0123';
let dir: string;
let server: Server;
let url: string;
let seen: { method: string; path: string; auth: string | undefined; body: string }[];

beforeAll(() => ensureHookToolsBuilt(), 120_000);
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'heliostat-actions-'));
  mkdirSync(join(dir, 'data'));
  writeFileSync(join(dir, 'data', 'heliostat.yaml'), stringify({ trains: [{ name: 'operator', release: 'caracal' }], tokens: [{ name: 'juju', token: TOKEN }] }));
  seen = [];
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', auth: req.headers.authorization, body });
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url === '/api/v1/builds') res.writeHead(202).end(JSON.stringify({ jobs: [{ id: '20261122T031500Z', state: 'queued' }] }));
      else if (req.url === '/api/v1/builds') res.end(JSON.stringify({ jobs: [{ id: 'a' }, { id: 'b' }] }));
      else if (req.url === '/api/v1/status') res.end(JSON.stringify({ leader: true }));
      else res.writeHead(404).end(JSON.stringify({ error: { message: 'not found' } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1`;
});
afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

async function action(name: string, params: Record<string, unknown> = {}) {
  const stateFile = join(dir, 'state.json');
  writeHookState(stateFile, { ...emptyHookState(), action: { params, results: {} } });
  await run(process.execPath, [join(REPO_ROOT, 'dist/charm/main.js')], {
    env: { PATH: `${HOOK_TOOLS_BIN_DIR}:${process.env['PATH'] ?? ''}`, CHARM_DIR: REPO_ROOT, JUJU_ACTION_NAME: name, JUJU_DISPATCH_PATH: `actions/${name}`, JUJU_UNIT_NAME: 'heliostat/0', [HOOK_STATE_ENV]: stateFile, HELIOSTAT_CHARM_DATA_DIR: join(dir, 'data'), HELIOSTAT_CHARM_API_URL: url },
  });
  return readHookState(stateFile).action;
}

describe('charm actions', { timeout: 30_000 }, () => {
  it('build posts a build of the operator train with the API token', async () => {
    const a = await action('build');
    expect(a?.results).toEqual({ jobs: '20261122T031500Z', state: 'queued' });
    expect(seen[0]).toMatchObject({ method: 'POST', path: '/api/v1/builds', auth: `Bearer ${TOKEN}` });
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual([{ train: 'operator', release: 'caracal' }]);
  });

  it('build of an unknown train fails the action', async () => {
    const a = await action('build', { train: 'nope' });
    expect(a?.failed).toBe('no train named "nope" is configured');
    expect(seen).toEqual([]);
  });

  it('list-builds and status return the API answers', async () => {
    expect((await action('list-builds'))?.results).toEqual({ count: '2', builds: '[{"id":"a"},{"id":"b"}]' });
    expect((await action('status'))?.results).toEqual({ status: '{"leader":true}' });
  });
});
