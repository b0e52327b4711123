import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import {
  buildTag,
  Credentials,
  isMovingTag,
  movingTag,
  tagSeries,
  parseRegistryTarget,
  repositoryFor,
  validateComponent,
  validateDigest,
  validateHost,
  validateNamespace,
  validateRepository,
  validateTag,
} from '../../src/registry/config.js';
import { classifyMessage, redact, RegistryError, skopeoMessage } from '../../src/registry/errors.js';

function rejects(fn: () => unknown, text: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(RegistryError);
  expect((error as RegistryError).kind).toBe('invalid');
  expect((error as RegistryError).message).toMatch(text);
}

describe('registry names', () => {
  it('accepts hosts the reference grammar reads as a registry', () => {
    for (const host of ['registry.example.com', 'localhost', 'localhost:5000', '127.0.0.1:5000', 'reg-1.internal:443', 'Registry.Example.COM']) {
      expect(validateHost(host)).toBe(host);
    }
  });

  it('rejects hosts that would go elsewhere or cannot be referenced, saying why', () => {
    rejects(() => validateHost('registry'), /Docker Hub namespace/);
    rejects(() => validateHost('https://registry.example.com'), /without a scheme.*tlsVerify: false/);
    rejects(() => validateHost('[::1]:5000'), /IPv6/);
    rejects(() => validateHost('registry.example.com/ns'), /expected host\[:port\]/);
    rejects(() => validateHost('reg_istry.example.com'), /dot-separated part/);
    rejects(() => validateHost('-reg.example.com'), /dot-separated part/);
    rejects(() => validateHost('reg.example.com:0'), /port must be 1-65535/);
    rejects(() => validateHost('reg.example.com:70000'), /port must be 1-65535/);
    rejects(() => validateHost(''), /expected host/);
  });

  it('follows the distribution component grammar for image names and namespace segments', () => {
    for (const ok of ['cinder', 'cinder-api', 'a__b', 'a_b', 'a.b', 'a---b', 'k8s', '0']) expect(validateComponent(ok)).toBe(ok);
    for (const bad of ['Cinder', '-a', 'a-', 'a___b', 'a..b', 'a._b', '_a', '', 'a/b', 'a b']) {
      rejects(() => validateComponent(bad), /lower-case letters and digits/);
    }
    expect(validateNamespace('')).toBe('');
    expect(validateNamespace('openstack/rocks')).toBe('openstack/rocks');
    rejects(() => validateNamespace('/openstack'), /leading or trailing/);
    rejects(() => validateNamespace('openstack//rocks'), /empty path segment/);
    rejects(() => validateNamespace('OpenStack'), /segment "OpenStack"/);
  });

  it('follows the tag grammar: 1-128 word characters, dots and hyphens, not starting with . or -', () => {
    expect(validateTag('a'.repeat(128))).toHaveLength(128);
    expect(validateTag('_x')).toBe('_x');
    expect(validateTag('2024.1-reference-20261122T010203Z')).toBe('2024.1-reference-20261122T010203Z');
    for (const bad of ['a'.repeat(129), '.x', '-x', '', 'a:b', 'a/b', 'a@b', 'é']) rejects(() => validateTag(bad), /invalid registry tag/);
  });

  it('checks digests and whole repository names, including the 255-character limit', () => {
    expect(validateDigest(`sha256:${'a'.repeat(64)}`)).toBeTruthy();
    rejects(() => validateDigest(`sha256:${'A'.repeat(64)}`), /digest/);
    rejects(() => validateDigest('sha256:abc'), /digest/);
    expect(validateRepository('reg.example.com/ns/cinder')).toBe('reg.example.com/ns/cinder');
    rejects(() => validateRepository('cinder'), /expected host/);
    rejects(() => validateRepository('registry/ns/cinder'), /Docker Hub/);
    rejects(() => validateRepository(`reg.example.com/${'a'.repeat(250)}`), /longer than 255/);
  });

  it('names the repository after the image name under host and namespace', () => {
    expect(repositoryFor({ host: 'localhost:5000', namespace: 'openstack/rocks' }, 'keystone')).toBe('localhost:5000/openstack/rocks/keystone');
    expect(repositoryFor({ host: 'localhost:5000', namespace: '' }, 'keystone')).toBe('localhost:5000/keystone');
    rejects(() => repositoryFor({ host: 'localhost:5000', namespace: 'x' }, 'Keystone'), /image name/);
  });

  it('builds tags <release>-<train>-<build-id> and the moving tags, keeping the build id as it is', () => {
    expect(buildTag('2024.1', 'reference', '20261122T010203Z')).toBe('2024.1-reference-20261122T010203Z');
    expect(buildTag('caracal', 'ops-fixes', '20261122T010203Z')).toBe('caracal-ops-fixes-20261122T010203Z');
    expect(movingTag('2024.1', 'reference', 'latest')).toBe('2024.1-reference-latest');
    expect(movingTag('2024.1', 'reference', 'stable')).toBe('2024.1-reference-stable');
    expect(isMovingTag('2024.1-reference-latest')).toBe(true);
    expect(isMovingTag('2024.1-reference-20261122T010203Z')).toBe(false);
    rejects(() => buildTag('2024.1', 'reference', '20261122t010203z'), /build id/);
    rejects(() => buildTag('2024.1', 'reference', '20261340T010203Z'), /build id/);
    rejects(() => buildTag('2024.1', 'Reference', '20261122T010203Z'), /train/);
    rejects(() => buildTag('24.1', 'reference', '20261122T010203Z'), /release/);
  });

  it('names the series in the tags only when it is not the release default, so two series never share a moving tag', () => {
    expect(tagSeries('2024.1', 'noble')).toBeUndefined();
    expect(tagSeries('2024.1', 'jammy')).toBe('jammy');
    expect(buildTag('2024.1', 'reference', '20261122T010203Z', tagSeries('2024.1', 'jammy'))).toBe('2024.1-jammy-reference-20261122T010203Z');
    expect(movingTag('2024.1', 'reference', 'latest', 'jammy')).not.toBe(movingTag('2024.1', 'reference', 'latest', tagSeries('2024.1', 'noble')));
    expect(movingTag('2024.1', 'reference', 'stable', 'jammy')).toBe('2024.1-jammy-reference-stable');
    rejects(() => movingTag('2024.1', 'reference', 'latest', 'Jammy!'), /series/);
  });
});

