// Story: a team pulling the reference train. The controller (`heliostat serve`, a real process)
// builds the reference train of two releases on its hourly schedule (the clock is moved by the
// test), publishing to a mirror bucket on Ceph RGW and pushing to a real registry. The team then
// works only from the outside: lists builds over HTTP, pulls `latest_build` of one release with
// verification, pulls the same rock from the registry by its dated tag and gets the same digest,
// and keeps a local fs mirror in sync, incrementally.
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { commitToBranch } from '../fixtures/rocks-repo.js';
import { RGW_SKIP_REASON } from '../setup/rgw.js';
import { HELIOSTAT_BIN, heliostat } from '../cli/helpers.js';
import { ClockedController, requestJson, heliostatJson, type JobView } from './support/clocked-serve.js';
import { REGISTRY_NAMESPACE, controllerEnv, reviseRocks, storySkipReason, withOnlyRocks, writeStoryConfig } from './support/story-fixtures.js';
import { startWorld, type World } from './support/world.js';

const rgw = inject('rgw');
const skip = storySkipReason(rgw, RGW_SKIP_REASON);
// A small upstream keeps each whole-release build quick; both releases ship these rocks.
const ROCKS = ['glance-api', 'keystone'];
const RELEASES = { caracal: '2024.1', epoxy: '2025.1' } as const;

