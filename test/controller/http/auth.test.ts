// Authentication: write tokens on every write, the token's name as the actor, constant-time
// matching, private reads when the mirror is private, and no token in any log line.
import { randomBytes, scryptSync } from 'node:crypto';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { digestTokens, matchToken, verifyPassword } from '../../../src/controller/http/auth.js';
import { httpLogger } from '../../../src/controller/http/logging.js';
import { OTHER_TOKEN, WRITE_TOKEN, auth, send, startTestApi, type TestApi } from './harness.js';

const READER_TOKEN = 'reader-token-5555';
const salt = randomBytes(16);
const PASSWORD_HASH = `scrypt$${salt.toString('hex')}$${scryptSync('pull-secret', salt, 32).toString('hex')}`;

describe('write tokens', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api.close());

  it('records the token name, never the token, as the actor', async () => {
    await send(api, 'POST', '/api/v1/promote', { ref: 'reference/2024.1/noble/latest' }, { ...auth(OTHER_TOKEN), 'content-type': 'application/json' });
    expect(api.controller.calls.at(-1)).toEqual({ method: 'promote', args: ['reference/2024.1/noble/latest', 'ops'] });
    const log = api.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['path'] === '/api/v1/promote');
    expect(log).toMatchObject({ actor: 'ops', status: 200, route: '/api/v1/promote', method: 'POST' });
    expect(api.logs.join('\n')).not.toContain(OTHER_TOKEN);
  });

  it('lets anyone read while the mirror is public', async () => {
    expect((await fetch(`${api.url}/api/v1/status`)).status).toBe(200);
    expect((await fetch(`${api.url}/metrics`)).status).toBe(200);
  });

  it('matches tokens by digest, whichever position they have', () => {
    const tokens = digestTokens([
      { name: 'a', token: 'alpha' },
      { name: 'b', token: 'bravo' },
    ]);
    expect(matchToken('bravo', tokens)).toBe('b');
    expect(matchToken('alpha', tokens)).toBe('a');
    expect(matchToken('alph', tokens)).toBeUndefined();
    expect(matchToken('', tokens)).toBeUndefined();
    expect(matchToken('x'.repeat(10_000), tokens)).toBeUndefined();
  });

  it('redacts authorization headers in anything logged through the HTTP logger', () => {
    const lines: string[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) });
    httpLogger(pino(sink)).info({ req: { headers: { authorization: `Bearer ${WRITE_TOKEN}`, cookie: 'sid=1' } }, token: WRITE_TOKEN }, 'x');
    expect(lines.join('')).not.toContain(WRITE_TOKEN);
    expect(lines.join('')).not.toContain('sid=1');
    expect(lines.join('')).toContain('[redacted]');
  });
});

describe('a private mirror makes reads private', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({
      mirrorRead: {
        public: false,
        clients: [
          { name: 'ci-reader', token: READER_TOKEN },
          { name: 'puller', passwordHash: PASSWORD_HASH },
        ],
      },
    });
  });
  afterAll(() => api.close());

  it('refuses anonymous reads with a challenge', async () => {
    for (const path of ['/api/v1/builds', '/api/v1/status', '/api/v1/trains', '/api/v1/history', '/metrics']) {
      const res = await fetch(`${api.url}${path}`);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="heliostat", Basic realm="heliostat"');
    }
  });

  it('accepts a read client token, a basic password and a write token', async () => {
    expect((await fetch(`${api.url}/api/v1/status`, { headers: auth(READER_TOKEN) })).status).toBe(200);
    const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`puller:${password}`).toString('base64')}` });
    expect((await fetch(`${api.url}/api/v1/status`, { headers: basic('pull-secret') })).status).toBe(200);
    expect((await fetch(`${api.url}/api/v1/status`, { headers: basic('wrong') })).status).toBe(401);
    expect((await fetch(`${api.url}/api/v1/status`, { headers: auth(WRITE_TOKEN) })).status).toBe(200);
  });

  it('does not let a read client write', async () => {
    const res = await send(api, 'POST', '/api/v1/reconcile', {}, { ...auth(READER_TOKEN), 'content-type': 'application/json' });
    expect(res.status).toBe(401);
    expect(api.controller.mutatingCalls()).toEqual([]);
  });

  it('keeps probes and the API description public', async () => {
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${api.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${api.url}/api/v1/openapi.json`)).status).toBe(200);
  });

  it('verifies scrypt password hashes and refuses malformed ones', async () => {
    expect(await verifyPassword('pull-secret', PASSWORD_HASH)).toBe(true);
    expect(await verifyPassword('pull-secret', 'scrypt$zz$zz')).toBe(false);
    expect(await verifyPassword('pull-secret', 'plain')).toBe(false);
  });
});
