// `heliostat mirror ...` through the built binary, against real filesystem mirrors (and the shared
// Ceph RGW when the run provides it): every subcommand, the default mirror location, the config
// file, and a table of bad input that must exit 2 with one line and leave the mirror unchanged.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { Client } from 'minio';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { parseBuildRecord } from '../../mirror/build-record.js';
import { aliasKey, blobKey, buildRecordKey, indexKey } from '../../mirror/layout.js';
import { promote } from '../../mirror/lifecycle.js';
import { publishBuild } from '../../mirror/publish.js';
import { FsStore } from '../../mirror/stores/fs.js';
import { RGW_SKIP_REASON } from '../setup/rgw.js';
import { TS, sha, snapshot, stagedBuild } from '../mirror/helpers.js';
import { parseStoreSpec, s3OptionsFor } from '../../src/cli/mirror-store.js';
import { resolveSettings } from '../../src/cli/settings.js';
import { parseListen } from '../../src/cli/commands/mirror-serve.js';
import { verifyPassword } from '../../mirror/server/index.js';
import { HELIOSTAT_BIN, heliostat, type CliResult } from './helpers.js';

const B1 = '20240501T120000Z';
const B2 = '20240502T120000Z';
const B3 = '20240503T120000Z';
const SERIES = 'reference/2024.1/noble';
const ROCK = 'rocks/keystone_2024.1_amd64.rock';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'heliostat-cli-mirror-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** A fresh mirror: B1 (stable), B2 failed, B3 (latest) of reference, and one build of a patch train. */
async function fixtureMirror(): Promise<{ dir: string; store: FsStore; spec: string }> {
  const dir = await mkdtemp(join(root, 'case-'));
  const store = new FsStore(join(dir, 'mirror'));
  await publishBuild(store, await stagedBuild(dir, B1, { rockSeed: 'one' }));
  await publishBuild(store, await stagedBuild(dir, B2, { rockSeed: 'two', overrides: { result: 'fail' } }));
  await publishBuild(store, await stagedBuild(dir, B3, { rockSeed: 'three' }));
  await publishBuild(store, await stagedBuild(dir, B1, { rockSeed: 'fix', overrides: { train: 'fix-1234', release: 'caracal', series: 'jammy' } }));
  await promote(store, TS, B1);
  return { dir, store, spec: `fs:${store.root}` };
}

