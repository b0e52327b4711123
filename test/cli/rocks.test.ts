import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { openstackSource } from '../fixtures/apt-archive.js';
import { startAptArchive, type AptArchiveFixture } from '../fixtures/apt-archive-server.js';
import { createRocksRepo, commitToBranch, listFixtureRocks } from '../fixtures/rocks-repo.js';
import { heliostat } from './helpers.js';

let root: string;
let repo: { dir: string; url: string };
let apt: AptArchiveFixture;
let cache: string;

const common = () => ['--rocks-repo', repo.url, '--cache-dir', cache, '--ubuntu-archive', apt.server.archiveUrl, '--cloud-archive', apt.server.cloudUrl, '--ppa-archive', apt.server.ppaUrl];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'heliostat-cli-'));
  repo = await createRocksRepo(join(root, 'upstream'));
  cache = join(root, 'cache');
  apt = await startAptArchive({
    archive: {
      noble: { main: [openstackSource('cinder', '2:24.0.0-0ubuntu1'), openstackSource('nova', '3:29.0.0-0ubuntu1')], universe: [] },
      'noble-updates': { main: [openstackSource('cinder', '2:24.0.1-0ubuntu1')], universe: [] },
      'noble-security': { main: [], universe: [] },
    },
    ppas: [{ owner: 'team', name: 'fix', series: 'noble', sources: [openstackSource('cinder', '2:24.0.1-0ubuntu1~fix1')] }],
  });
}, 60_000);

afterAll(async () => {
  await apt.server.close();
  await rm(root, { recursive: true, force: true });
});

describe('heliostat releases', () => {
  it('lists nine releases as JSON', async () => {
    const r = await heliostat(['releases', '--json']);
    expect(r.exitCode).toBe(0);
    const releases = JSON.parse(r.stdout) as Array<{ codename: string; rocksBranch: string }>;
    expect(releases.map((x) => x.codename)).toHaveLength(9);
    expect(releases.find((x) => x.codename === 'caracal')?.rocksBranch).toBe('stable/2024.1');
  });
});

describe('heliostat rocks list', () => {
  it.each([
    ['antelope', 'stable/2023.1'],
    ['bobcat', 'stable/2023.2'],
    ['caracal', 'stable/2024.1'],
    ['dalmatian', 'dalmatian'],
    ['epoxy', 'stable/2025.1'],
    ['gazpacho', 'main'],
    ['2024.1', 'stable/2024.1'],
  ])('lists exactly the rocks of %s (%s)', async (release, branch) => {
    const r = await heliostat(['rocks', 'list', '--release', release, '--json', ...common()]);
    expect(r.exitCode, r.stderr).toBe(0);
    const rocks = JSON.parse(r.stdout) as Array<{ name: string; imageName: string; branch: string }>;
    expect(rocks.map((x) => x.name)).toEqual(listFixtureRocks(branch as never).sort());
    expect(rocks.every((x) => x.branch === branch)).toBe(true);
  });

  it('tells the folder from the image name', async () => {
    const r = await heliostat(['rocks', 'list', '--release', 'caracal', '--json', ...common()]);
    const rocks = JSON.parse(r.stdout) as Array<{ name: string; imageName: string }>;
    expect(rocks.find((x) => x.name === 'nova-spiceproxy')?.imageName).toBe('nova-api');
  });

  it('says when a release borrows a branch', async () => {
    const r = await heliostat(['rocks', 'list', '--release', 'flamingo', ...common()]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/flamingo has no branch in ubuntu-openstack-rocks; using main/);
    expect(r.stdout.split('\n')[0]).toMatch(/^ROCK\s+IMAGE\s+VERSION\s+BASE\s+REPOSITORIES$/);
  });

  it('asks the remote once and fetches nothing when the upstream has not moved', async () => {
    const own = join(root, 'cache-count');
    const args = ['rocks', 'list', '--release', 'epoxy', '--verbose', '--rocks-repo', repo.url, '--cache-dir', own];
    const first = await heliostat(args);
    expect(first.stderr).toMatch(/git clone/);
    const second = await heliostat(args);
    expect(second.exitCode).toBe(0);
    expect(second.stderr.match(/^git ls-remote/gm)).toHaveLength(1);
    expect(second.stderr).not.toMatch(/git (fetch|clone)/);
    await commitToBranch(repo.dir, 'stable/2025.1', { 'rocks/new-rock/rockcraft.yaml': 'name: new-rock\nversion: "2025.1"\nbase: ubuntu@24.04\nparts: {}\n' }, 'add a rock');
    const third = await heliostat([...args, '--json']);
    expect(third.stderr.match(/^git fetch/gm)).toHaveLength(1);
    expect((JSON.parse(third.stdout) as Array<{ name: string }>).map((x) => x.name)).toContain('new-rock');
    const offline = await heliostat([...args.filter((a) => a !== '--verbose'), '--offline', '--json']);
    expect(offline.exitCode).toBe(0);
    expect((JSON.parse(offline.stdout) as unknown[]).length).toBe(listFixtureRocks('stable/2025.1').length + 1);
  });
});

