import { chmod, mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CacheConflictError,
  InvalidUpstreamArgumentError,
  InvalidUpstreamUrlError,
  LockTimeoutError,
  NotCachedError,
  UnknownBranchError,
  UpstreamNotFoundError,
  UpstreamRocksRepo,
  type UpstreamLogEvent,
  type UpstreamRocksRepoOptions,
} from '../../src/rocks/upstream.js';
import { acquireFileLock } from '../../src/rocks/upstream-lock.js';
import { commitToBranch, createRocksRepo, fixtureFiles, listFixtureRocks, type RocksRepo } from '../fixtures/rocks-repo.js';

let tmp: string;
let origin: RocksRepo; // never modified: shared by the read-only tests
let n = 0;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'upstream-'));
  origin = await createRocksRepo(path.join(tmp, 'origin'), {
    extraFiles: { main: { 'rocks/not-a-rock/README.md': 'no rockcraft.yaml here\n' } },
  });
});

afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const fresh = (name: string): string => path.join(tmp, `${name}-${++n}`);

function open(options: Partial<UpstreamRocksRepoOptions> & { url: string }) {
  const events: UpstreamLogEvent[] = [];
  const repo = new UpstreamRocksRepo({ cacheDir: fresh('cache'), log: (e) => events.push(e), ...options });
  const count = (op: UpstreamLogEvent['op']): number => events.filter((e) => e.op === op).length;
  return { repo, events, count };
}

async function git(dir: string, args: string[]): Promise<string> {
  return (await execa('git', args, { cwd: dir })).stdout;
}

