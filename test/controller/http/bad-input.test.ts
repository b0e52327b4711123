// Bad input, each answered 4xx with JSON {error: {code, message}} that says what is wrong, and in
// no case a mutating call on the controller.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTHER_TOKEN, WRITE_TOKEN, startTestApi, type TestApi } from './harness.js';

let api: TestApi;

beforeAll(async () => {
  api = await startTestApi();
  api.controller.addJob({ id: 'job-live', state: 'running' });
});
afterAll(() => api.close());

interface Case {
  name: string;
  method?: string;
  path?: string;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  status: number;
  code: string;
  message: RegExp;
  header?: [string, RegExp];
}

const json = (value: unknown) => JSON.stringify(value);
const build = (request: Record<string, unknown>) => json([{ release: 'caracal', ...request }]);
const H = { authorization: `Bearer ${WRITE_TOKEN}`, 'content-type': 'application/json' };
const future = new Date(Date.now() + 86_400_000).toISOString();

const cases: Case[] = [
  { name: 'malformed JSON', body: '[{"release": "caracal"', status: 400, code: 'invalid_json', message: /not valid JSON/ },
  { name: 'a JSON string instead of a list', body: '"caracal"', status: 400, code: 'invalid_json', message: /not valid JSON/ },
  { name: 'an object instead of a list', body: json({ release: 'caracal' }), status: 400, code: 'invalid_request', message: /JSON list of build requests/ },
  { name: 'an empty list', body: '[]', status: 400, code: 'invalid_request', message: /empty/ },
  { name: 'too many requests', body: json(Array.from({ length: 21 }, () => ({ release: 'caracal' }))), status: 400, code: 'invalid_request', message: /at most 20/ },
  { name: 'a huge body', body: json([{ release: 'caracal', rocks: ['x'.repeat(100_000)] }]), status: 413, code: 'payload_too_large', message: /larger than 65536 bytes/ },
  { name: 'text/plain body', body: build({}), headers: { ...H, 'content-type': 'text/plain' }, status: 415, code: 'unsupported_media_type', message: /application\/json \(got text\/plain\)/ },
  { name: 'no content type', body: new TextEncoder().encode(build({})), headers: { authorization: H.authorization }, status: 415, code: 'unsupported_media_type', message: /no Content-Type/ },
  { name: 'latin-1 charset', body: build({}), headers: { ...H, 'content-type': 'application/json; charset=latin1' }, status: 415, code: 'unsupported_media_type', message: /UTF-8/ },
  { name: 'unknown fields', body: json([{ release: 'caracal' }, { release: 'caracal', colour: 'red', size: 1 }]), status: 400, code: 'unknown_fields', message: /'colour', 'size' in \[1\]/ },
  { name: 'release of the wrong type', body: build({ release: 2024.1 }), status: 400, code: 'invalid_request', message: /\[0\]\.release: .*expected string/ },
  { name: 'unknown release', body: build({ release: 'zebra' }), status: 400, code: 'invalid_request', message: /\[0\]\.release: unknown release 'zebra'; valid releases: .*caracal/ },
  { name: 'series that cannot carry the release', body: build({ series: 'focal' }), status: 400, code: 'invalid_request', message: /\[0\]\.series: release caracal cannot be built on focal/ },
  { name: 'PPA with a shell command', body: build({ train: 'fix', ppas: ['ppa:a/b;rm -rf /'] }), status: 400, code: 'invalid_request', message: /\[0\]\.ppas\[0\]: invalid PPA/ },
  { name: 'package with a shell command', body: build({ train: 'fix', packages: ['vim; rm -rf /'] }), status: 400, code: 'invalid_request', message: /\[0\]\.packages\[0\]: invalid Debian package name/ },
  { name: 'patched build without a train', body: build({ ppas: ['ppa:team/fix'] }), status: 400, code: 'invalid_request', message: /needs a train/ },
  { name: '../ in the train', body: build({ train: '../etc' }), status: 400, code: 'invalid_request', message: /\[0\]\.train: invalid train/ },
  { name: '../ in a rock name', body: build({ rocks: ['../../cinder'] }), status: 400, code: 'invalid_request', message: /\[0\]\.rocks\[0\]: invalid rock name/ },
  { name: 'bad pocket', body: build({ pocket: 'backports' }), status: 400, code: 'invalid_request', message: /\[0\]\.pocket/ },
  { name: 'file: callback', body: build({ callback: 'file:///etc/passwd' }), status: 400, code: 'invalid_callback', message: /callback URL must use https \(got file\)/ },
  { name: 'javascript: callback', body: build({ callback: 'javascript:alert(1)' }), status: 400, code: 'invalid_callback', message: /must use https \(got javascript\)/ },
  { name: 'ftp: callback', body: build({ callback: 'ftp://example.com/hook' }), status: 400, code: 'invalid_callback', message: /must use https \(got ftp\)/ },
  { name: 'plain http callback', body: build({ callback: 'http://hooks.example.com/x' }), status: 400, code: 'invalid_callback', message: /must use https/ },
  { name: 'http loopback callback when not allowed', body: build({ callback: 'http://127.0.0.1:9/x' }), status: 400, code: 'invalid_callback', message: /must use https/ },
  { name: 'callback with credentials', body: build({ callback: 'https://user:pw@hooks.example.com/x' }), status: 400, code: 'invalid_callback', message: /must not contain credentials/ },
  { name: 'relative callback', body: build({ callback: '/hook' }), status: 400, code: 'invalid_callback', message: /not an absolute URL/ },
  { name: 'missing token', headers: { 'content-type': 'application/json' }, body: build({}), status: 401, code: 'unauthorized', message: /needs a bearer token/, header: ['www-authenticate', /^Bearer realm="heliostat"$/] },
  { name: 'wrong token', headers: { ...H, authorization: 'Bearer not-the-token' }, body: build({}), status: 401, code: 'unauthorized', message: /not valid/, header: ['www-authenticate', /error="invalid_token"/] },
  { name: 'token with a different case of letters', headers: { ...H, authorization: `Bearer ${WRITE_TOKEN.toUpperCase()}` }, body: build({}), status: 401, code: 'unauthorized', message: /not valid/ },
  { name: 'basic auth on a write', headers: { ...H, authorization: `Basic ${Buffer.from(`ci:${WRITE_TOKEN}`).toString('base64')}` }, body: build({}), status: 401, code: 'unauthorized', message: /not valid/ },
  { name: 'wrong method on /builds', method: 'PUT', body: build({}), status: 405, code: 'method_not_allowed', message: /PUT is not allowed here; use GET, POST/, header: ['allow', /^GET, POST, HEAD$/] },
  { name: 'wrong method on /pins', method: 'PATCH', path: '/api/v1/pins', body: json({}), status: 405, code: 'method_not_allowed', message: /use POST, DELETE/ },
  { name: 'GET on /reconcile', method: 'GET', path: '/api/v1/reconcile', status: 405, code: 'method_not_allowed', message: /use POST/ },
  { name: 'query string on POST /builds', path: '/api/v1/builds?dryRun=1', body: build({}), status: 400, code: 'unknown_fields', message: /unknown query parameter: 'dryRun'/ },
  { name: 'reconcile with a string flag', path: '/api/v1/reconcile', body: json({ dryRun: 'yes' }), status: 400, code: 'invalid_request', message: /dryRun: .*expected boolean/ },
  { name: 'reconcile with an unknown field', path: '/api/v1/reconcile', body: json({ dryRun: true, model: 'other' }), status: 400, code: 'unknown_fields', message: /'model'/ },
  { name: 'promote with ../ in the ref', path: '/api/v1/promote', body: json({ ref: 'reference/../noble/latest' }), status: 400, code: 'invalid_request', message: /ref: invalid build reference/ },
  { name: 'promote with a ref of five parts', path: '/api/v1/promote', body: json({ ref: 'reference/2024.1/noble/latest/../../x' }), status: 400, code: 'invalid_request', message: /expected <train>/ },
  { name: 'promote of an unknown release', path: '/api/v1/promote', body: json({ ref: 'reference/zebra/noble/latest' }), status: 400, code: 'invalid_request', message: /unknown release 'zebra'/ },
  { name: 'promote stable', path: '/api/v1/promote', body: json({ ref: 'reference/2024.1/noble/stable' }), status: 400, code: 'invalid_request', message: /changes nothing/ },
  { name: 'promote without a ref', path: '/api/v1/promote', body: json({}), status: 400, code: 'invalid_request', message: /^ref: / },
  { name: 'pin with a bad name', path: '/api/v1/pins', body: json({ ref: 'reference/2024.1/noble/latest', name: 'Team A' }), status: 400, code: 'invalid_request', message: /name: invalid pin name/ },
  { name: 'pin expiring in the past', path: '/api/v1/pins', body: json({ ref: 'reference/2024.1/noble/latest', name: 'a', expiresAt: '2001-01-01T00:00:00Z' }), status: 400, code: 'invalid_request', message: /in the past/ },
  { name: 'pin expiry without a zone', path: '/api/v1/pins', body: json({ ref: 'reference/2024.1/noble/latest', name: 'a', expiresAt: '2099-01-01T00:00' }), status: 400, code: 'invalid_request', message: /expiresAt: invalid time/ },
  { name: 'pin note with control characters', path: '/api/v1/pins', body: json({ ref: 'reference/2024.1/noble/latest', name: 'a', expiresAt: future, note: 'a\u0000b' }), status: 400, code: 'invalid_request', message: /note: must not contain control characters/ },
  { name: 'unpin naming a build instead of a series', method: 'DELETE', path: '/api/v1/pins', body: json({ ref: 'reference/2024.1/noble/latest', name: 'a' }), status: 400, code: 'invalid_request', message: /expected <train>\/<release>\/<series>/ },
  { name: 'cancel with a path-traversal id', method: 'DELETE', path: '/api/v1/builds/..%2F..%2Fetc', status: 400, code: 'invalid_path', message: /invalid job id/ },
  { name: 'cancel of an unknown job', method: 'DELETE', path: '/api/v1/builds/job-none', status: 404, code: 'not_found', message: /no job job-none/ },
  { name: 'cancel without a token', method: 'DELETE', path: '/api/v1/builds/job-live', headers: {}, status: 401, code: 'unauthorized', message: /bearer token/ },
  { name: 'list with an unknown state', method: 'GET', path: '/api/v1/builds?state=exploded', status: 400, code: 'invalid_request', message: /state must be one of queued/ },
  { name: 'list with a zero limit', method: 'GET', path: '/api/v1/builds?limit=0', status: 400, code: 'invalid_request', message: /limit must be a whole number/ },
  { name: 'list with a repeated parameter', method: 'GET', path: '/api/v1/builds?train=a&train=b', status: 400, code: 'invalid_request', message: /given once/ },
];

describe('bad input', () => {
  it('has at least 20 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(20);
  });

  it.each(cases)('$name → $status $code', async (c) => {
    const before = api.controller.mutatingCalls().length;
    const res = await fetch(`${api.url}${c.path ?? '/api/v1/builds'}`, {
      method: c.method ?? 'POST',
      headers: c.headers ?? H,
      ...(c.body === undefined ? {} : { body: c.body }),
    });
    const text = await res.text();
    expect(res.status, text).toBe(c.status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = JSON.parse(text) as { error: { code: string; message: string } };
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error.code).toBe(c.code);
    expect(body.error.message).toMatch(c.message);
    if (c.header) expect(res.headers.get(c.header[0])).toMatch(c.header[1]);
    expect(api.controller.mutatingCalls().length).toBe(before);
  });

  it('made no mutating call at all, and no token reached the log', () => {
    expect(api.controller.mutatingCalls()).toEqual([]);
    const log = api.logs.join('\n');
    expect(log).not.toContain(WRITE_TOKEN);
    expect(log).not.toContain(WRITE_TOKEN.toUpperCase());
    expect(log).not.toContain(OTHER_TOKEN);
    expect(log).toContain('"status":401');
  });
});
