// heliostat build through the built binary: a fixture train built with the rockcraft stand-in,
// published to an fs mirror, pulled back with verification and synced to another mirror.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAptArchive, type AptArchiveFixture } from '../fixtures/apt-archive-server.js';
import { ROCKCRAFT_STANDIN, STANDIN_ENV, ensureRockcraftStandinBuilt } from '../fixtures/rockcraft/standin.js';
import { createRocksRepo } from '../fixtures/rocks-repo.js';
import { trainArchiveSpec, writeVersionsFile } from '../fixtures/train-archive.js';
import { heliostat } from './helpers.js';

let root: string;
let apt: AptArchiveFixture;
let env: NodeJS.ProcessEnv;
let common: string[];

beforeAll(async () => {
  ensureRockcraftStandinBuilt();
  root = await mkdtemp(join(tmpdir(), 'heliostat-cli-build-'));
  const repo = await createRocksRepo(join(root, 'upstream'), { branches: ['stable/2024.1'] });
  const { spec, versions } = trainArchiveSpec({ branch: 'stable/2024.1', series: 'noble' });
  apt = await startAptArchive(spec);
  env = { ...process.env, [STANDIN_ENV.aptVersions]: await writeVersionsFile(join(root, 'versions.json'), versions) };
  common = [
    '--rocks-repo', repo.url, '--cache-dir', join(root, 'cache'), '--ubuntu-archive', apt.server.archiveUrl,
    '--cloud-archive', apt.server.cloudUrl, '--ppa-archive', apt.server.ppaUrl,
  ];
}, 60_000);

afterAll(async () => {
  await apt.server.close();
  await rm(root, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.set(relative(dir, path), createHash('sha256').update(await readFile(path)).digest('hex'));
  }
  return out;
}

describe('heliostat build', () => {
  const mirror = () => `fs:${join(root, 'mirror')}`;

  it('builds the cinder rocks, publishes them, and a rebuild reuses them all', async () => {
    const args = ['build', '--release', 'caracal', '--component', 'cinder', '--publish', '--mirror', mirror(), '--rockcraft', ROCKCRAFT_STANDIN, '--json', ...common];
    const first = await heliostat(args, { env });
    expect(first.exitCode, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout) as { result: string; built: string[]; train: string; buildId: string };
    expect(summary).toMatchObject({ result: 'success', train: 'reference' });
    expect(summary.built.sort()).toEqual(['cinder-api', 'cinder-consolidated', 'cinder-scheduler', 'cinder-volume']);
    expect(first.stderr).toMatch(/^cinder-api: built in/m);

    const second = await heliostat(args, { env });
    expect(second.exitCode, second.stderr).toBe(0);
    expect((JSON.parse(second.stdout) as { reused: string[] }).reused).toHaveLength(4);
  });

  it('lets a consumer pull latest with verification and sync the mirror to another one', async () => {
    const out = join(root, 'pulled');
    const pull = await heliostat(['mirror', 'pull', 'reference/caracal/noble/latest', '-o', out, '--mirror', mirror()]);
    expect(pull.exitCode, pull.stderr).toBe(0);
    const pulled = await filesUnder(out);
    expect([...pulled.keys()]).toContain('rocks/cinder-api_2024.1_amd64.rock');
    const sums = (await readFile(join(out, 'SHA256SUMS'), 'utf8')).trim().split('\n');
    for (const line of sums) {
      const [hex, path] = line.split(/ [ *]/);
      expect(pulled.get(path ?? ''), path).toBe(hex);
    }

    const copy = join(root, 'copy');
    const sync = await heliostat(['mirror', 'sync', '--from', mirror(), '--to', `fs:${copy}`, '--json']);
    expect(sync.exitCode, sync.stderr).toBe(0);
    const again = await heliostat(['mirror', 'pull', 'reference/2024.1/noble/latest', '-o', join(root, 'pulled-copy'), '--mirror', `fs:${copy}`]);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await filesUnder(join(root, 'pulled-copy'))).toEqual(pulled);
  });

  it('exits 1 with the summary when a rock fails, and latest stays', async () => {
    const before = await heliostat(['mirror', 'show', 'reference/2024.1/noble/latest', '--json', '--mirror', mirror()]);
    const r = await heliostat(['build', '--release', 'caracal', '--rock', 'cinder-volume', '--force', '--publish', '--mirror', mirror(), '--rockcraft', ROCKCRAFT_STANDIN, ...common], {
      env: { ...env, [STANDIN_ENV.fail]: 'cinder-volume' },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^cinder-volume\s+failed\s+build/m);
    expect(r.stdout).toMatch(/: fail \(published to fs:/);
    const after = await heliostat(['mirror', 'show', 'reference/2024.1/noble/latest', '--json', '--mirror', mirror()]);
    expect(after.stdout).toBe(before.stdout);
  });

  it.each([
    [['--ppa', 'ppa:team/fix'], /needs --train NAME/],
    [['--train', 'Bad_Train'], /train/],
    [['--jobs', '0'], /--jobs must be a whole number/],
    [['--rock', 'no-such-rock'], /no rock 'no-such-rock'/],
  ])('rejects %j with exit 2 and publishes nothing', async (extra, message) => {
    const dir = join(root, `bad-${Math.random().toString(16).slice(2)}`);
    const r = await heliostat(['build', '--release', 'caracal', '--publish', '--mirror', `fs:${dir}`, '--rockcraft', ROCKCRAFT_STANDIN, ...extra, ...common], { env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    // Nothing published: the mirror is absent or empty.
    expect(await readdir(dir).catch(() => [])).toEqual([]);
  });
});