describe('resolveBranch', () => {
  it('clones on first use into a bare cache keyed by the URL', async () => {
    const { repo, events } = open({ url: origin.url });
    const resolved = await repo.resolveBranch('main');
    expect(resolved).toEqual({ branch: 'main', commit: origin.heads.main });
    expect(events.map((e) => e.op)).toEqual(['ls-remote', 'clone']);
    expect(path.basename(repo.repoDir)).toMatch(/^[0-9a-f]{16}$/);
    expect(path.basename(path.dirname(repo.repoDir))).toBe('rocks');
    expect((await git(repo.repoDir, ['rev-parse', '--is-bare-repository'])).trim()).toBe('true');
    expect(await git(repo.repoDir, ['config', 'heliostat.url'])).toBe(origin.url);
    expect(await git(repo.repoDir, ['tag'])).toBe('');
  });

  it('makes one ls-remote and no fetch when the upstream did not move', async () => {
    const { repo, events, count } = open({ url: origin.url });
    await repo.resolveBranch('main');
    events.length = 0;
    expect(await repo.resolveBranch('main')).toEqual({ branch: 'main', commit: origin.heads.main });
    expect(await repo.resolveBranch('stable/2023.1')).toEqual({ branch: 'stable/2023.1', commit: origin.heads['stable/2023.1'] });
    expect(count('ls-remote')).toBe(2);
    expect(count('fetch') + count('clone')).toBe(0);

    // A new instance (another process) over the same cache behaves the same.
    const second = open({ url: origin.url, cacheDir: path.dirname(path.dirname(repo.repoDir)) });
    await second.repo.resolveBranch('dalmatian');
    expect(second.events.map((e) => e.op)).toEqual(['ls-remote']);
  });

  it('fetches once when the head moved, and sees the new content', async () => {
    const moving = await createRocksRepo(fresh('origin'), { branches: ['main', 'stable/2025.1'] });
    const { repo, count } = open({ url: moving.dir });
    const before = await repo.resolveBranch('main');
    const sha = await commitToBranch(moving.dir, 'main', { 'rocks/brand-new/rockcraft.yaml': 'name: brand-new\n' }, 'Add a rock');
    const after = await repo.resolveBranch('main');
    expect(after.commit).toBe(sha);
    expect(count('ls-remote')).toBe(2);
    expect(count('clone')).toBe(1);
    expect(count('fetch')).toBe(1);
    expect(await repo.listRocks(sha)).toContain('brand-new');
    expect(await repo.readRockcraft(sha, 'brand-new')).toBe('name: brand-new\n');
    expect(await repo.listRocks(before.commit)).not.toContain('brand-new');

    // A rewritten branch (moved backwards) is followed too.
    await git(moving.dir, ['update-ref', 'refs/heads/main', before.commit]);
    expect((await repo.resolveBranch('main')).commit).toBe(before.commit);
    expect(count('fetch')).toBe(2);
    // The other branch did not move: no fetch for it.
    await repo.resolveBranch('stable/2025.1');
    expect(count('fetch')).toBe(2);
  });

  it('works offline from the cache and says clearly what is missing', async () => {
    const cacheDir = fresh('cache');
    await expect(open({ url: origin.url, cacheDir, offline: true }).repo.resolveBranch('main')).rejects.toThrow(
      new RegExp(`offline and no cached clone of ${origin.url}`),
    );
    await open({ url: origin.url, cacheDir }).repo.resolveBranch('main');
    const offline = open({ url: origin.url, cacheDir, offline: true });
    expect(await offline.repo.resolveBranch('stable/2024.1')).toEqual({ branch: 'stable/2024.1', commit: origin.heads['stable/2024.1'] });
    expect(await offline.repo.listBranches()).toEqual(Object.keys(origin.heads).sort());
    const error = await offline.repo.resolveBranch('stable/2099.1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownBranchError);
    expect(String(error)).toMatch(/"stable\/2099\.1" does not exist in the offline cache .*branches: dalmatian, main, stable\/2023\.1/);
    expect(offline.events).toEqual([]);
  });

  it('rejects an unknown branch listing the remote branches, without cloning', async () => {
    const { repo, events } = open({ url: origin.url });
    const error = await repo.resolveBranch('stable/2099.1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnknownBranchError);
    expect((error as UnknownBranchError).available).toEqual(Object.keys(origin.heads).sort());
    expect(String(error)).toContain('branches: dalmatian, main, stable/2023.1, stable/2023.2, stable/2024.1, stable/2025.1');
    expect(events.map((e) => e.op)).toEqual(['ls-remote']);
    await expect(stat(repo.repoDir)).rejects.toThrow();
  });

  it.each(['', '--upload-pack=touch /tmp/x', '-b', '../main', 'a b', 'main..x', 'refs/heads/', 'x.lock', 'a\nb'])(
    'rejects the branch argument %j before running git',
    async (branch) => {
      const { repo, events } = open({ url: origin.url });
      await expect(repo.resolveBranch(branch)).rejects.toBeInstanceOf(InvalidUpstreamArgumentError);
      expect(events).toEqual([]);
    },
  );

  it('reports an unreachable remote as a git failure naming the URL', async () => {
    const gone = fresh('gone');
    await mkdir(gone);
    const { repo } = open({ url: gone });
    await rm(gone, { recursive: true });
    await expect(repo.resolveBranch('main')).rejects.toThrow(new RegExp(`git ls-remote failed for ${gone}`));
  });
});

describe('URL validation', () => {
  it.each([
    ['', /empty/],
    ['   ', /empty/],
    [' https://example.com/x', /whitespace/],
    ['-oProxyCommand=touch /tmp/pwned', /must not start with "-"/],
    ['--upload-pack=touch /tmp/pwned', /must not start with "-"/],
    ['ext::sh -c touch% /tmp/pwned', /remote helper/],
    ['fd::17', /remote helper/],
    ['ftp://example.com/rocks.git', /unsupported scheme "ftp"/],
    ['ssh://-oProxyCommand=touch%20x/y', /must not start with "-"/],
    ['ssh://-user@host/y', /must not start with "-"/],
    ['-host:repo.git', /must not start with "-"/],
    ['git@host:-repo', /must not start with "-"/],
    ['https://exa mple.com/x', /not a valid URL/],
    ['file:///nonexistent/rocks', /does not exist/],
    ['/nonexistent/rocks', /local path \/nonexistent\/rocks does not exist/],
    ['https://x/\u0000', /control characters/],
  ])('rejects %j', (url, message) => {
    let error: unknown;
    try {
      new UpstreamRocksRepo({ url, cacheDir: tmp });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidUpstreamUrlError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(JSON.stringify(url));
  });

  it('accepts remote URLs, scp-like addresses, file URLs and local paths (made absolute)', () => {
    const url = (u: string): string => new UpstreamRocksRepo({ url: u, cacheDir: tmp }).url;
    expect(url('https://github.com/canonical/ubuntu-openstack-rocks')).toBe('https://github.com/canonical/ubuntu-openstack-rocks');
    expect(url('git@github.com:canonical/ubuntu-openstack-rocks.git')).toBe('git@github.com:canonical/ubuntu-openstack-rocks.git');
    expect(url('ssh://git@github.com/canonical/ubuntu-openstack-rocks')).toMatch(/^ssh:/);
    expect(url(origin.url)).toBe(origin.url);
    expect(url(path.relative(process.cwd(), origin.dir))).toBe(origin.dir);
    // One cache per URL.
    const a = new UpstreamRocksRepo({ url: origin.url, cacheDir: tmp });
    const b = new UpstreamRocksRepo({ url: origin.dir, cacheDir: tmp });
    expect(a.repoDir).not.toBe(b.repoDir);
  });
});

describe('reading', () => {
  let cacheDir: string;
  let main: string;
  beforeAll(async () => {
    cacheDir = fresh('cache');
    main = (await open({ url: origin.url, cacheDir }).repo.resolveBranch('main')).commit;
  });

  it('lists the rock folders holding a rockcraft.yaml, sorted', async () => {
    const { repo } = open({ url: origin.url, cacheDir });
    const rocks = await repo.listRocks(main);
    expect(rocks).toEqual(listFixtureRocks('main'));
    expect(rocks).not.toContain('not-a-rock');
    const old = await repo.resolveBranch('stable/2023.1');
    expect(await repo.listRocks(old.commit)).toEqual(listFixtureRocks('stable/2023.1'));
  });

  it('reads every rockcraft.yaml exactly, with at most two git processes', async () => {
    const { repo } = open({ url: origin.url, cacheDir });
    const log = await gitSpy();
    try {
      const all = await repo.readRockcrafts(main);
      const spawned = (await readFile(log.file, 'utf8')).split('\n').filter(Boolean);
      expect(spawned).toEqual(['ls-tree', 'cat-file']);
      expect([...all.keys()]).toEqual(listFixtureRocks('main'));
      const expected = fixtureFiles('main');
      for (const [rock, text] of all) expect(text).toBe(expected[`rocks/${rock}/rockcraft.yaml`]);
      expect(await repo.readRockcraft(main, 'nova-spiceproxy')).toMatch(/^name: nova-api$/m);
      const some = await repo.readRockcrafts(main, ['keystone', 'cinder-api', 'keystone']);
      expect([...some.keys()]).toEqual(['keystone', 'cinder-api']);
    } finally {
      log.restore();
    }
  });

  it('keeps bytes as stored: CRLF, BOM, no final newline, binary files', async () => {
    const odd = await createRocksRepo(fresh('origin'), { branches: ['stable/2023.2'] });
    const crlf = '\uFEFFname: odd\r\nversion: "1"\r\nbase: ubuntu@22.04';
    const binary = Buffer.from([0, 1, 2, 255, 10, 13, 10]);
    await commitToBranch(odd.dir, 'stable/2023.2', { 'rocks/odd/rockcraft.yaml': crlf, 'workarounds/blob.bin': binary }, 'Odd bytes');
    const { repo } = open({ url: odd.url });
    const { commit } = await repo.resolveBranch('stable/2023.2');
    expect(await repo.readRockcraft(commit, 'odd')).toBe(crlf);
    expect((await repo.readFile(commit, 'workarounds/blob.bin')).equals(binary)).toBe(true);
    expect((await repo.readFile(commit, 'rocks/odd/rockcraft.yaml')).equals(Buffer.from(crlf))).toBe(true);
  });

  it('reports missing rocks, files, directories and commits clearly', async () => {
    const { repo } = open({ url: origin.url, cacheDir });
    await expect(repo.readRockcraft(main, 'no-such-rock')).rejects.toThrow(/no rockcraft.yaml for no-such-rock at commit/);
    await expect(repo.readFile(main, 'rocks/keystone/nope.txt')).rejects.toThrow(/rocks\/keystone\/nope.txt does not exist at commit/);
    await expect(repo.readFile(main, 'rocks/keystone')).rejects.toThrow(/is a tree, not a file/);
    const unknown = 'f'.repeat(40);
    await expect(repo.listRocks(unknown)).rejects.toThrow(new RegExp(`commit ${unknown} is not in the cache`));
    await expect(repo.readFile(unknown, 'README.md')).rejects.toBeInstanceOf(UpstreamNotFoundError);
    await expect(open({ url: origin.url }).repo.listRocks(main)).rejects.toBeInstanceOf(NotCachedError);
  });

  it.each(['../etc/passwd', '/etc/passwd', 'rocks/../../x', 'rocks//x', 'rocks/./x', 'rocks\\x', '', 'a\nb'])(
    'rejects the path %j',
    async (p) => {
      const { repo } = open({ url: origin.url, cacheDir });
      await expect(repo.readFile(main, p)).rejects.toBeInstanceOf(InvalidUpstreamArgumentError);
    },
  );

  it('rejects malformed commits and rock names', async () => {
    const { repo } = open({ url: origin.url, cacheDir });
    for (const commit of ['HEAD', 'main', main.slice(0, 12), `--output=/tmp/x${'0'.repeat(31)}`]) {
      await expect(repo.listRocks(commit)).rejects.toThrow(/invalid commit/);
    }
    for (const rock of ['../keystone', 'a/b', '-x', '']) {
      await expect(repo.readRockcraft(main, rock)).rejects.toThrow(/invalid rock/);
    }
  });
});

describe('shared cache', () => {
  it('survives concurrent resolves from two instances', async () => {
    const moving = await createRocksRepo(fresh('origin'));
    const cacheDir = fresh('cache');
    const a = open({ url: moving.url, cacheDir });
    const b = open({ url: moving.url, cacheDir });
    const branches = ['main', 'stable/2025.1', 'dalmatian', 'main', 'stable/2023.1'];
    const results = await Promise.all(branches.flatMap((br) => [a.repo.resolveBranch(br), b.repo.resolveBranch(br)]));
    for (const r of results) expect(r.commit).toBe(moving.heads[r.branch]);
    expect(a.count('clone') + b.count('clone')).toBe(1);
    expect(a.count('fetch') + b.count('fetch')).toBe(0);

    const sha = await commitToBranch(moving.dir, 'main', { 'rocks/x/rockcraft.yaml': 'name: x\n' }, 'Move');
    const moved = await Promise.all([a.repo.resolveBranch('main'), b.repo.resolveBranch('main')]);
    expect(moved.map((r) => r.commit)).toEqual([sha, sha]);
    expect(a.count('fetch') + b.count('fetch')).toBe(1);
    await git(a.repo.repoDir, ['fsck', '--no-progress']);
    await expect(stat(`${a.repo.repoDir}.lock`)).rejects.toThrow();
  });

  it('waits for a held lock, breaks a dead holder\'s lock, and times out clearly', async () => {
    const own = await createRocksRepo(fresh('origin'), { branches: ['main'] });
    const { repo } = open({ url: own.url });
    const cacheDir = path.dirname(path.dirname(repo.repoDir));
    await mkdir(path.dirname(repo.repoDir), { recursive: true });
    const lock = `${repo.repoDir}.lock`;

    const release = await acquireFileLock(lock);
    let done = false;
    const pending = repo.resolveBranch('main').then(() => (done = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    await release();
    await pending;

    // Up to date: answered without taking the lock.
    const held = await acquireFileLock(lock);
    expect((await repo.resolveBranch('main')).commit).toBe(own.heads.main);
    await held();

    const child = execa(process.execPath, ['-e', 'process.exit(0)']);
    const deadPid = child.pid;
    await child;
    await writeFile(lock, JSON.stringify({ pid: deadPid, host: os.hostname(), token: 'x', since: '2020-01-01' }));
    await commitToBranch(own.dir, 'side', { 'x.txt': 'x\n' }, 'Side');
    await repo.resolveBranch('side');

    await writeFile(lock, JSON.stringify({ pid: 1, host: 'elsewhere', token: 'y', since: '2020-01-01' }));
    const old = new Date(Date.now() - 3600_000);
    await utimes(lock, old, old);
    await commitToBranch(own.dir, 'side', { 'y.txt': 'y\n' }, 'Side again');
    await open({ url: own.url, cacheDir }).repo.resolveBranch('side');

    await writeFile(lock, JSON.stringify({ pid: process.pid, host: os.hostname(), token: 'z', since: '2020-01-01' }));
    await commitToBranch(own.dir, 'main', { 'z.txt': 'z\n' }, 'Main moves');
    const impatient = new UpstreamRocksRepo({ url: own.url, cacheDir, lock: { timeoutMs: 200 } });
    await expect(impatient.resolveBranch('main')).rejects.toBeInstanceOf(LockTimeoutError);
    await rm(lock);
  });

  it('refuses a cache made for another URL', async () => {
    const { repo } = open({ url: origin.url });
    await repo.resolveBranch('main');
    await git(repo.repoDir, ['config', 'heliostat.url', 'https://example.com/other']);
    const again = new UpstreamRocksRepo({ url: origin.url, cacheDir: path.dirname(path.dirname(repo.repoDir)) });
    await expect(again.resolveBranch('main')).rejects.toBeInstanceOf(CacheConflictError);
  });
});

const restoreFns: (() => void)[] = [];
afterEach(() => {
  for (const fn of restoreFns.splice(0)) fn();
});

/** Puts a `git` wrapper first on PATH that records each subcommand it runs. */
async function gitSpy(): Promise<{ file: string; restore: () => void }> {
  const dir = fresh('bin');
  await mkdir(dir);
  const real = (await execa('sh', ['-c', 'command -v git'])).stdout.trim();
  const file = path.join(dir, 'calls.log');
  await writeFile(path.join(dir, 'git'), `#!/bin/sh\necho "$1" >> '${file}'\nexec '${real}' "$@"\n`);
  await chmod(path.join(dir, 'git'), 0o755);
  await writeFile(file, '');
  const saved = process.env.PATH;
  process.env.PATH = `${dir}${path.delimiter}${saved ?? ''}`;
  const restore = (): void => {
    process.env.PATH = saved;
  };
  restoreFns.push(restore);
  return { file, restore };
}

describe('builds starting together', () => {
  it('share one ls-remote, and a commit\'s rock folders are listed once', async () => {
    const { repo, count } = open({ url: origin.url });
    await repo.resolveBranch('main');
    const before = count('ls-remote');
    const answers = await Promise.all([repo.resolveBranch('main'), repo.resolveBranch('stable/2024.1'), repo.resolveBranch('main')]);
    expect(count('ls-remote') - before).toBe(1);
    expect(answers.map((a) => a.commit)).toEqual([origin.heads.main, origin.heads['stable/2024.1'], origin.heads.main]);
    // Sequential callers still ask again: a later build must see a newer head.
    await repo.resolveBranch('main');
    expect(count('ls-remote') - before).toBe(2);

    const first = await repo.rockFolderTrees(origin.heads.main!);
    first.clear();
    expect((await repo.rockFolderTrees(origin.heads.main!)).size).toBeGreaterThan(0);
  });
});