let m: Awaited<ReturnType<typeof fixtureMirror>>;
const run = (args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => heliostat(['mirror', ...args, '--mirror', m.spec], options);
const json = <T>(r: CliResult): T => {
  expect(r.exitCode, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
};

describe('heliostat mirror list / show', () => {
  beforeAll(async () => {
    m = await fixtureMirror();
  });

  it('lists trains, releases, series and builds', async () => {
    expect(json(await run(['list', '--json']))).toEqual([
      { train: 'fix-1234', releases: ['caracal'] },
      { train: 'reference', releases: ['2024.1'] },
    ]);
    expect(json(await run(['list', 'reference', '--json']))).toEqual([{ train: 'reference', release: '2024.1', series: ['noble'] }]);
    expect(json(await run(['list', 'reference/2024.1', '--json']))).toEqual([{ ...TS, builds: 3, latest: B3, stable: B1 }]);
    const builds = json<{ buildId: string; result: string; aliases: string[]; size: number }[]>(await run(['list', SERIES, '--json']));
    expect(builds.map((b) => [b.buildId, b.result, b.aliases])).toEqual([
      [B3, 'success', ['latest']],
      [B2, 'fail', []],
      [B1, 'success', ['stable']],
    ]);

    const table = await run(['list', SERIES]);
    expect(table.exitCode).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^BUILD\s+RESULT\s+AGE\s+BUILT\s+REUSED\s+FAILED\s+SIZE\s+ALIASES$/);
    expect(lines[1]).toMatch(new RegExp(`^${B3}\\s+success\\s+\\d+d\\s+1\\s+0\\s+0\\s+\\d+\\.\\d KiB\\s+latest$`));
    expect(lines[3]).toMatch(/stable$/);
  });

  it('accepts a release by codename as well as by number', async () => {
    const builds = json<unknown[]>(await run(['list', 'reference/caracal/noble', '--json']));
    expect(builds).toHaveLength(3);
    expect(json<{ record: { buildId: string } }>(await run(['show', 'fix-1234/2024.1/jammy/latest', '--json'])).record.buildId).toBe(B1);
  });

  it('shows a build by any ref', async () => {
    const shown = json<{ ref: string; aliases: string[]; record: { buildId: string; files: Record<string, unknown> } }>(await run(['show', `${SERIES}/stable`, '--json']));
    expect(shown).toMatchObject({ ref: `${SERIES}/stable`, aliases: ['stable'], record: { buildId: B1 } });
    expect(Object.keys(shown.record.files)).toContain(ROCK);
    const text = await run(['show', `${SERIES}/as-of:2024-05-02T23:00:00Z`]);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^build: +${SERIES}/${B1}$`, 'm'));
    expect(text.stdout).toMatch(/^ROCK\s+VERSION\s+ARCH\s+OUTCOME\s+IMAGE$/m);
  });
});

describe('heliostat mirror pull', () => {
  beforeAll(async () => {
    m = await fixtureMirror();
  });

  it('pulls a build, skips it the second time, resumes a partial file and detects a corrupt one', async () => {
    const out = join(m.dir, 'pulled');
    const first = json<{ buildId: string; files: number; downloaded: number }>(await run(['pull', `${SERIES}/latest`, '-o', out, '--json']));
    expect(first).toMatchObject({ buildId: B3, files: 6, downloaded: 6 });
    const record = parseBuildRecord((await m.store.get(buildRecordKey(TS, B3)))!, B3);
    for (const [path, file] of Object.entries(record.files)) expect(sha(await readFile(join(out, path))), path).toBe(file.digest);

    const again = await run(['pull', `${SERIES}/latest`, '-o', out]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/pulled 6 files .*: 0 downloaded, 0 resumed, 6 already present, 0 failed; 0 B transferred/);

    const full = await readFile(join(out, ROCK));
    await unlink(join(out, ROCK));
    await writeFile(join(out, `${ROCK}.part`), full.subarray(0, 1000));
    const resumed = json<{ resumed: number; bytes: number }>(await run(['pull', `${SERIES}/latest`, '-o', out, '--json']));
    expect(resumed).toMatchObject({ resumed: 1, bytes: full.length - 1000 });
    expect((await readFile(join(out, ROCK))).equals(full)).toBe(true);

    const bad = Buffer.from(full.subarray(0, 1000));
    bad[10] = (bad[10] ?? 0) ^ 1;
    await unlink(join(out, ROCK));
    await writeFile(join(out, `${ROCK}.part`), bad);
    const corrupt = await run(['pull', `${SERIES}/latest`, '-o', out, '--json']);
    expect(corrupt.exitCode).toBe(1);
    expect(corrupt.stderr.trim().split('\n')).toHaveLength(1);
    expect(corrupt.stderr).toMatch(/^heliostat: error: 1 of 6 files of .* failed, first rocks\/keystone_2024\.1_amd64\.rock: content is sha256:/);
    expect(JSON.parse(corrupt.stdout)).toMatchObject({ failed: 1, skipped: 5 });
    expect(await readdir(join(out, 'rocks'))).toEqual([]);
  });

  it('pulls only the files of the rocks asked for, relative to the working directory', async () => {
    const r = await run(['pull', `${SERIES}/${B1}`, '--rock', 'keystone', '-o', 'sub'], { cwd: m.dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await readdir(join(m.dir, 'sub'))).sort()).toEqual(['BUILD_RESULT', 'CONTEXT', 'SHA256SUMS', 'logs', 'rockcraft', 'rocks']);
  });

  it('fails with exit 1 and no file under its final name when the mirror holds bad bytes', async () => {
    const record = parseBuildRecord((await m.store.get(buildRecordKey(TS, B1)))!, B1);
    await writeFile(m.store.pathOf(blobKey(record.files['logs/keystone.log']!.digest)), 'tampered\n');
    const out = join(m.dir, 'bad-bytes');
    const r = await run(['pull', `${SERIES}/${B1}`, '-o', out]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/logs\/keystone\.log: received 9 bytes, expected \d+; the partial file was deleted/);
    expect(await readdir(join(out, 'logs'))).toEqual([]);
  });
});

describe('heliostat mirror promote / pin / unpin / reindex / gc', () => {
  beforeEach(async () => {
    m = await fixtureMirror();
  });

  it('promotes, pins with an expiry and a note, and unpins', async () => {
    expect(json(await run(['promote', `${SERIES}/latest`, '--json']))).toEqual({ ...TS, stable: B3, previous: B1 });
    expect((await m.store.get(aliasKey(TS, 'stable')))?.toString()).toBe(`${B3}\n`);

    const pinned = json<{ name: string; buildId: string; expiresAt: string; note: string }>(
      await run(['pin', `${SERIES}/${B1}`, '--name', 'prod', '--for', '7d', '--note', 'what production runs', '--json']),
    );
    expect(pinned).toMatchObject({ name: 'prod', buildId: B1, note: 'what production runs' });
    expect(Date.parse(pinned.expiresAt) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    const later = await run(['pin', `${SERIES}/${B2}`, '--name', 'study', '--expires', '2099-01-01T00:00:00Z']);
    expect(later.stdout).toBe(`pin:study of ${SERIES} → ${B2} until 2099-01-01T00:00:00.000Z`);
    const builds = json<{ buildId: string; aliases: string[] }[]>(await run(['list', SERIES, '--json']));
    expect(builds.map((b) => b.aliases)).toEqual([['latest', 'stable'], ['pin:study'], ['pin:prod']]);
    expect(json<{ record: { buildId: string } }>(await run(['show', `${SERIES}/pin:prod`, '--json'])).record.buildId).toBe(B1);

    expect((await run(['unpin', SERIES, '--name', 'prod'])).stdout).toBe(`removed pin:prod of ${SERIES}`);
    expect((await run(['show', `${SERIES}/pin:prod`])).exitCode).toBe(2);
  });

  it('reindexes a series from its build records', async () => {
    await m.store.delete([indexKey(TS)]);
    expect(json(await run(['reindex', SERIES, '--json']))).toEqual({ ...TS, builds: 3 });
    expect(await m.store.stat(indexKey(TS))).toBeDefined();
    const repaired = json<{ builds: number; viewsMaterialised: number }>(await run(['reindex', SERIES, '--repair', '--json']));
    expect(repaired).toMatchObject({ builds: 3, viewsMaterialised: 18 });
  });

  it('shows what retention and GC would delete, then deletes it', async () => {
    const before = await snapshot(m.store);
    const dry = await run(['gc', '--keep-days', '0', '--train', 'reference', '--grace', '0s', '--dry-run']);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(new RegExp(`^would delete build ${SERIES}/${B2}: older than keepDays=0$`, 'm'));
    expect(dry.stdout).not.toMatch(new RegExp(`${B1}|${B3}`)); // stable and latest are protected
    expect(await snapshot(m.store)).toEqual(before);

    const real = json<{ dryRun: boolean; retention: { deleted: string[] }[]; gc: { deleted: { key: string }[] } }>(
      await run(['gc', '--keep-days', '0', '--grace', '0s', '--json']),
    );
    expect(real.dryRun).toBe(false);
    expect(real.retention.flatMap((r) => r.deleted)).toEqual([B2]);
    expect(real.gc.deleted.length).toBeGreaterThan(0); // B2's own rock and log blobs
    expect(await m.store.stat(buildRecordKey(TS, B2))).toBeUndefined();
    expect(json<{ buildId: string }[]>(await run(['list', SERIES, '--json'])).map((b) => b.buildId)).toEqual([B3, B1]);

    const plain = json<{ gc: { deleted: unknown[] } }>(await run(['gc', '--json']));
    expect(plain.gc.deleted).toEqual([]);
  });
});

describe('heliostat mirror sync and mirror locations', () => {
  beforeAll(async () => {
    m = await fixtureMirror();
  });

  it('syncs fs → fs, then copies nothing the second time', async () => {
    const to = `fs:${join(m.dir, 'replica')}`;
    const first = json<{ buildsCopied: number; blobsCopied: number }>(await heliostat(['mirror', 'sync', '--from', m.spec, '--to', to, '--json']));
    expect(first.buildsCopied).toBe(4);
    const second = await heliostat(['mirror', 'sync', '--from', m.spec, '--to', to]);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/synced .* 0 builds and 0 blobs \(0 B\) copied, 4 builds already there/);
    const replica = json<{ buildId: string }[]>(await heliostat(['mirror', 'list', SERIES, '--json', '--mirror', to]));
    expect(replica.map((b) => b.buildId)).toEqual([B3, B2, B1]);

    const oneTrain = json<{ series: { train: string }[] }>(await heliostat(['mirror', 'sync', '--from', m.spec, '--to', `fs:${join(m.dir, 'fix-only')}`, '--train', 'fix-1234', '--json']));
    expect(oneTrain.series.map((s) => s.train)).toEqual(['fix-1234']);
  });

  it('uses <data dir>/mirror by default: --data-dir, $XDG_DATA_HOME, or the config file', async () => {
    const data = join(m.dir, 'data');
    await heliostat(['mirror', 'sync', '--from', m.spec, '--to', `fs:${join(data, 'heliostat', 'mirror')}`]);
    const viaXdg = await heliostat(['mirror', 'list', '--json'], { env: { XDG_DATA_HOME: data } });
    expect(json<{ train: string }[]>(viaXdg).map((t) => t.train)).toEqual(['fix-1234', 'reference']);
    const viaFlag = await heliostat(['mirror', 'list', 'reference', '--json', '--data-dir', join(data, 'heliostat')]);
    expect(json<unknown[]>(viaFlag)).toHaveLength(1);
    const config = join(m.dir, 'config.yaml');
    await writeFile(config, `mirror: ${m.spec}\ns3-region: eu-west-1\ns3-access-key: from-config\ns3-secret-key: from-config-too\n`);
    expect(json<unknown[]>(await heliostat(['mirror', 'list', '--json', '--config', config]))).toHaveLength(2);
    const empty = await heliostat(['mirror', 'list'], { env: { XDG_DATA_HOME: join(m.dir, 'nothing') } });
    expect(empty.exitCode).toBe(2);
    expect(empty.stderr).toMatch(/no mirror at fs:.*nothing\/heliostat\/mirror/);
  });
});

describe('bad input: exit 2, one line, the mirror unchanged', () => {
  beforeAll(async () => {
    m = await fixtureMirror();
  });
  const noS3 = { HELIOSTAT_S3_ACCESS_KEY: '', HELIOSTAT_S3_SECRET_KEY: '', AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', HELIOSTAT_S3_ENDPOINT: '', AWS_ENDPOINT_URL_S3: '', AWS_ENDPOINT_URL: '' };

  it.each([
    ['a ref climbing out with ..', ['show', '../2024.1/noble/latest'], /invalid build reference "\.\.\/2024\.1\/noble\/latest"/],
    ['a ref whose selector is ..', ['show', `${SERIES}/..`], /invalid build reference/],
    ['an absolute path', ['list', '/etc'], /invalid train ""/],
    ['a path with ..', ['list', 'reference/../x'], /invalid release "\.\."/],
    ['a month 13 build id', ['show', `${SERIES}/20241301T000000Z`], /not a real UTC date/],
    ['a build id that does not exist', ['show', `${SERIES}/20200101T000000Z`], /no such build/],
    ['an unknown train', ['show', 'nosuch/2024.1/noble/latest'], /no train nosuch in fs:.*; trains: fix-1234, reference/],
    ['an unknown train to list', ['list', 'nosuch'], /no train nosuch/],
    ['an unknown series', ['list', 'reference/2024.1/jammy'], /no series jammy in reference\/2024\.1; series: noble/],
    ['a path too long', ['list', `${SERIES}/x`], /expected TRAIN\[\/RELEASE\[\/SERIES\]\]/],
    ['a pin that does not exist', ['show', `${SERIES}/pin:nope`], /no pin named nope/],
    ['a time without a zone', ['show', `${SERIES}/as-of:2024-05-01T12:00:00`], /expected ISO 8601 with a zone/],
    ['an unknown rock', ['pull', `${SERIES}/latest`, '--rock', 'cinder', '-o', 'OUT'], /has no rock cinder; its rocks: keystone/],
    ['a malformed rock', ['pull', `${SERIES}/latest`, '--rock', '../x', '-o', 'OUT'], /invalid rock name/],
    ['a bad pin name', ['pin', `${SERIES}/latest`, '--name', 'Bad Name'], /invalid pin name/],
    ['an expiry in the past', ['pin', `${SERIES}/latest`, '--name', 'x', '--expires', '2020-01-01T00:00:00Z'], /not in the future/],
    ['a bad duration', ['pin', `${SERIES}/latest`, '--name', 'x', '--for', '7x'], /invalid --for "7x"/],
    ['both --expires and --for', ['pin', `${SERIES}/latest`, '--name', 'x', '--for', '7d', '--expires', '2099-01-01T00:00:00Z'], /either --expires or --for/],
    ['promoting a failed build', ['promote', `${SERIES}/${B2}`], /cannot promote 20240502T120000Z: its result is fail/],
    ['unpinning a missing pin', ['unpin', SERIES, '--name', 'nope'], /no pin named nope in reference\/2024\.1\/noble/],
    ['unpinning with a partial series', ['unpin', 'reference/2024.1', '--name', 'x'], /expected TRAIN\/RELEASE\/SERIES/],
    ['reindexing a ref', ['reindex', `${SERIES}/latest`], /expected TRAIN\/RELEASE\/SERIES/],
    ['keep-min above keep-max', ['gc', '--keep-min', '5', '--keep-max', '2'], /keepMin \(5\) exceeds keepMax \(2\)/],
    ['a non-numeric keep-days', ['gc', '--keep-days', 'ten'], /invalid --keep-days "ten"/],
    ['retention of an unknown train', ['gc', '--keep-days', '1', '--train', 'nosuch'], /no train nosuch/],
    ['--train without a policy', ['gc', '--train', 'reference'], /--train applies to retention/],
    ['a bad grace', ['gc', '--grace', 'forever'], /invalid --grace "forever"/],
    ['an S3 secret as a flag', ['list', '--s3-secret-key', 'hunter2'], /unknown option '--s3-secret-key'/],
    ['an S3 access key as a flag', ['list', '--s3-access-key', 'AKID'], /unknown option '--s3-access-key'/],
    ['an S3 prefix with ..', ['list', '--mirror', 's3://bucket/a/../b'], /must not contain empty, "\." or "\.\." segments/],
    ['an S3 mirror without credentials', ['list', '--mirror', 's3://bucket/p', '--s3-endpoint', 'http://127.0.0.1:9'], /no S3 credentials: set HELIOSTAT_S3_ACCESS_KEY or AWS_ACCESS_KEY_ID/],
    ['an S3 mirror without an endpoint', ['list', '--mirror', 's3://bucket/p'], /no S3 endpoint/],
    ['an unknown store kind', ['list', '--mirror', 'ftp://host/x'], /expected fs:PATH or s3:\/\/BUCKET/],
    ['a missing fs mirror', ['list', '--mirror', 'fs:/nonexistent/mirror'], /no mirror at fs:\/nonexistent\/mirror/],
    ['a mirror URL with credentials', ['pull', `${SERIES}/latest`, '-o', 'OUT', '--mirror', 'https://user:secret@mirror.invalid/'], /mirror URL must not contain credentials; put a token in HELIOSTAT_MIRROR_TOKEN/],
    ['a mirror URL with a query', ['pull', `${SERIES}/latest`, '-o', 'OUT', '--mirror', 'https://mirror.invalid/?x=1'], /must not have a query or a fragment/],
    ['a bad listen address', ['serve', '--listen', 'nowhere'], /invalid --listen "nowhere": expected HOST:PORT/],
    ['a listen port out of range', ['serve', '--listen', '127.0.0.1:70000'], /invalid --listen/],
    ['a missing read-auth file', ['serve', '--read-auth', 'absent.yaml'], /cannot read --read-auth file .*absent\.yaml: ENOENT/],
  ])('%s', async (_label, args, message) => {
    const before = await snapshot(m.store);
    const cwd = await mkdtemp(join(root, 'cwd-'));
    // The case's own --mirror (last) wins over the fixture's.
    const r = await heliostat(['mirror', ...args.slice(0, 1), '--mirror', m.spec, ...args.slice(1)], { cwd, env: noS3 });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    expect(await snapshot(m.store)).toEqual(before);
    expect(await readdir(cwd)).toEqual([]);
  });

  it.each([
    ['the same mirror twice', () => ['--from', m.spec, '--to', m.spec], /name the same mirror/],
    ['an unknown train', () => ['--from', m.spec, '--to', `fs:${join(root, 'never')}`, '--train', 'nosuch'], /no train nosuch/],
    ['a malformed train', () => ['--from', m.spec, '--to', `fs:${join(root, 'never')}`, '--train', '../x'], /invalid train/],
    ['a missing source', () => ['--from', `fs:${join(root, 'absent')}`, '--to', `fs:${join(root, 'never')}`], /no mirror at/],
    ['an HTTP destination', () => ['--from', m.spec, '--to', 'https://mirror.invalid/'], /--to cannot be an HTTP mirror, which is read-only/],
    ['an HTTP source with credentials', () => ['--from', 'http://u:p@127.0.0.1:9/', '--to', `fs:${join(root, 'never')}`], /must not contain credentials/],
  ])('sync with %s', async (_label, args, message) => {
    const before = await snapshot(m.store);
    const r = await heliostat(['mirror', 'sync', ...args()]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await snapshot(m.store)).toEqual(before);
    await expect(stat(join(root, 'never'))).rejects.toThrow(/ENOENT/);
  });

  it('fails with exit 1 (not 2) when the S3 service cannot be reached', async () => {
    const r = await heliostat(['mirror', 'list', '--mirror', 's3://bucket/p', '--s3-endpoint', 'http://127.0.0.1:9'], {
      env: { HELIOSTAT_S3_ACCESS_KEY: 'AKID', HELIOSTAT_S3_SECRET_KEY: 'never-printed-secret' },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/^heliostat: error: S3 listPrefixes s3:\/\/bucket\/p\/ at http:\/\/127\.0\.0\.1:9 failed after \d+ attempts: connection refused/);
    expect(r.stderr + r.stdout).not.toContain('never-printed-secret');
  });
});

/** `heliostat mirror serve` as a child process on a free port; stop() sends SIGTERM and waits. */
async function startServe(args: string[]): Promise<{ url: string; stop: () => Promise<CliResult> }> {
  const proc: ResultPromise = execa(process.execPath, [HELIOSTAT_BIN, 'mirror', 'serve', '--listen', '127.0.0.1:0', ...args], {
    env: { NO_COLOR: '1' },
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
  });
  let seen = '';
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const found = / at (http:\/\/127\.0\.0\.1:\d+\/) /.exec(seen)?.[1];
      if (found) resolve(found);
    });
    void proc.then((r) => reject(new Error(`mirror serve exited ${String(r.exitCode)}: ${String(r.stderr)}`)));
  });
  return {
    url,
    stop: async () => {
      proc.kill('SIGTERM');
      const r = await proc;
      return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
    },
  };
}

// Each test below runs the binary about ten times (some 2 s each), hence their longer timeouts.
describe('heliostat mirror serve, and pull and sync from its URL', () => {
  beforeAll(async () => {
    m = await fixtureMirror();
  });

  it('serves the mirror until SIGTERM; pull and sync read it over HTTP, verified and resumable', async () => {
    const served = await startServe(['--mirror', m.spec, '--title', 'CI rocks']);
    try {
      const trains = (await (await fetch(`${served.url}api/mirror/v1/trains`)).json()) as { trains: string[] };
      expect(trains).toEqual({ trains: ['fix-1234', 'reference'] });
      expect(await (await fetch(`${served.url}${SERIES}/latest_build`)).text()).toBe(`${B3}\n`);
      expect(await (await fetch(served.url)).text()).toContain('<title>Trains · CI rocks</title>');

      const out = join(m.dir, 'http-pulled');
      const first = json<{ buildId: string; source: string; downloaded: number }>(await heliostat(['mirror', 'pull', `${SERIES}/latest`, '-o', out, '--mirror', served.url, '--json']));
      expect(first).toMatchObject({ buildId: B3, source: served.url, downloaded: 6 });
      const full = await readFile(join(out, ROCK));
      await unlink(join(out, ROCK));
      await writeFile(join(out, `${ROCK}.part`), full.subarray(0, 4096));
      const resumed = await heliostat(['mirror', 'pull', `${SERIES}/latest`, '-o', out, '--mirror', served.url]);
      expect(resumed.exitCode, resumed.stderr).toBe(0);
      expect(resumed.stdout).toMatch(/^resumed +rocks\/keystone_2024\.1_amd64\.rock \(.*\) from byte 4096$/m);
      expect((await readFile(join(out, ROCK))).equals(full)).toBe(true);
      // A codename reaches the numbered release, as with a store.
      expect(json<{ buildId: string }>(await heliostat(['mirror', 'pull', 'reference/caracal/noble/stable', '-o', join(m.dir, 'by-codename'), '--mirror', served.url, '--json'])).buildId).toBe(B1);
      const missing = await heliostat(['mirror', 'pull', 'nosuch/2024.1/noble/latest', '-o', join(m.dir, 'none'), '--mirror', served.url]);
      expect([missing.exitCode, missing.stderr.trim()]).toEqual([2, `heliostat: error: no train nosuch in ${served.url}; trains: fix-1234, reference`]);

      const to = `fs:${join(m.dir, 'http-replica')}`;
      const synced = json<{ from: string; buildsCopied: number }>(await heliostat(['mirror', 'sync', '--from', served.url, '--to', to, '--json']));
      expect(synced).toMatchObject({ from: served.url, buildsCopied: 4 });
      const again = await heliostat(['mirror', 'sync', '--from', served.url, '--to', to]);
      expect(again.stdout).toMatch(/0 builds and 0 blobs \(0 B\) copied, 4 builds already there/);
      const replica = json<{ buildId: string; aliases: string[] }[]>(await heliostat(['mirror', 'list', SERIES, '--json', '--mirror', to]));
      expect(replica.map((b) => [b.buildId, b.aliases])).toEqual([[B3, ['latest']], [B2, []], [B1, ['stable']]]);
    } finally {
      const stopped = await served.stop();
      expect(stopped.exitCode, stopped.stderr).toBe(0);
      expect(stopped.stdout).toMatch(/^serving fs:.* at http:\/\/127\.0\.0\.1:\d+\/ \(read access: public\); stop with Ctrl-C\nSIGTERM: stopping\n?$/);
    }
  }, 120_000);

  it('hashes a password from stdin, and a private mirror needs the token from HELIOSTAT_MIRROR_TOKEN', async () => {
    const hashed = await execa(process.execPath, [HELIOSTAT_BIN, 'mirror', 'hash-password'], { input: 'open sesame\n', reject: false });
    expect(hashed.exitCode, hashed.stderr).toBe(0);
    const hash = hashed.stdout.trim();
    expect(hash).toMatch(/^scrypt\$[0-9a-f]{32}\$[0-9a-f]{64}$/);
    expect(await verifyPassword('open sesame', hash)).toBe(true);
    const empty = await execa(process.execPath, [HELIOSTAT_BIN, 'mirror', 'hash-password'], { input: '', reject: false });
    expect([empty.exitCode, empty.stderr.trim()]).toEqual([2, 'heliostat: error: no password on stdin: pipe it in, e.g. heliostat mirror hash-password < password-file']);

    const token = 'cli-read-token-0123456789';
    const authFile = join(m.dir, 'read-auth.yaml');
    await writeFile(authFile, `public: false\nclients:\n  - name: ci\n    token: ${token}\n  - name: alice\n    passwordHash: ${hash}\n`);
    const served = await startServe(['--mirror', m.spec, '--read-auth', authFile]);
    try {
      expect((await fetch(`${served.url}api/mirror/v1/trains`)).status).toBe(401);
      const basic = `Basic ${Buffer.from('alice:open sesame').toString('base64')}`;
      expect((await fetch(`${served.url}api/mirror/v1/trains`, { headers: { Authorization: basic } })).status).toBe(200);
      const out = join(m.dir, 'private-pull');
      const refused = await heliostat(['mirror', 'pull', `${SERIES}/stable`, '-o', out, '--mirror', served.url]);
      expect([refused.exitCode, refused.stderr.trim()]).toEqual([2, `heliostat: error: mirror ${served.url} requires credentials: set HELIOSTAT_MIRROR_TOKEN to a read token`]);
      const wrong = await heliostat(['mirror', 'pull', `${SERIES}/stable`, '-o', out, '--mirror', served.url], { env: { HELIOSTAT_MIRROR_TOKEN: 'not-the-token' } });
      expect(wrong.stderr).toMatch(/the token was not accepted/);
      expect(wrong.stderr + wrong.stdout).not.toContain('not-the-token');
      const pulled = await heliostat(['mirror', 'pull', `${SERIES}/stable`, '-o', out, '--mirror', served.url, '--json'], { env: { HELIOSTAT_MIRROR_TOKEN: token } });
      expect(json<{ buildId: string }>(pulled).buildId).toBe(B1);
      const synced = await heliostat(['mirror', 'sync', '--from', served.url, '--to', `fs:${join(m.dir, 'private-replica')}`, '--json'], { env: { HELIOSTAT_MIRROR_TOKEN: token } });
      expect(json<{ buildsCopied: number }>(synced).buildsCopied).toBe(4);
    } finally {
      const stopped = await served.stop();
      expect(stopped.stdout).toMatch(/read access: 2 clients/);
      for (const secret of [token, 'open sesame']) expect(stopped.stdout + stopped.stderr).not.toContain(secret);
    }
  }, 120_000);

  it('refuses a read-auth file it cannot use, naming the field and never the secret', async () => {
    const file = join(m.dir, 'bad-auth.yaml');
    await writeFile(file, 'public: false\nclients:\n  - name: ci\n    passwordHash: plain-text-password\n');
    const r = await heliostat(['mirror', 'serve', '--read-auth', file, '--mirror', m.spec]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--read-auth file .*: clients\.0\.passwordHash: expected scrypt\$<salt hex>\$<hash hex>/);
    expect(r.stderr).not.toContain('plain-text-password');
    await writeFile(file, 'public: false\n');
    expect((await heliostat(['mirror', 'serve', '--read-auth', file, '--mirror', m.spec])).stderr).toMatch(/not public but lists no clients/);
  });

  it('parses listen addresses', () => {
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseListen(':9000')).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(parseListen('mirror.local:80')).toEqual({ host: 'mirror.local', port: 80 });
    for (const bad of ['8080', 'host:', 'host:99999', '[::1]', 'a b:1']) expect(() => parseListen(bad), bad).toThrow(/invalid --listen/);
  });
});

const rgw = inject('rgw');

describe.skipIf(!rgw)(rgw ? 'heliostat mirror with S3 (Ceph RGW)' : `heliostat mirror with S3 — ${RGW_SKIP_REASON}`, () => {
  it('syncs into a bucket with credentials from the environment, lists and pulls from it', async () => {
    m = await fixtureMirror();
    const conn = rgw!;
    const bucket = `heliostat-cli-${randomBytes(5).toString('hex')}`;
    const s3 = `s3://${bucket}/mirror/main`;
    const env = { HELIOSTAT_S3_ACCESS_KEY: conn.accessKey, HELIOSTAT_S3_SECRET_KEY: conn.secretKey };
    const common = ['--s3-endpoint', conn.endpoint, '--s3-region', conn.region];
    try {
      const sync = await heliostat(['mirror', 'sync', '--from', m.spec, '--to', s3, ...common, '--json'], { env });
      expect(json<{ buildsCopied: number }>(sync).buildsCopied).toBe(4);
      const again = await heliostat(['mirror', 'sync', '--from', m.spec, '--to', s3, ...common, '--json'], { env });
      expect(json(again)).toMatchObject({ buildsCopied: 0, blobsCopied: 0 });

      const list = await heliostat(['mirror', 'list', SERIES, '--mirror', s3, ...common, '--json'], { env });
      expect(json<{ buildId: string; aliases: string[] }[]>(list).map((b) => [b.buildId, b.aliases])).toEqual([[B3, ['latest']], [B2, []], [B1, ['stable']]]);
      const out = join(m.dir, 's3-pulled');
      const pull = await heliostat(['mirror', 'pull', `${SERIES}/stable`, '-o', out, '--mirror', s3, ...common, '--json'], { env });
      expect(json(pull)).toMatchObject({ buildId: B1, downloaded: 6 });
      const config = join(m.dir, 's3.yaml');
      await writeFile(config, `mirror: ${s3}\ns3-endpoint: ${conn.endpoint}\ns3-access-key: ${conn.accessKey}\ns3-secret-key: ${conn.secretKey}\n`);
      const viaConfig = await heliostat(['mirror', 'show', `${SERIES}/latest`, '--config', config, '--json'], { env: { HELIOSTAT_S3_ACCESS_KEY: '', HELIOSTAT_S3_SECRET_KEY: '' } });
      expect(json<{ record: { buildId: string } }>(viaConfig).record.buildId).toBe(B3);
      for (const r of [sync, again, list, pull, viaConfig]) expect(r.stdout + r.stderr).not.toContain(conn.secretKey);
    } finally {
      const url = new URL(conn.endpoint);
      const client = new Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false, pathStyle: true, region: conn.region, accessKey: conn.accessKey, secretKey: conn.secretKey });
      const names: string[] = [];
      for await (const o of client.listObjects(bucket, '', true) as AsyncIterable<{ name?: string }>) if (o.name) names.push(o.name);
      await client.removeObjects(bucket, names);
      await client.removeBucket(bucket);
    }
  });
});

