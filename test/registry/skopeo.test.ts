// The skopeo adapter against fake executables (argv, auth file, retries, timeouts: things a real
// registry cannot be made to do on demand) and against the real skopeo and registry.
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRegistryTarget, type RegistryTargetInput } from '../../src/registry/config.js';
import { RegistryError } from '../../src/registry/errors.js';
import { Skopeo, type RetryEvent } from '../../src/registry/skopeo.js';
import { writeOciArchive } from '../fixtures/oci/write-oci-archive.js';
import { manifestDigestOverHttp, registryAvailability, startRegistry, type TestRegistry } from '../fixtures/registry.js';

const root = mkdtempSync(join(tmpdir(), 'heliostat-skopeo-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;

const PASSWORD = 'pa55-word-not-in-argv';
const TOKEN = Buffer.from(`robot:${PASSWORD}`).toString('base64');
const DIGEST = `sha256:${'1'.repeat(64)}`;

/**
 * A fake skopeo: a sh script that appends its argv (one argument per line, then `--`) to LOG,
 * copies any auth file it is given (with its mode) next to the log, answers `--digestfile`, then
 * runs `body`. Returns the script and the files it writes.
 */
function fakeSkopeo(body: string | ((dir: string) => string)): { executable: string; log: string; dir: string; env: NodeJS.ProcessEnv } {
  const dir = join(root, `fake${++seq}`);
  const executable = join(root, `skopeo-${seq}`);
  writeFileSync(
    executable,
    `#!/bin/sh
mkdir -p "${dir}"
for a in "$@"; do printf '%s\\n' "$a" >> "${dir}/argv"; done
echo -- >> "${dir}/argv"
prev=
for a in "$@"; do
  case "$prev" in
    --authfile|--dest-authfile|--src-authfile) stat -c %a "$a" > "${dir}/auth-mode"; cp "$a" "${dir}/auth.json"; echo "$a" > "${dir}/auth-path" ;;
    --digestfile) printf '%s' "${DIGEST}" > "$a" ;;
  esac
  prev=$a
done
${typeof body === 'string' ? body : body(dir)}
`,
  );
  chmodSync(executable, 0o755);
  return { executable, log: join(dir, 'argv'), dir, env: { ...process.env } };
}

function target(extra: Partial<RegistryTargetInput> = {}) {
  return parseRegistryTarget({ host: 'reg.example.com:5000', namespace: 'ns', retries: 0, retryDelayMs: 5, timeoutMs: 10_000, ...extra });
}

function argvCalls(log: string): string[][] {
  if (!existsSync(log)) return [];
  const calls: string[][] = [];
  let current: string[] = [];
  for (const line of readFileSync(log, 'utf8').split('\n').slice(0, -1)) {
    if (line === '--') {
      calls.push(current);
      current = [];
    } else current.push(line);
  }
  return calls;
}

async function failure(promise: Promise<unknown>): Promise<RegistryError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(RegistryError);
  return error as RegistryError;
}

/** Alive and not a zombie (an orphan may stay a zombie when nothing reaps it). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const REPO = 'reg.example.com:5000/ns/cinder';

describe('skopeo adapter: invocation', () => {
  it('passes credentials in a 0600 auth file, never in argv, and removes the file afterwards', async () => {
    const fake = fakeSkopeo('exit 0');
    const skopeo = new Skopeo(target({ username: 'robot', password: PASSWORD }), { executable: fake.executable, env: fake.env });
    const archive = join(root, 'some.rock');
    await expect(skopeo.pushArchive(archive, { repository: REPO, digest: DIGEST })).resolves.toBe(DIGEST);
    await skopeo.tag(REPO, DIGEST, '2024.1-reference-latest');
    await skopeo.inspectRaw({ repository: REPO, tag: 'x' });
    await skopeo.listTags(REPO).catch(() => undefined);

    const calls = argvCalls(fake.log);
    expect(calls).toHaveLength(4);
    for (const argv of calls) {
      const text = argv.join(' ');
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain('robot');
    }
    expect(calls[0]).toEqual([
      '--tmpdir',
      expect.stringMatching(/heliostat-skopeo-.*\/tmp$/),
      'copy',
      '--quiet',
      '--preserve-digests',
      '--digestfile',
      expect.stringMatching(/digest$/),
      '--dest-tls-verify=true',
      '--dest-authfile',
      expect.stringMatching(/auth\.json$/),
      `oci-archive:${archive}`,
      `docker://${REPO}@${DIGEST}`,
    ]);
    expect(calls[1]).toEqual(expect.arrayContaining(['--src-tls-verify=true', '--src-authfile', '--dest-tls-verify=true', '--dest-authfile', `docker://${REPO}@${DIGEST}`, `docker://${REPO}:2024.1-reference-latest`]));
    expect(calls[2]).toEqual(['inspect', '--raw', '--tls-verify=true', '--authfile', expect.stringMatching(/auth\.json$/), `docker://${REPO}:x`]);

    expect(readFileSync(join(fake.dir, 'auth-mode'), 'utf8').trim()).toBe('600');
    expect(JSON.parse(readFileSync(join(fake.dir, 'auth.json'), 'utf8'))).toEqual({ auths: { 'reg.example.com:5000': { auth: TOKEN } } });
    expect(existsSync(readFileSync(join(fake.dir, 'auth-path'), 'utf8').trim())).toBe(false);
  });

  it('turns TLS verification off per target and passes a cert dir; no auth file without credentials', async () => {
    const fake = fakeSkopeo('exit 0');
    const skopeo = new Skopeo(target({ tlsVerify: false, certDir: '/etc/heliostat/certs' }), { executable: fake.executable, env: fake.env });
    await skopeo.pushArchive(join(root, 'x.rock'), { repository: REPO, tag: 't' });
    const [argv] = argvCalls(fake.log);
    expect(argv).toContain('--dest-tls-verify=false');
    expect(argv).toEqual(expect.arrayContaining(['--dest-cert-dir', '/etc/heliostat/certs']));
    expect(argv?.some((a) => a.includes('authfile'))).toBe(false);
  });

  it('keeps the error message free of secrets even when the executable prints them, and does not retry auth errors', async () => {
    const fake = fakeSkopeo(
      (dir) => `printf 'time="x" level=fatal msg="reading manifest x in reg: unauthorized: %s %s"\\n' "$(sed 's/"/\\\\"/g' ${dir}/auth.json)" "${PASSWORD}" >&2
exit 1`,
    );
    const retried: RetryEvent[] = [];
    const skopeo = new Skopeo(target({ username: 'robot', password: PASSWORD, retries: 3 }), { executable: fake.executable, env: fake.env, onRetry: (e) => retried.push(e) });
    const error = await failure(skopeo.inspectRaw({ repository: REPO, tag: 'x' }));
    expect(error.kind).toBe('auth');
    expect(error.attempts).toBe(1);
    expect(retried).toEqual([]);
    expect(error.message).toContain('unauthorized');
    expect(error.message).toContain('***');
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).not.toContain(TOKEN);
  });

  it('retries transient failures with exponential backoff, then succeeds', async () => {
    const fake = fakeSkopeo(
      (dir) => `n=$(wc -l < "${dir}/argv")
if [ "$n" -lt 15 ]; then echo 'time="x" level=fatal msg="pinging container registry: dial tcp: connect: connection refused"' >&2; exit 1; fi
printf '{"schemaVersion":2}\\n'`,
    );
    const retried: RetryEvent[] = [];
    const skopeo = new Skopeo(target({ retries: 3, retryDelayMs: 20 }), { executable: fake.executable, env: fake.env, onRetry: (e) => retried.push(e) });
    const raw = await skopeo.inspectRaw({ repository: REPO, tag: 'x' });
    expect(raw.toString()).toBe('{"schemaVersion":2}\n');
    // An inspect logs 4 argument lines + a separator: the third call is the first to see 15 lines.
    expect(argvCalls(fake.log)).toHaveLength(3);
    expect(retried.map((e) => [e.attempt, e.delayMs, e.error.kind])).toEqual([
      [1, 20, 'transient'],
      [2, 40, 'transient'],
    ]);
  });

  it('gives up after the configured retries, saying how many attempts were made', async () => {
    const fake = fakeSkopeo(`echo 'time="x" level=fatal msg="reading manifest: received unexpected HTTP status: 503 Service Unavailable"' >&2; exit 1`);
    const skopeo = new Skopeo(target({ retries: 2, retryDelayMs: 1 }), { executable: fake.executable, env: fake.env });
    const error = await failure(skopeo.inspectRaw({ repository: REPO, tag: 'x' }));
    expect([error.kind, error.attempts]).toEqual(['transient', 3]);
    expect(error.message).toMatch(/503 Service Unavailable \(after 3 attempts\)$/);
  });

  it('does not retry a missing manifest', async () => {
    const fake = fakeSkopeo(`echo 'time="x" level=fatal msg="reading manifest x: manifest unknown: manifest unknown"' >&2; exit 1`);
    const skopeo = new Skopeo(target({ retries: 3 }), { executable: fake.executable, env: fake.env });
    const error = await failure(skopeo.inspectRaw({ repository: REPO, tag: 'x' }));
    expect([error.kind, error.attempts]).toEqual(['not-found', 1]);
  });

  it('kills the whole process group on timeout and reports it as transient', async () => {
    const fake = fakeSkopeo(
      (dir) => `sleep 30 &
echo $! > "${dir}/sleeper"
wait`,
    );
    const skopeo = new Skopeo(target({ timeoutMs: 300 }), { executable: fake.executable, env: fake.env, killGraceMs: 200 });
    const started = Date.now();
    const error = await failure(skopeo.inspectRaw({ repository: REPO, tag: 'x' }));
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(error.kind).toBe('transient');
    expect(error.message).toContain('timed out after 300 ms');
    const sleeper = Number(readFileSync(join(fake.dir, 'sleeper'), 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(sleeper)).toBe(false);
  });

  it('stops at once when cancelled', async () => {
    const fake = fakeSkopeo('sleep 30');
    const skopeo = new Skopeo(target({ retries: 3 }), { executable: fake.executable, env: fake.env, killGraceMs: 100 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    await expect(skopeo.inspectRaw({ repository: REPO, tag: 'x' }, { signal: controller.signal })).rejects.toThrow(/abort/i);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('hashes the manifest bytes exactly as printed, trailing newline included', async () => {
    const body = '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}\n';
    const fake = fakeSkopeo(`printf '%s\\n' '${body.trim()}'`);
    const skopeo = new Skopeo(target(), { executable: fake.executable, env: fake.env });
    const expected = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    await expect(skopeo.inspectDigest({ repository: REPO, tag: 'x' })).resolves.toBe(expected);
  });

  it('rejects invalid references before any process runs', async () => {
    const fake = fakeSkopeo('exit 0');
    const skopeo = new Skopeo(target(), { executable: fake.executable, env: fake.env });
    const bad = [
      skopeo.tag(REPO, DIGEST, '-bad'),
      skopeo.tag(REPO, DIGEST, 'x'.repeat(129)),
      skopeo.tag(REPO, 'sha256:short', 'ok'),
      skopeo.inspectRaw({ repository: 'other.example.com/ns/cinder', tag: 'x' }),
      skopeo.inspectRaw({ repository: 'reg.example.com:5000/ns/Cinder', tag: 'x' }),
      skopeo.listTags('reg.example.com:5000/ns/a b'),
      skopeo.pushArchive('/tmp/a:b.rock', { repository: REPO, tag: 'x' }),
    ];
    for (const promise of bad) expect((await failure(promise)).kind).toBe('invalid');
    expect(argvCalls(fake.log)).toEqual([]);
  });

  it('reports a missing executable clearly', async () => {
    const skopeo = new Skopeo(target(), { executable: join(root, 'no-such-skopeo') });
    const error = await failure(skopeo.inspectRaw({ repository: REPO, tag: 'x' }));
    expect(error.kind).toBe('invalid');
    expect(error.message).toMatch(/cannot run skopeo \(.*no-such-skopeo\): not found/);
  });
});

const availability = registryAvailability();

const realTitle = availability.available ? 'skopeo adapter: real skopeo and registry' : `skopeo adapter: real skopeo and registry — ${availability.reason}`;

describe.skipIf(!availability.available)(realTitle, () => {
  let registry: TestRegistry;
  let skopeo: Skopeo;
  beforeAll(async () => {
    registry = await startRegistry();
    skopeo = new Skopeo(parseRegistryTarget({ host: registry.host, namespace: 'it', tlsVerify: false, retries: 0 }));
  });
  afterAll(async () => registry?.stop());

  it('reports its version', async () => {
    expect(await skopeo.version()).toMatch(/^\d+\.\d+/);
  });

  it('pushes an archive by digest with no tag, and the registry serves that digest', async () => {
    const file = join(root, 'by-digest.rock');
    const { manifestDigest } = writeOciArchive(file, { refName: '1.0', files: [{ path: 'etc/x', content: 'by digest' }] });
    const repository = `${registry.host}/it/by-digest`;
    await expect(skopeo.pushArchive(file, { repository, digest: manifestDigest })).resolves.toBe(manifestDigest);
    await expect(skopeo.inspectDigest({ repository, digest: manifestDigest })).resolves.toBe(manifestDigest);
    await expect(manifestDigestOverHttp(registry, 'it/by-digest', manifestDigest)).resolves.toBe(manifestDigest);
    // Registry 2.8 answers the tag list of an untagged repository with 404: that is "no tags".
    await expect(skopeo.listTags(repository)).resolves.toEqual([]);
    await expect(skopeo.listTags(`${registry.host}/it/never-pushed`)).resolves.toEqual([]);
  });

  it('refuses to push an archive under a digest it does not have', async () => {
    const file = join(root, 'wrong-digest.rock');
    writeOciArchive(file, { refName: '1.0', files: [{ path: 'etc/x', content: 'wrong digest' }] });
    const error = await failure(skopeo.pushArchive(file, { repository: `${registry.host}/it/wrong`, digest: DIGEST }));
    expect(error.kind).toBe('invalid');
    expect(error.message).toContain('would not match destination reference');
  });

  it('tags by pushing the manifest again, without uploading any blob', async () => {
    const file = join(root, 'tagged.rock');
    const { manifestDigest } = writeOciArchive(file, { refName: '1.0', files: [{ path: 'etc/x', content: 'tagged' }] });
    const repository = `${registry.host}/it/tagged`;
    await skopeo.pushArchive(file, { repository, digest: manifestDigest });
    const before = registry.requests().length;
    await expect(skopeo.tag(repository, manifestDigest, 'v1')).resolves.toBe(manifestDigest);
    const during = registry.requests().slice(before);
    expect(during.filter((r) => r.method === 'POST' || r.method === 'PATCH')).toEqual([]);
    expect(during.filter((r) => r.method === 'PUT').map((r) => r.path)).toEqual(['/v2/it/tagged/manifests/v1']);
    await expect(skopeo.listTags(repository)).resolves.toEqual(['v1']);
    await expect(skopeo.inspectDigest({ repository, tag: 'v1' })).resolves.toBe(manifestDigest);
  });

  it('unpacks archives in a private scratch directory that is removed even when the push fails', async () => {
    const scratchParent = join(root, 'scratch');
    mkdirSync(scratchParent);
    const other = await startRegistry();
    await other.stop();
    const gone = new Skopeo(parseRegistryTarget({ host: other.host, tlsVerify: false, retries: 0 }), { tmpDir: scratchParent });
    const file = join(root, 'unpacked.rock');
    writeOciArchive(file, { refName: '1.0', files: [{ path: 'etc/x', content: 'unpacked' }] });
    const error = await failure(gone.pushArchive(file, { repository: `${other.host}/x`, tag: 'y' }));
    expect(error.kind).toBe('transient');
    expect(readdirSync(scratchParent)).toEqual([]);
  });

  it('classifies a missing tag as not-found and a stopped registry as transient', async () => {
    const missing = await failure(skopeo.inspectRaw({ repository: `${registry.host}/it/tagged`, tag: 'nope' }));
    expect(missing.kind).toBe('not-found');
    const other = await startRegistry();
    await other.stop();
    const gone = new Skopeo(parseRegistryTarget({ host: other.host, tlsVerify: false, retries: 1, retryDelayMs: 10 }));
    const error = await failure(gone.inspectRaw({ repository: `${other.host}/x`, tag: 'y' }));
    expect([error.kind, error.attempts]).toEqual(['transient', 2]);
    expect(error.message).toContain('connection refused');
  });

  it('says to turn TLS verification off when the registry speaks plain HTTP', async () => {
    const strict = new Skopeo(parseRegistryTarget({ host: registry.host, retries: 0 }));
    const error = await failure(strict.inspectRaw({ repository: `${registry.host}/it/tagged`, tag: 'v1' }));
    expect(error.kind).toBe('invalid');
    expect(error.message).toContain('set tlsVerify: false');
  });
});
