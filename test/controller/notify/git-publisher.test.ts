// The git publisher against real bare repositories on disk: a branch per build with images.json
// and manifest.yaml, a commit for a promotion, nothing for a failed build, and no dependence on
// the machine's git configuration (HOME points at an empty folder during these tests).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { execa } from 'execa';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitPublisher, branchFor, notificationsConfigSchema, startNotifications, type BuildCoordinates, type PublishedFile } from '../../../src/controller/notify/index.js';
import { FakeController } from '../http/fake-controller.js';

let root: string;
const savedHome = process.env['HOME'];

// Test-side git: no global or system config either.
const git = (args: string[], cwd?: string) =>
  execa('git', args, { cwd, env: { HOME: root, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' }, extendEnv: false }).then((r) => r.stdout);

const BUILD: BuildCoordinates = { train: 'reference', release: 'caracal', series: 'noble', buildId: '20250101T000000Z' };
const branch = branchFor({ ...BUILD, release: '2024.1' });
const dir = 'heliostat/reference/2024.1/noble';

function files(version: string) {
  const read = (build: BuildCoordinates, file: PublishedFile) =>
    Promise.resolve(file === 'images.json' ? `{"build":"${build.buildId}","cinder-api":"sha256:${version}"}\n` : `software:\n  charms: {}\n# ${version}\n`);
  return read;
}

function capture() {
  const lines: string[] = [];
  return { lines, logger: pino(new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) })) };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'heliostat-git-publisher-'));
  process.env['HOME'] = root;
});
afterAll(async () => {
  process.env['HOME'] = savedHome;
  await rm(root, { recursive: true, force: true });
});

async function bareRepo(name: string, seeded: boolean): Promise<string> {
  const bare = join(root, `${name}.git`);
  await git(['-c', 'init.defaultBranch=main', 'init', '--quiet', '--bare', bare]);
  if (seeded) {
    const seed = join(root, `${name}-seed`);
    await git(['-c', 'init.defaultBranch=main', 'init', '--quiet', seed]);
    await git(['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '--allow-empty', '-m', 'start'], seed);
    await git(['push', '--quiet', bare, 'main'], seed);
  }
  return bare;
}

describe('git publisher', () => {
  it('pushes the files of a successful build to a new branch based on the default branch', async () => {
    const bare = await bareRepo('seeded', true);
    const { logger } = capture();
    const publisher = new GitPublisher({ repository: bare, workDir: join(root, 'work-seeded'), read: files('aaa'), logger, author: { name: 'Heliostat Bot', email: 'bot@example.invalid' } });
    publisher.handle({ type: 'published', ...BUILD, result: 'success' });
    await publisher.idle();
    expect(await git(['--git-dir', bare, 'branch', '--list', 'heliostat/*'])).toContain(branch);
    expect(await git(['--git-dir', bare, 'show', `${branch}:${dir}/images.json`])).toBe('{"build":"20250101T000000Z","cinder-api":"sha256:aaa"}');
    expect(await git(['--git-dir', bare, 'show', `${branch}:${dir}/manifest.yaml`])).toContain('# aaa');
    expect(await git(['--git-dir', bare, 'log', '--format=%an <%ae>|%s', branch])).toBe(
      'Heliostat Bot <bot@example.invalid>|heliostat: reference/2024.1/noble build 20250101T000000Z (build)\nt <t@example.invalid>|start',
    );
  });

  it('starts from nothing in an empty repository, records a promotion, skips unchanged rebuilds and failures', async () => {
    const bare = await bareRepo('empty', false);
    const { logger } = capture();
    const publisher = new GitPublisher({ repository: bare, workDir: join(root, 'work-empty'), read: files('bbb'), logger });
    const first = await publisher.publish(BUILD, 'build');
    expect(first).toMatchObject({ branch, pushed: true });
    expect((await git(['--git-dir', bare, 'ls-tree', '-r', '--name-only', branch])).split('\n')).toEqual([`${dir}/images.json`, `${dir}/manifest.yaml`]);

    const again = await publisher.publish(BUILD, 'build');
    expect(again).toEqual({ branch, commit: first.commit, pushed: false });

    publisher.handle({ type: 'published', ...BUILD, buildId: '20250102T000000Z', result: 'fail' });
    publisher.handle({ type: 'promoted', ref: 'reference/caracal/noble/20250101T000000Z', buildId: '20250101T000000Z' });
    await publisher.idle();
    const log = (await git(['--git-dir', bare, 'log', '--format=%s', branch])).split('\n');
    expect(log).toEqual(['heliostat: reference/2024.1/noble build 20250101T000000Z (promotion to stable)', 'heliostat: reference/2024.1/noble build 20250101T000000Z (build)']);
    expect(await git(['--git-dir', bare, 'branch', '--list', 'heliostat/*'])).not.toContain('20250102T000000Z');
  });

  it('logs a failure without credentials and keeps going', async () => {
    const { logger, lines } = capture();
    const publisher = new GitPublisher({ repository: 'http://bot:s3cret-token@127.0.0.1:9/none.git', workDir: join(root, 'work-broken'), read: files('ccc'), logger, timeoutMs: 10_000 });
    publisher.handle({ type: 'published', ...BUILD, result: 'success' });
    await publisher.idle();
    const log = lines.join('');
    expect(log).toMatch(/git publisher: could not publish/);
    expect(log).not.toContain('s3cret-token');
  });

  it('refuses a build without either file', async () => {
    const bare = await bareRepo('nofiles', false);
    const publisher = new GitPublisher({ repository: bare, workDir: join(root, 'work-nofiles'), read: () => Promise.resolve(undefined), logger: capture().logger });
    await expect(publisher.publish(BUILD, 'build')).rejects.toThrow(/has neither images.json nor manifest.yaml/);
  });

  it('is attached to the controller by startNotifications from the config section', async () => {
    const bare = await bareRepo('composed', false);
    const config = notificationsConfigSchema.parse({ git: { repository: bare, author: { name: 'Bot', email: 'bot@example.invalid' } } });
    expect(config.webhooks).toEqual([]);
    expect(() => notificationsConfigSchema.parse({ webhooks: [{ url: 'https://x.example.com', events: ['exploded'] }] })).toThrow();
    const controller = new FakeController();
    const running = startNotifications(controller, config, { logger: capture().logger, dataDir: join(root, 'data'), readBuildFile: files('ddd') });
    controller.emit({ type: 'published', ...BUILD, result: 'success' });
    await running.idle();
    expect(await git(['--git-dir', bare, 'log', '--format=%an', branch])).toBe('Bot');
    running.stop();
    expect(controller.listenerCount()).toBe(0);
  });
});