interface BuildsBody {
  builds: Array<{ buildId: string; result: string }>;
}
interface BuildRecord {
  buildId: string;
  result: string;
  files: Record<string, { digest: string; size: number }>;
  rocks: Array<{ name: string; outcome: string; image?: { ref: string; digest: string } }>;
}
interface ImageRecord {
  rock: string;
  ref: string;
  digest: string;
  tags?: string[];
}
interface SyncReport {
  buildsCopied: number;
  buildsPresent: number;
  blobsCopied: number;
  blobsSkipped: number;
  bytesCopied: number;
  failures: unknown[];
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

describe.skipIf(skip !== undefined)(`team pulling the reference train${skip ? ` (${skip})` : ''}`, { timeout: 120_000 }, () => {
  let world: World;
  let root: string;
  let c: ClockedController;
  let cli: { cwd: string; env: NodeJS.ProcessEnv };
  const firstBuilds = new Map<string, string>();

  beforeAll(async () => {
    if (!rgw) return;
    world = await startWorld({ rgw, archive: { clouds: [{ cloud: 'epoxy', pocket: 'updates' }] } });
    root = world.fixtures.root;
    const upstream = world.fixtures.repo.dir;
    await commitToBranch(upstream, 'stable/2024.1', withOnlyRocks('stable/2024.1', ROCKS), 'Keep two rocks');
    await commitToBranch(upstream, 'stable/2025.1', withOnlyRocks('stable/2025.1', ROCKS), 'Branch for 2025.1');
    const config = await writeStoryConfig(world, { reference: { releases: Object.keys(RELEASES), schedule: '0 * * * *' } });
    c = await ClockedController.start(config, { env: controllerEnv(world), cwd: root });
    cli = { cwd: root, env: { HOME: root, XDG_DATA_HOME: join(root, 'xdg-data'), XDG_CONFIG_HOME: join(root, 'xdg-config') } };
  }, 300_000);

  afterAll(async () => {
    await c?.stop();
    await world?.close();
  });

  it('builds the reference train of both releases on its schedule, and only then', async () => {
    expect(await c.jobs('reference')).toEqual([]);
    const jobs = await c.nextHour('reference');
    expect(jobs.map((j) => `${j.request.release} ${j.trigger} ${j.state}`).sort()).toEqual(['2024.1 schedule succeeded', '2025.1 schedule succeeded']);
    for (const job of jobs) {
      expect(job.summary?.built.sort()).toEqual(ROCKS);
      firstBuilds.set(job.request.release, job.buildId ?? '');
    }
    // Nothing changed upstream or in the archive: the next tick builds nothing.
    expect(await c.nextHour('reference')).toEqual([]);
  });

  it('lists the builds over HTTP: trains, releases, series with latest, and the build records', async () => {
    expect(await c.mirror('/trains')).toEqual({ trains: ['reference'] });
    expect(await c.mirror('/trains/reference/releases')).toEqual({ train: 'reference', releases: Object.values(RELEASES) });
    for (const release of Object.values(RELEASES)) {
      const buildId = firstBuilds.get(release);
      expect(await c.mirror(`/trains/reference/releases/${release}/series`)).toMatchObject({ series: [{ series: 'noble', latest: buildId }] });
      const { builds } = await c.mirror<BuildsBody>(`/builds/reference/${release}/noble`);
      expect(builds).toEqual([expect.objectContaining({ buildId, result: 'success' })]);
      const record = await c.mirror<BuildRecord>(`/builds/reference/${release}/noble/latest`);
      expect(record.buildId).toBe(buildId);
      expect(record.rocks.map((r) => `${r.name} ${r.image?.ref ?? 'not pushed'}`)).toEqual(
        ROCKS.map((rock) => `${rock} ${world.registry.host}/${REGISTRY_NAMESPACE}/${rock}@${record.rocks.find((r) => r.name === rock)?.image?.digest ?? '?'}`),
      );
    }
    // The StarlingX view resolves latest_build through the build record.
    const result = await fetch(`${c.base}/reference/2024.1/noble/latest_build/outputs/BUILD_RESULT`);
    expect(result.status).toBe(200);
    expect((await result.text()).split('\n').slice(0, 2)).toEqual(['result: success', `build-id: ${firstBuilds.get('2024.1') ?? ''}`]);
  });

  it('pulls latest_build of caracal with the CLI, every file verified against SHA256SUMS', async () => {
    const dir = join(root, 'pulled');
    const summary = await heliostatJson<{ buildId: string; files: number; downloaded: number; failed: number }>(
      ['mirror', 'pull', 'reference/caracal/noble/latest', '-o', dir, '--mirror', `${c.base}/`],
      cli,
    );
    expect(summary).toMatchObject({ buildId: firstBuilds.get('2024.1'), failed: 0 });
    expect(summary.downloaded).toBe(summary.files);
    const sums = (await readFile(join(dir, 'SHA256SUMS'), 'utf8')).trim().split('\n');
    expect(sums.length).toBe(summary.files - 1);
    for (const line of sums) {
      const [hex = '', path = ''] = line.split(/ [ *]/);
      expect(sha256(await readFile(join(dir, path))), path).toBe(hex);
    }
    const rocks = (await readdir(join(dir, 'rocks'))).sort();
    expect(rocks.map((name) => `${name.split('_')[0] ?? ''} ${name.endsWith('_amd64.rock')}`)).toEqual(ROCKS.map((rock) => `${rock} true`));
  });

  it('pulls the same rock from the registry by its dated tag and gets the same digest', async () => {
    const dir = join(root, 'pulled');
    const buildId = firstBuilds.get('2024.1') ?? '';
    const images = JSON.parse(await readFile(join(dir, 'images.json'), 'utf8')) as ImageRecord[];
    const keystone = images.find((i) => i.rock === 'keystone');
    expect(keystone?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const dated = `docker://${world.registry.host}/${REGISTRY_NAMESPACE}/keystone:2024.1-reference-${buildId}`;
    const inspect = async (ref: string) => JSON.parse((await execa('skopeo', ['inspect', ...(ref.startsWith('docker:') ? ['--tls-verify=false'] : []), ref])).stdout) as { Digest: string };
    expect((await inspect(dated)).Digest).toBe(keystone?.digest);
    const copied = join(root, 'keystone-from-registry.tar');
    await execa('skopeo', ['copy', '--src-tls-verify=false', dated, `oci-archive:${copied}`]);
    expect((await inspect(`oci-archive:${copied}`)).Digest).toBe(keystone?.digest);
    // The .rock the mirror serves is that very image.
    const rock = (await readdir(join(dir, 'rocks'))).find((name) => name.startsWith('keystone_')) ?? '';
    expect((await inspect(`oci-archive:${join(dir, 'rocks', rock)}`)).Digest).toBe(keystone?.digest);
  });

  it('keeps a local fs mirror in sync, copying only what a new build added', async () => {
    const local = join(root, 'local-mirror');
    const sync = () => heliostatJson<SyncReport>(['mirror', 'sync', '--from', `${c.base}/`, '--to', `fs:${local}`], cli);
    const records = async (release: string): Promise<BuildRecord[]> => {
      const { builds } = await c.mirror<BuildsBody>(`/builds/reference/${release}/noble`);
      return Promise.all(builds.map((b) => c.mirror<BuildRecord>(`/builds/reference/${release}/noble/${b.buildId}`)));
    };
    const digests = (list: BuildRecord[]) => new Set(list.flatMap((r) => Object.values(r.files).map((file) => file.digest)));

    const before = [...(await records('2024.1')), ...(await records('2025.1'))];
    const first = await sync();
    expect(first).toMatchObject({ buildsCopied: 2, buildsPresent: 0, blobsCopied: digests(before).size, failures: [] });

    // Upstream revises keystone on the caracal branch: the next tick builds caracal only.
    await reviseRocks(world.fixtures.repo.dir, 'stable/2024.1', ['keystone'], 'team-2');
    const jobs: JobView[] = await c.nextHour('reference');
    expect(jobs.map((j) => `${j.request.release} ${j.state}`)).toEqual(['2024.1 succeeded']);
    expect(jobs[0]?.summary).toMatchObject({ built: ['keystone'], reused: ['glance-api'] });
    const added = (await records('2024.1')).find((r) => r.buildId === jobs[0]?.buildId);
    if (!added) throw new Error('the new build is not listed');

    const second = await sync();
    const fresh = [...digests([added])].filter((d) => !digests(before).has(d));
    expect(second).toMatchObject({ buildsCopied: 1, buildsPresent: 2, blobsCopied: fresh.length, blobsSkipped: digests([added]).size - fresh.length, failures: [] });
    expect(second.bytesCopied).toBeLessThan(first.bytesCopied);
    expect(await sync()).toMatchObject({ buildsCopied: 0, buildsPresent: 3, blobsCopied: 0 });

    // Served by `heliostat mirror serve`, the local mirror answers with the same builds and aliases,
    // and its on-disk view follows latest like the controller's.
    const server = execa(process.execPath, [HELIOSTAT_BIN, 'mirror', 'serve', '--mirror', `fs:${local}`, '--listen', '127.0.0.1:0', '--json'], { ...cli, reject: false });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        // It prints one JSON document (over several lines) once it listens.
        let text = '';
        server.stdout?.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
          try {
            resolve((JSON.parse(text) as { url: string }).url);
          } catch {
            // not all of it yet
          }
        });
        void server.then((r) => reject(new Error(`mirror serve exited ${String(r.exitCode)}: ${String(r.stderr)}`)));
      });
      for (const release of Object.values(RELEASES)) {
        for (const path of [`/builds/reference/${release}/noble`, `/trains/reference/releases/${release}/series`]) {
          expect(await requestJson(`${url}api/mirror/v1${path}`), path).toEqual(await c.mirror(path));
        }
        const latest = (await c.mirror<{ series: Array<{ latest: string }> }>(`/trains/reference/releases/${release}/series`)).series[0]?.latest;
        expect((await readFile(join(local, 'reference', release, 'noble', 'latest_build'), 'utf8')).trim()).toBe(latest);
      }
    } finally {
      server.kill('SIGTERM');
      await server;
    }
    const view = join(local, 'reference', '2024.1', 'noble', added.buildId, 'outputs');
    const sums = (await readFile(join(view, 'SHA256SUMS'), 'utf8')).trim().split('\n');
    for (const line of sums) {
      const [hex = '', path = ''] = line.split(/ [ *]/);
      expect(sha256(await readFile(join(view, path))), path).toBe(hex);
    }
    expect((await heliostat(['mirror', 'show', 'reference/caracal/noble/latest', '--mirror', `fs:${local}`], cli)).stdout).toContain(added.buildId);
  });
});
