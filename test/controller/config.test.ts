// The controller configuration: a full document, the defaults of an empty one, secrets from files,
// and one clear message per invalid field — none of which ever quotes a secret.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, loadControllerConfig, resolveControllerConfig, scrub } from '../../src/controller/config.js';

let root: string;
const TOKEN = 'tok-0123456789abcdef-SECRET';
const S3_SECRET = 's3-secret-value-do-not-print';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'heliostat-config-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const resolveDoc = (doc: unknown) => resolveControllerConfig(doc, { baseDir: root, env: { XDG_DATA_HOME: root } });

async function failure(doc: unknown): Promise<string> {
  try {
    await resolveDoc(doc);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected the configuration to be refused');
}

describe('controller configuration', () => {
  it('runs on a fresh machine with nothing configured', async () => {
    const config = await loadControllerConfig(undefined, { env: { XDG_DATA_HOME: join(root, '.local/share') }, cwd: root });
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.leader).toBe(true);
    expect(config.dataDir).toBe(join(root, '.local/share/heliostat'));
    expect(config.mirror.spec).toBe(`fs:${join(root, '.local/share/heliostat/mirror')}`);
    expect(config.cacheDir).toBe(join(config.dataDir, 'cache'));
    expect(config.trains).toEqual([]);
    expect(config.concurrency).toEqual({ builds: 1, rocksPerBuild: 2 });
    expect(config.http).toMatchObject({ writeTokens: [], mirrorRead: { public: true, clients: [] }, bodyLimitBytes: 1024 * 1024 });
    expect(config.juju).toEqual({ executable: 'juju', model: 'openstack', timeoutMs: 120_000 });
    expect(config.archives.ubuntu).toBe('http://archive.ubuntu.com/ubuntu');
  });

  it('reads a full file: trains, reference releases, secrets from files, relative paths from the file', async () => {
    await writeFile(join(root, 'token'), `${TOKEN}\n`);
    await writeFile(join(root, 's3-secret'), S3_SECRET);
    const file = join(root, 'controller.yaml');
    await writeFile(
      file,
      stringify({
        listen: '[::1]:9090',
        dataDir: 'data',
        leader: false,
        concurrency: { builds: 3, rocksPerBuild: 4 },
        mirror: { store: 's3://rocks/heliostat', s3: { endpoint: 'http://127.0.0.1:7480', accessKey: 'AKIAEXAMPLE', secretKeyFile: 's3-secret' }, public: false, clients: [{ name: 'ci', tokenFile: 'token' }] },
        registry: { host: 'registry.example.com:5000', namespace: 'heliostat', username: 'robot', password: 'registry-password-123' },
        tokens: [{ name: 'ops', tokenFile: 'token' }],
        reference: { releases: ['caracal', { release: 'epoxy', series: 'noble' }], proposed: true, schedule: '0 2 * * *', timezone: 'Europe/Paris' },
        trains: [{ name: 'fix-cinder', release: '2024.1', components: ['cinder'], ppas: ['ppa:team/fix:always'], suffix: 'fix1', schedule: '30 3 * * 1-5', attach: true, pin: 'stable', retention: { keepDays: 14, keepMin: 2 } }],
        retention: { keepMax: 30 },
        reconcile: { intervalSeconds: 60 },
      }),
    );
    const config = await loadControllerConfig(file, { env: {}, cwd: '/' });
    expect(config.listen).toEqual({ host: '::1', port: 9090 });
    expect(config.dataDir).toBe(join(root, 'data'));
    expect(config.mirror.spec).toBe('s3://rocks/heliostat');
    expect(config.mirror.s3).toMatchObject({ endpoint: 'http://127.0.0.1:7480', accessKey: 'AKIAEXAMPLE', secretKey: S3_SECRET });
    expect(config.http.writeTokens).toEqual([{ name: 'ops', token: TOKEN }]);
    expect(config.http.mirrorRead).toEqual({ public: false, clients: [{ name: 'ci', token: TOKEN }] });
    expect(config.registry?.credentials?.username).toBe('robot');
    expect(JSON.stringify(config.registry)).not.toContain('registry-password-123');
    expect(config.trains.map((t) => `${t.name}/${t.release}/${t.series}/${t.pocket}`)).toEqual([
      'reference/2024.1/noble/updates',
      'proposed/2024.1/noble/proposed',
      'reference/2025.1/noble/updates',
      'proposed/2025.1/noble/proposed',
      'fix-cinder/2024.1/noble/updates',
    ]);
    expect(config.trains[4]).toMatchObject({ attach: true, pin: 'stable', schedule: '30 3 * * 1-5', ppas: ['ppa:team/fix:always'], retention: { keepDays: 14, keepMin: 2 } });
    expect(config.trains[0]).toMatchObject({ schedule: '0 2 * * *', timezone: 'Europe/Paris' });
    for (const secret of [TOKEN, S3_SECRET, 'registry-password-123', 'AKIAEXAMPLE']) expect(config.secrets).toContain(secret);
    expect(scrub(`token ${TOKEN} leaked`, config.secrets)).toBe('token [redacted] leaked');
  });

  it.each([
    [{ listen: 'localhost' }, /listen: expected host:port/],
    [{ listen: '127.0.0.1:70000' }, /listen: port must be 0-65535/],
    [{ leader: 'yes' }, /leader: Invalid input: expected boolean/],
    [{ concurrency: { builds: 0 } }, /concurrency\.builds: Too small/],
    [{ bodyLimitBytes: 10 }, /bodyLimitBytes: Too small/],
    [{ mirror: { store: 'ftp://x' } }, /mirror\.store: expected fs:PATH or s3:\/\/BUCKET/],
    [{ archives: { ubuntu: 'ftp://archive' } }, /archives\.ubuntu: must be an http\(s\) URL/],
    [{ archives: { ubuntu: 'http://user:pw@archive' } }, /archives\.ubuntu: must be an http\(s\) URL without credentials/],
    [{ tokens: [{ name: 'a' }] }, /tokens\.0\.token: token or tokenFile is required/],
    [{ tokens: [{ name: 'a', token: 'short' }] }, /tokens\.0\.token: must be at least 16 characters/],
    [{ tokens: [{ name: 'bad name', token: 'x'.repeat(20) }] }, /tokens\.0\.name: must be a short name/],
    [{ registry: { host: 'registry' } }, /registry\.host: .*Docker Hub/],
    [{ registry: { host: 'r.example.com', username: 'u' } }, /registry\.password: a username needs password or passwordFile/],
    [{ juju: { model: 'Open Stack' } }, /juju\.model: expected/],
    [{ reconcile: { intervalSeconds: 1 } }, /reconcile\.intervalSeconds: Too small/],
    [{ unknown: 1 }, /Unrecognized key: "unknown"/],
    [{ trains: [{ name: 'x', release: 'nope' }] }, /trains\.0\.release: unknown OpenStack release/],
    [{ trains: [{ name: 'Bad_Name', release: 'caracal' }] }, /trains\.0\.name: invalid train "Bad_Name"/],
    [{ trains: [{ name: 'x', release: 'caracal', series: 'focal' }] }, /trains\.0\.series: release caracal cannot be built on focal/],
    [{ trains: [{ name: 'x', release: 'caracal', schedule: 'every day' }] }, /trains\.0\.schedule: not a valid cron expression/],
    [{ trains: [{ name: 'x', release: 'caracal', timezone: 'Mars/Olympus' }] }, /trains\.0\.timezone: unknown time zone/],
    [{ trains: [{ name: 'x', release: 'caracal', ppas: ['ppa:a/b;rm -rf /'] }] }, /trains\.0\.ppas\.0: invalid PPA/],
    [{ trains: [{ name: 'x', release: 'caracal', rocks: ['../etc'] }] }, /trains\.0\.rocks\.0: invalid rock name/],
    [{ trains: [{ name: 'x', release: 'caracal', packages: ['Bad Pkg'] }] }, /trains\.0\.packages\.0: invalid Debian package name/],
    [{ trains: [{ name: 'x', release: 'caracal', pin: 'newest' }] }, /trains\.0\.pin: invalid selector/],
    [{ trains: [{ name: 'x', release: 'caracal', retention: { keepMin: 5, keepMax: 2 } }] }, /trains\.0\.retention: invalid retention policy: keepMin \(5\) exceeds keepMax/],
    [{ trains: [{ name: 'reference', release: 'caracal', ppas: ['ppa:a/b'] }] }, /trains\.0\.name: train reference is unpatched/],
    [{ trains: [{ name: 'x', release: 'caracal' }, { name: 'x', release: '2024.1' }] }, /trains\.1: x\/2024\.1\/noble is configured twice/],
    [{ reference: { releases: ['caracal'] }, trains: [{ name: 'reference', release: 'caracal' }] }, /trains\.0: reference\/2024\.1\/noble is configured twice/],
  ])('refuses %j with a message naming the field', async (doc, message) => {
    expect(await failure(doc)).toMatch(message);
  });

  it('treats a token in the upstream URL as a secret', async () => {
    const config = await resolveDoc({ upstream: { url: 'https://bot:ghp_tok%2Fen123@github.example.com/rocks.git' } });
    expect(config.secrets).toEqual(expect.arrayContaining(['ghp_tok%2Fen123', 'ghp_tok/en123']));
  });

  it('never quotes a secret in an error, even next to the mistake', async () => {
    const secret = 'super-secret-token-value-42';
    const message = await failure({ tokens: [{ name: 'ok', token: secret, tokenFile: '/nonexistent' }], signingSecret: 'x' });
    expect(message).toMatch(/tokens\.0\.tokenFile: give either token or tokenFile/);
    expect(message).toMatch(/signingSecret: must be at least 16 characters/);
    expect(message).not.toContain(secret);
    const missing = await failure({ tokens: [{ name: 'ok', tokenFile: 'missing-file' }] });
    expect(missing).toMatch(/tokens\.0\.tokenFile: cannot read .*missing-file: ENOENT/);
  });

  it('says where a YAML error is without quoting the line', async () => {
    const file = join(root, 'broken.yaml');
    await writeFile(file, `tokens:\n  - name: a\n    token: "${'s'.repeat(20)}\n  bad: [\n`);
    await expect(loadControllerConfig(file, { env: {} })).rejects.toThrow(/is not valid YAML \(line \d+, column \d+\)$/);
    await expect(loadControllerConfig(file, { env: {} })).rejects.not.toThrow(/s{20}/);
  });
});

describe('notifications', () => {
  it('takes webhooks and a git publisher, and defaults to none', async () => {
    expect((await resolveDoc({})).notifications).toEqual({ webhooks: [] });
    const config = await resolveDoc({ notifications: { webhooks: [{ url: 'https://hooks.example.com/heliostat', events: ['build-finished', 'rolled-back'] }], git: { repository: 'https://git.example.com/deploy.git' } } });
    expect(config.notifications.webhooks).toHaveLength(1);
    expect(config.notifications.git?.repository).toBe('https://git.example.com/deploy.git');
  });

  it('rejects an unknown event name', async () => {
    await expect(resolveDoc({ notifications: { webhooks: [{ url: 'https://x.example.com', events: ['everything'] }] } })).rejects.toThrow(/notifications\.webhooks\.0\.events/);
  });
});