describe('heliostat rocks show', () => {
  it('shows one rock', async () => {
    const r = await heliostat(['rocks', 'show', 'cinder-api', '--release', 'antelope', ...common()]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^rock: +cinder-api$/m);
    expect(r.stdout).toMatch(/^version: +2023\.1$/m);
    expect(r.stdout).toMatch(/^base: +ubuntu:22\.04$/m);
    expect(r.stdout).toMatch(/^repositories: +cloud:antelope$/m);
  });
});

describe('heliostat rocks patch', () => {
  it('prints the patched yaml and logs each change on stderr', async () => {
    const r = await heliostat(['rocks', 'patch', 'cinder-api', '--release', 'antelope', '--ppa', 'ppa:a/b', '--suffix', 't', ...common()]);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = parse(r.stdout) as Record<string, unknown>;
    expect(doc['version']).toBe('2023.1-t');
    expect(doc['base']).toBe('ubuntu@22.04');
    expect(r.stderr).toMatch(/^patched ppa: added ppa a\/b/m);
  });

  it('writes to -o and leaves no cloud entry for caracal on noble', async () => {
    const dir = await mkdtemp(join(root, 'out-'));
    const r = await heliostat(['rocks', 'patch', 'watcher-api', '--release', 'caracal', '--series', 'noble', '--ppa', 'ppa:team/fix:1500', '-o', 'rockcraft.yaml', ...common()], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    const doc = parse(await readFile(join(dir, 'rockcraft.yaml'), 'utf8')) as { 'package-repositories': Array<Record<string, unknown>>; base: string };
    expect(doc.base).toBe('ubuntu@24.04');
    expect(doc['package-repositories']).toEqual([{ type: 'apt', ppa: 'team/fix', priority: 1500 }]);
  });
});

describe('heliostat rocks for', () => {
  it('names the cinder rocks for caracal from the apt indices', async () => {
    const r = await heliostat(['rocks', 'for', 'cinder', '--release', 'caracal', '--json', ...common()]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ name: string }>).map((x) => x.name)).toEqual([
      'cinder-api', 'cinder-consolidated', 'cinder-scheduler', 'cinder-volume',
    ]);
  });

  it('prefers the consolidated rock with --consolidated, and reads PPAs', async () => {
    const r = await heliostat(['rocks', 'for', 'cinder', 'nova', '--release', 'caracal', '--consolidated', '--ppa', 'ppa:team/fix', '--json', ...common()]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Array<{ name: string }>).map((x) => x.name)).toEqual(['cinder-consolidated', 'nova-consolidated']);
  });

  it('revalidates indices with conditional requests the second time', async () => {
    apt.server.resetCounts();
    await heliostat(['rocks', 'for', 'cinder', '--release', 'caracal', ...common()]);
    const conditional = apt.server.requests.filter((q) => q.ifNoneMatch !== undefined || q.ifModifiedSince !== undefined);
    expect(apt.server.requests.length).toBeGreaterThan(0);
    expect(conditional.length).toBe(apt.server.requests.length);
  });
});