describe('registry target', () => {
  it('applies defaults: TLS verified, no namespace, retries and timeouts', () => {
    const t = parseRegistryTarget({ host: 'registry.example.com' });
    expect(t).toEqual({ host: 'registry.example.com', namespace: '', tlsVerify: true, retries: 3, retryDelayMs: 1000, timeoutMs: 900_000 });
  });

  it('reports every problem with its field', () => {
    rejects(() => parseRegistryTarget({ host: 'registry', namespace: 'A', retries: -1 }), /host: .*Docker Hub.*namespace: .*retries/);
    rejects(() => parseRegistryTarget({ host: 'r.example.com', extra: 1 }), /Unrecognized key/i);
    rejects(() => parseRegistryTarget({ host: 'r.example.com', username: 'u' }), /password: a username needs/);
    rejects(() => parseRegistryTarget({ host: 'r.example.com', password: 'p' }), /username: a password needs a username/);
    rejects(() => parseRegistryTarget({ host: 'r.example.com', username: 'u:x', password: 'p' }), /username/);
    rejects(() => parseRegistryTarget({ host: 'r.example.com', username: 'u', password: 'p', passwordEnv: 'X' }), /either password or passwordEnv/);
  });

  it('takes the password from the config or a named environment variable', () => {
    const fromConfig = parseRegistryTarget({ host: 'r.example.com', username: 'robot', password: 'pw-1' });
    expect(fromConfig.credentials?.username).toBe('robot');
    expect(fromConfig.credentials?.reveal()).toBe('pw-1');
    const fromEnv = parseRegistryTarget({ host: 'r.example.com', username: 'robot', passwordEnv: 'REG_PW' }, { REG_PW: 'pw-2' });
    expect(fromEnv.credentials?.reveal()).toBe('pw-2');
    rejects(() => parseRegistryTarget({ host: 'r.example.com', username: 'robot', passwordEnv: 'REG_PW' }, {}), /REG_PW is not set/);
  });

  it('never shows the password when the target is logged', () => {
    const t = parseRegistryTarget({ host: 'r.example.com', username: 'robot', password: 'hunter2-secret' });
    const token = Buffer.from('robot:hunter2-secret').toString('base64');
    for (const text of [JSON.stringify(t), inspect(t, { depth: 5 }), String(t.credentials), `${inspect(new Credentials('a', 'hunter2-secret'))}`]) {
      expect(text).not.toContain('hunter2-secret');
      expect(text).not.toContain(token);
    }
    expect(t.credentials?.secrets()).toEqual(['hunter2-secret', token]);
  });
});