describe('mirror settings (in process)', () => {
  it('parses store specs', () => {
    expect(parseStoreSpec('fs:rel/m', '/work')).toEqual({ kind: 'fs', root: '/work/rel/m' });
    expect(parseStoreSpec('s3://rocks', '/')).toEqual({ kind: 's3', bucket: 'rocks', prefix: '' });
    expect(parseStoreSpec('s3://rocks/a/b/', '/')).toEqual({ kind: 's3', bucket: 'rocks', prefix: 'a/b' });
    for (const bad of ['fs:', 's3://', 's3://UPPER/x', 's3://ab', 's3://b..c/x', 's3://bucket//x', '/plain/path', 'mirror']) expect(() => parseStoreSpec(bad, '/'), bad).toThrow(/invalid mirror/);
  });

  it('takes S3 settings from flags, then the config file, then the environment, and keys as a pair', async () => {
    const config = join(root, 'settings.yaml');
    await writeFile(config, 's3-endpoint: http://file:7480\ns3-region: from-file\ns3-path-style: true\ns3-access-key: FILEKEY\ns3-secret-key: FILESECRET\n');
    const env = { HELIOSTAT_S3_ENDPOINT: 'http://env:7480', AWS_REGION: 'from-env', HELIOSTAT_S3_ACCESS_KEY: 'ENVKEY', AWS_SECRET_ACCESS_KEY: 'ENVSECRET', HELIOSTAT_S3_PATH_STYLE: 'false' };
    const fromEnv = await resolveSettings({}, env, root);
    expect(fromEnv.s3).toEqual({ endpoint: 'http://env:7480', region: 'from-env', pathStyle: false, accessKey: 'ENVKEY', secretKey: 'ENVSECRET' });
    const fromFile = await resolveSettings({ config }, env, root);
    expect(fromFile.s3).toEqual({ endpoint: 'http://file:7480', region: 'from-file', pathStyle: true, accessKey: 'FILEKEY', secretKey: 'FILESECRET' });
    const fromFlags = await resolveSettings({ config, s3Endpoint: 'http://flag:7480', s3PathStyle: false, s3Insecure: true, s3CaFile: 'ca.pem' }, env, root);
    expect(fromFlags.s3).toMatchObject({ endpoint: 'http://flag:7480', pathStyle: false, insecure: true, caFile: join(root, 'ca.pem'), accessKey: 'FILEKEY' });
    const options = s3OptionsFor({ kind: 's3', bucket: 'rocks', prefix: 'm' }, fromFile);
    expect(options).toMatchObject({ bucket: 'rocks', prefix: 'm/', region: 'from-file', accessKey: 'FILEKEY' });
    expect(() => s3OptionsFor({ kind: 's3', bucket: 'rocks', prefix: '' }, { ...fromFile, s3: { ...fromFile.s3, endpoint: 'http://h/with/path' } })).toThrow(/endpoint: must be a bare origin/);
  });

  it('defaults the mirror to <data dir>/mirror and resolves relative fs specs', async () => {
    expect((await resolveSettings({}, { XDG_DATA_HOME: '/xdg' }, '/w')).mirror).toBe('fs:/xdg/heliostat/mirror');
    expect((await resolveSettings({ dataDir: 'd' }, {}, '/w')).mirror).toBe('fs:/w/d/mirror');
    expect((await resolveSettings({ mirror: 'fs:m' }, {}, '/w')).mirror).toBe('fs:/w/m');
    expect((await resolveSettings({ mirror: 's3://b/p' }, {}, '/w')).mirror).toBe('s3://b/p');
  });
});
