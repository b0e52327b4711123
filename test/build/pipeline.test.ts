import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSha256Sums } from '../../mirror/generated.js';
import { openOutput, resolveRef, showBuild } from '../../mirror/query.js';
import { FsStore } from '../../mirror/stores/fs.js';
import { IndexFetcher } from '../../src/archive/fetch-index.js';
import { getRelease } from '../../src/catalog/releases.js';
import { runBuild, type BuildRequest } from '../../src/build/pipeline.js';
import { RockcraftBuilder } from '../../src/build/rockcraft-builder.js';
import { UpstreamRocksRepo } from '../../src/rocks/upstream.js';
import { startAptArchive, type AptArchiveFixture } from '../fixtures/apt-archive-server.js';
import { ROCKCRAFT_STANDIN, STANDIN_ENV, ensureRockcraftStandinBuilt } from '../fixtures/rockcraft/standin.js';
import { createRocksRepo } from '../fixtures/rocks-repo.js';
import { trainArchiveSpec, writeVersionsFile } from '../fixtures/train-archive.js';
import { createHash } from 'node:crypto';

let root: string;
let apt: AptArchiveFixture;
let store: FsStore;
let upstream: UpstreamRocksRepo;
let versionsFile: string;
let clock = Date.parse('2026-11-01T10:00:00Z');

const CINDER_ROCKS = ['cinder-api', 'cinder-consolidated', 'cinder-scheduler', 'cinder-volume'];

beforeAll(async () => {
  ensureRockcraftStandinBuilt();
  root = await mkdtemp(join(tmpdir(), 'heliostat-pipeline-'));
  const repo = await createRocksRepo(join(root, 'upstream'), { branches: ['stable/2024.1'] });
  const { spec, versions } = trainArchiveSpec({ branch: 'stable/2024.1', series: 'noble', ppas: [{ owner: 'team', name: 'fix', sources: { cinder: '2:24.0.1-0ubuntu1~fix1' } }] });
  apt = await startAptArchive(spec);
  versionsFile = await writeVersionsFile(join(root, 'versions.json'), versions);
  store = new FsStore(join(root, 'mirror'));
  upstream = new UpstreamRocksRepo({ url: repo.url, cacheDir: join(root, 'cache') });
}, 60_000);

afterAll(async () => {
  await apt.server.close();
  await rm(root, { recursive: true, force: true });
});

function services(env: NodeJS.ProcessEnv = {}) {
  return {
    upstream,
    fetcher: new IndexFetcher({ cacheDir: join(root, 'cache') }),
    archives: { ubuntu: apt.server.archiveUrl, cloud: apt.server.cloudUrl, ppa: apt.server.ppaUrl },
    builder: new RockcraftBuilder({ executable: ROCKCRAFT_STANDIN, workRoot: join(root, 'work'), env: { ...process.env, [STANDIN_ENV.aptVersions]: versionsFile, ...env } }),
    store,
    publish: true,
    workDir: join(root, `build-${clock}`),
    jobs: 2,
    timeoutMs: 30_000,
    now: () => new Date((clock += 1000)),
  };
}

const request = (overrides: Partial<BuildRequest> = {}): BuildRequest => ({
  train: 'reference',
  release: getRelease('caracal'),
  pocket: 'updates',
  ppas: [],
  packages: [],
  components: ['cinder'],
  rocks: [],
  force: false,
  arch: 'amd64',
  ...overrides,
});

describe('runBuild', () => {
  it('builds the rocks of a component and publishes them', async () => {
    const out = await runBuild(request(), services());
    expect(out.result).toBe('success');
    expect(out.summary.built.sort()).toEqual(CINDER_ROCKS);
    expect(out.published?.latestMoved).toBe(true);
    const latest = await resolveRef(store, 'reference/2024.1/noble/latest');
    expect(latest.buildId).toBe(out.buildId);
    const record = await showBuild(store, latest, latest.buildId);
    expect(record.rocks.find((r) => r.name === 'cinder-api')?.packages?.['cinder-api']).toBe('2:24.0.0-0ubuntu1');
    expect(record.context.branch).toBe('stable/2024.1');
    // Every file of SHA256SUMS matches the bytes the mirror serves.
    const sums = parseSha256Sums((await readStream(await openOutput(store, latest, latest.buildId, 'SHA256SUMS'))).toString('utf8'));
    expect(sums.size).toBeGreaterThan(8);
    for (const [path, hex] of sums) {
      const bytes = await readStream(await openOutput(store, latest, latest.buildId, path));
      expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, path).toBe(hex);
    }
    expect([...sums.keys()]).toContain('rocks/cinder-api_2024.1_amd64.rock');
    expect([...sums.keys()]).toContain('rockcraft/cinder-api/rockcraft.yaml');
  });

  it('reuses every rock when nothing changed, uploading no rock bytes', async () => {
    const logFile = join(root, 'standin.log');
    const out = await runBuild(request(), services({ [STANDIN_ENV.log]: logFile }));
    expect(out.summary.reused.sort()).toEqual(CINDER_ROCKS);
    expect(out.summary.built).toEqual([]);
    expect(out.staged.filter((f) => f.path.startsWith('rocks/'))).toEqual([]);
    expect(out.published?.bytesUploaded).toBeLessThan(4096);
    const invocations = (await readFile(logFile, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { command: string });
    expect(invocations.filter((i) => i.command === 'pack')).toEqual([]);
    const record = await showBuild(store, { train: 'reference', release: '2024.1', series: 'noble' }, out.buildId);
    expect(record.rocks.every((r) => r.outcome === 'reused' && r.reusedFrom)).toBe(true);
    expect(Object.keys(record.files)).toContain('rocks/cinder-volume_2024.1_amd64.rock');
  });

  it('rebuilds with a PPA, taking its versions, and records a failure without moving latest', async () => {
    const before = (await resolveRef(store, 'reference/2024.1/noble/latest')).buildId;
    const ppa = await runBuild(request({ train: 'fix', ppas: [{ owner: 'team', name: 'fix' }], suffix: 'fix1' }), services());
    expect(ppa.result).toBe('success');
    expect(ppa.metadata.rocks.find((r) => r.name === 'cinder-api')?.packages?.['cinder-api']).toBe('2:24.0.1-0ubuntu1~fix1');
    expect(ppa.metadata.rocks.find((r) => r.name === 'cinder-api')?.version).toBe('2024.1-fix1');

    const failing = await runBuild(request({ force: true }), services({ [STANDIN_ENV.fail]: 'cinder-volume' }));
    expect(failing.result).toBe('fail');
    expect(failing.summary.failed).toEqual([{ rock: 'cinder-volume', failureClass: 'build', error: expect.stringMatching(/exited 1/) as string }]);
    expect(failing.published?.latestMoved).toBe(false);
    expect((await resolveRef(store, 'reference/2024.1/noble/latest')).buildId).toBe(before);
    const recorded = await showBuild(store, { train: 'reference', release: '2024.1', series: 'noble' }, failing.buildId);
    expect(recorded.result).toBe('fail');
    expect(Object.keys(recorded.files)).toContain('logs/cinder-volume.log');
  });

  it('records a rock whose packages cannot be resolved as a config failure', async () => {
    const out = await runBuild(request({ components: [], rocks: ['keystone'], packages: ['no-such-package'], train: 'broken' }), services());
    expect(out.result).toBe('fail');
    expect(out.summary.failed[0]).toMatchObject({ rock: 'keystone', failureClass: 'config' });
  });
});

async function readStream(opened: { stream: NodeJS.ReadableStream }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of opened.stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}