describe('skopeo failure messages', () => {
  it('extracts the logrus message and classifies it', () => {
    const stderr = 'time="2026-11-22T01:12:00Z" level=fatal msg="trying to reuse blob sha256:44 at destination: pinging container registry 127.0.0.1:5098: Get \\"http://127.0.0.1:5098/v2/\\": dial tcp 127.0.0.1:5098: connect: connection refused"\n';
    const msg = skopeoMessage(stderr);
    expect(msg).toBe('trying to reuse blob sha256:44 at destination: pinging container registry 127.0.0.1:5098: Get "http://127.0.0.1:5098/v2/": dial tcp 127.0.0.1:5098: connect: connection refused');
    expect(classifyMessage(msg)).toBe('transient');
    expect(skopeoMessage('plain failure\n\n')).toBe('plain failure');
  });

  it('sorts the messages skopeo 1.9 prints against registry 2.8 into the four kinds', () => {
    const cases: [string, string][] = [
      ['reading manifest x in 127.0.0.1:5097/ns/a: unauthorized: authentication required', 'auth'],
      ['Error listing repository tags: unable to retrieve auth token: invalid username/password: unauthorized', 'auth'],
      ['reading manifest nope in 127.0.0.1:5099/ns/a: manifest unknown: manifest unknown', 'not-found'],
      ['Error listing repository tags: fetching tags list: invalid status code from registry 404 (Not Found)', 'not-found'],
      ['reading manifest x in 127.0.0.1:5096/ns/a: received unexpected HTTP status: 503 Service Unavailable', 'transient'],
      ['failed to read from destination repository ns/a: 503 (Service Unavailable)', 'transient'],
      ['writing blob: Patch "http://r.example.com/v2/ns/a/blobs/uploads/x": read tcp: connection reset by peer', 'transient'],
      ['pinging container registry r.example.com: Get "https://r.example.com/v2/": context deadline exceeded', 'transient'],
      ['initializing source oci-archive:bad.rock:: creating temp directory: untarring file "/var/tmp/oci1": unexpected EOF', 'invalid'],
      ['Digest of source image\'s manifest would not match destination reference', 'invalid'],
      ['pinging container registry 127.0.0.1:5099: Get "https://127.0.0.1:5099/v2/": http: server gave HTTP response to HTTPS client', 'invalid'],
      ['copying to registry 127.0.0.1:500/ns: something odd', 'invalid'],
    ];
    for (const [message, kind] of cases) expect([message, classifyMessage(message)]).toEqual([message, kind]);
  });

  it('redacts every secret occurrence', () => {
    expect(redact('a pw b pw', ['pw', ''])).toBe('a *** b ***');
  });
});