describe('bad input: one clear line, non-zero exit, nothing written', () => {
  it.each([
    ['a PPA with shell metacharacters', ['rocks', 'patch', 'cinder-api', '--release', 'caracal', '--ppa', 'ppa:a/b;rm -rf /'], /invalid PPA "ppa:a\/b;rm -rf \/"/, 2],
    ['an uppercase PPA', ['rocks', 'patch', 'cinder-api', '--release', 'caracal', '--ppa', 'ppa:Team/Fix'], /invalid PPA/, 2],
    ['an unknown release', ['rocks', 'patch', 'cinder-api', '--release', 'havana'], /unknown release 'havana'; valid releases: yoga/, 2],
    ['an unknown series', ['rocks', 'patch', 'cinder-api', '--release', 'caracal', '--series', 'bionic'], /unknown series 'bionic'/, 2],
    ['a series the release cannot use', ['rocks', 'patch', 'cinder-api', '--release', 'antelope', '--series', 'noble'], /antelope cannot be built on noble/, 2],
    ['an unknown rock', ['rocks', 'patch', 'cinder', '--release', 'caracal'], /no rock 'cinder' on stable\/2024\.1.*did you mean cinder-api/, 2],
    ['a bad suffix', ['rocks', 'patch', 'cinder-api', '--release', 'caracal', '--suffix', 'a b'], /invalid version suffix/, 2],
    ['a bad package', ['rocks', 'patch', 'cinder-api', '--release', 'caracal', '--package', '$(id)'], /invalid Debian package name/, 2],
    ['a bad pocket', ['rocks', 'patch', 'cinder-api', '--release', 'caracal', '--pocket', 'backports'], /unknown pocket 'backports'/, 2],
  ])('%s', async (_label, args, message, code) => {
    const dir = await mkdtemp(join(root, 'bad-'));
    const r = await heliostat([...args, '-o', 'out.yaml', ...common()], { cwd: dir });
    expect(r.exitCode).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    expect(await readdir(dir)).toEqual([]);
  });

  it.each([
    ['a repository URL that is an option', ['--rocks-repo', '--upload-pack=touch /tmp/x'], /invalid upstream rocks repository/],
    ['an unsupported URL scheme', ['--rocks-repo', 'ext::sh -c touch% /tmp/pwned'], /invalid upstream rocks repository/],
    ['a missing local repository', ['--rocks-repo', '/nonexistent/repo'], /invalid upstream rocks repository/],
    ['a non-http archive URL', ['--rocks-repo', 'x', '--ubuntu-archive', 'file:///etc'], /--ubuntu-archive 'file:\/\/\/etc' must be an http\(s\) URL/],
  ])('%s', async (_label, flags, message) => {
    const dir = await mkdtemp(join(root, 'badurl-'));
    const r = await heliostat(['rocks', 'list', '--release', 'caracal', '--cache-dir', join(dir, 'cache'), ...flags], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('rejects a config file with unknown keys', async () => {
    const file = join(root, 'bad-config.yaml');
    await writeFile(file, 'rocks-repo: x\nsecret-token: y\n');
    const r = await heliostat(['rocks', 'list', '--release', 'caracal', '--config', file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/config file .*bad-config\.yaml: .*secret-token/);
  });

  it('reads settings from a config file', async () => {
    const file = join(root, 'config.yaml');
    await writeFile(file, `rocks-repo: ${repo.url}\ncache-dir: ${cache}\n`);
    const r = await heliostat(['rocks', 'list', '--release', 'bobcat', '--json', '--config', file]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as unknown[]).length).toBe(listFixtureRocks('stable/2023.2').length);
  });

  it('fails with exit 1 and one line when offline without a cache', async () => {
    const r = await heliostat(['rocks', 'list', '--release', 'caracal', '--offline', '--rocks-repo', repo.url, '--cache-dir', join(root, 'empty-cache')]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/offline/);
  });
});
