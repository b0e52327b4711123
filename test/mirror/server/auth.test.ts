// Read access: public by default; otherwise a client's bearer token or basic-auth password (scrypt
// hash) on every route, 401 with WWW-Authenticate without them, and no credential in any response
// or log line.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword, isPasswordHash, validateReadAuth, verifyPassword, type MirrorReadAuth } from '../../../mirror/server/index.js';
import type { TempStore } from '../helpers.js';
import { buildRecordKey } from '../../../mirror/layout.js';
import { B2, B3, KEYSTONE_ROCK, SERIES, TS, cleanup, fixtureMirror, raw, serve, type Served } from './fixtures.js';

const TOKEN = 'tok-0123456789abcdef-secret';
const PASSWORD = 'correct horse battery staple';

let t: TempStore;
let open: Served;
let closed: Served;
const logged: string[] = [];
let auth: MirrorReadAuth;

beforeAll(async () => {
  t = await fixtureMirror();
  auth = {
    public: false,
    clients: [
      { name: 'ci', token: TOKEN },
      { name: 'alice', passwordHash: await hashPassword(PASSWORD) },
    ],
  };
  open = await serve(t.store);
  closed = await serve(t.store, { readAuth: auth, logger: { error: (details, message) => logged.push(`${message} ${JSON.stringify(details)}`) } });
});
afterAll(() => cleanup(t, open, closed));

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const PATHS = ['/', '/reference/', `/${SERIES}/`, `/${SERIES}/latest_build`, `/${SERIES}/${B3}/`, `/${SERIES}/${B3}/outputs/${KEYSTONE_ROCK}`, `/${SERIES}/history`, '/api/mirror/v1/trains', `/api/mirror/v1/builds/${SERIES}`, '/api/mirror/v1/nothing-here'];

describe('password hashes', () => {
  it('hashes with scrypt and verifies in constant time', async () => {
    const hash = await hashPassword('s3cret');
    expect(hash).toMatch(/^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    expect(isPasswordHash(hash)).toBe(true);
    expect(await verifyPassword('s3cret', hash)).toBe(true);
    expect(await verifyPassword('s3cret ', hash)).toBe(false);
    expect(await verifyPassword('s3cret', 'scrypt$zz$00')).toBe(false);
    expect(await hashPassword('s3cret')).not.toBe(hash); // fresh salt each time
    await expect(hashPassword('')).rejects.toThrow(/empty password/);
  });

  it('refuses a configuration that cannot work', () => {
    expect(() => validateReadAuth({ public: false, clients: [] })).toThrow(/lists no clients/);
    expect(() => validateReadAuth({ public: false, clients: [{ name: 'x' }] })).toThrow(/needs a token or a password hash/);
    expect(() => validateReadAuth({ public: false, clients: [{ name: 'x', passwordHash: 'plain' }] })).toThrow(/scrypt\$<salt hex>\$<hash hex>/);
  });
});

describe('read access', () => {
  it('is public without read auth', async () => {
    for (const path of PATHS.slice(0, -1)) expect((await fetch(`${open.url}${path}`)).status, path).toBe(200);
  });

  it.each(PATHS)('guards %s: 401 without credentials, 200 with a token or a password', async (path) => {
    const none = await fetch(`${closed.url}${path}`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="heliostat mirror", charset="UTF-8", Bearer realm="heliostat mirror"$/);
    expect(none.headers.get('cache-control')).toBe('no-store');
    expect(await none.text()).toMatch(/authentication required: send a bearer token or basic auth/);

    const expected = path.endsWith('nothing-here') ? 404 : 200;
    const token = await fetch(`${closed.url}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(token.status).toBe(expected);
    if (expected === 200) expect(token.headers.get('cache-control')).toMatch(/^private/);
    expect(token.headers.get('vary')).toMatch(/Authorization/);
    await token.arrayBuffer();
    const password = await fetch(`${closed.url}${path}`, { headers: { Authorization: basic('alice', PASSWORD) } });
    expect(password.status).toBe(expected);
    await password.arrayBuffer();
  });

  it.each([
    ['a wrong token', `Bearer ${TOKEN}x`],
    ['a token prefix', `Bearer ${TOKEN.slice(0, 10)}`],
    ['a wrong password', basic('alice', `${PASSWORD}!`)],
    ['the token as a password', basic('ci', TOKEN)],
    ['an unknown user', basic('mallory', PASSWORD)],
    ['a password without a user', basic('', PASSWORD)],
    ['garbage', 'Basic !!!not-base64'],
    ['another scheme', `Digest username="alice"`],
  ])('refuses %s with 401 and echoes nothing', async (_label, header) => {
    const r = await raw(closed.url, `/${SERIES}/`, { headers: { Authorization: header } });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBeDefined();
    const everything = JSON.stringify(r.headers) + r.text;
    for (const secret of [TOKEN, PASSWORD, header]) expect(everything).not.toContain(secret);
  });

  it('logs neither refusals nor credentials, even when a request with them fails', async () => {
    await fetch(`${closed.url}/${SERIES}/`, { headers: { Authorization: `Bearer ${TOKEN}x` } });
    await fetch(`${closed.url}/${SERIES}/`, { headers: { Authorization: basic('alice', 'nope') } });
    expect(logged).toEqual([]);
    // A damaged build record: the client gets a bare 500, the log gets the cause.
    await t.store.put(buildRecordKey(TS, B2), '{"schema": 1, "damaged": true}');
    const failed = await fetch(`${closed.url}/${SERIES}/${B2}/`, { headers: { Authorization: basic('alice', PASSWORD) } });
    expect(failed.status).toBe(500);
    const text = await failed.text();
    expect(text).toBe('internal error: the mirror could not answer this request\n');
    expect(text).not.toContain(t.dir);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/damaged mirror object/);
    for (const secret of [TOKEN, PASSWORD, 'nope', basic('alice', PASSWORD).slice(6)]) expect(logged[0]).not.toContain(secret);
  });

  it('remembers an accepted password, so a browser session costs one scrypt', async () => {
    const header = { Authorization: basic('alice', PASSWORD) };
    await fetch(`${closed.url}/`, { headers: header });
    const started = performance.now();
    for (let i = 0; i < 20; i++) expect((await fetch(`${closed.url}/api/mirror/v1/trains`, { headers: header })).status).toBe(200);
    // 20 scrypt runs would take well over a second; cached checks take milliseconds.
    expect(performance.now() - started).toBeLessThan(1000);
  });
});
