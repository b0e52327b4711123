// P3: what a daily republish costs when one of the train's 80 rocks changed. Every build goes
// through the real pipeline (runBuild: the fixture rocks repository's main branch, the train's
// fixture apt archive, the rockcraft stand-in) and is published to the filesystem store; the same
// staged build is then published to a private RGW with publishBuild. Between builds one package
// that exactly one rock installs gets a new version, in the archive and in what the stand-in
// installs. Measured per build: bytes written to the store against the build's size, and what
// the store holds after 1 and after N builds.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'minio';
import { publishBuild, type PublishSummary } from '../../mirror/publish.js';
import { FsStore } from '../../mirror/stores/fs.js';
import { S3Store } from '../../mirror/stores/s3.js';
import { IndexFetcher } from '../../src/archive/fetch-index.js';
import { runBuild, type BuildRequest, type BuildServices } from '../../src/build/pipeline.js';
import { RockcraftBuilder } from '../../src/build/rockcraft-builder.js';
import { getRelease } from '../../src/catalog/releases.js';
import { UpstreamRocksRepo } from '../../src/rocks/upstream.js';
import { buildAptArchive, OPENSTACK_BINARIES, type FixtureSource } from '../fixtures/apt-archive.js';
import { startAptArchive } from '../fixtures/apt-archive-server.js';
import { ROCKCRAFT_STANDIN, STANDIN_ENV, ensureRockcraftStandinBuilt } from '../fixtures/rockcraft/standin.js';
import { createRocksRepo, fixtureBranchData } from '../fixtures/rocks-repo.js';
import { trainArchiveSpec, writeVersionsFile } from '../fixtures/train-archive.js';
import { GiB, MiB, diskUsage, median, mib, round, since, type BenchContext, type BenchFigures, type Benchmark } from './common.js';
import { CountingStore } from './counting-store.js';
import { RGW_MISSING_NOTE, bucketUsage, missingRgwPrograms, startBenchRgw } from './rgw.js';

const UPLOAD_GOAL = 0.02;
const STORAGE_GOAL = 1.5;
const GOAL = { upload: `bytes written by a republish with 1 of 80 rocks changed / build size <= ${UPLOAD_GOAL}`, storage: `storage of 30 daily builds / one build <= ${STORAGE_GOAL}` };

function envInt(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** Packages that exactly one rock of the branch installs and that come from a source of their own. */
function singleRockPackages(): Array<{ pkg: string; rock: string }> {
  const users = new Map<string, string[]>();
  for (const [rock, data] of Object.entries(fixtureBranchData('main').rocks)) {
    for (const pkg of data['overlay-packages'] ?? []) users.set(pkg, [...(users.get(pkg) ?? []), rock]);
  }
  const openstack = new Set<string>(Object.values(OPENSTACK_BINARIES).flat());
  return [...users]
    .filter(([pkg, rocks]) => rocks.length === 1 && !openstack.has(pkg))
    .map(([pkg, rocks]) => ({ pkg, rock: rocks[0]! }))
    .sort((a, b) => (a.pkg < b.pkg ? -1 : 1));
}

interface Day {
  day: number;
  buildId: string;
  result: string;
  built: number;
  reused: number;
  failed: number;
  changed?: string;
  buildBytes: number;
  buildS: number;
  fs: { blobBytes: number; bytesWritten: number; ratio: number; publishS: number; storageBytes: number; apparentBytes: number };
  s3?: { blobBytes: number; bytesWritten: number; ratio: number; publishS: number; storageBytes: number };
}

async function run(ctx: BenchContext): Promise<BenchFigures> {
  const days = envInt('HELIOSTAT_BENCH_P3_DAYS', 30);
  const payloadBytes = envInt('HELIOSTAT_BENCH_P3_PAYLOAD_KIB', 3 * 1024) * 1024;
  const jobs = envInt('HELIOSTAT_BENCH_P3_JOBS', 2);
  const useRgw = missingRgwPrograms().length === 0;
  const notes: string[] = [];
  if (!useRgw) notes.push(`RGW part skipped: ${RGW_MISSING_NOTE}`);

  ensureRockcraftStandinBuilt();
  const root = await mkdtemp(join(tmpdir(), 'heliostat-bench-p3-'));
  ctx.defer('remove P3 files', () => rm(root, { recursive: true, force: true }));
  const repo = await createRocksRepo(join(root, 'upstream'), { branches: ['main'] });
  const { spec, versions } = trainArchiveSpec({
    branch: 'main',
    series: 'noble',
    clouds: [{ cloud: 'gazpacho', pocket: 'updates' }],
    // The PPAs some rocks of the branch enable; they add no packages here.
    ppas: [
      { owner: 'canonical-openstack', name: '2026.1-fix-builds-uca-gazpacho', sources: {} },
      { owner: 'canonical-openstack', name: 'magnum-capi-helm', sources: {} },
    ],
  });
  const apt = await startAptArchive(spec);
  ctx.defer('stop apt archive', async () => {
    await apt.server.close();
    await rm(apt.archive.root, { recursive: true, force: true });
  });
  const versionsFile = await writeVersionsFile(join(root, 'versions.json'), versions);
  const candidates = singleRockPackages();
  const sources = new Map<string, FixtureSource>();
  for (const s of Object.values(spec.archive ?? {}).flatMap((components) => Object.values(components).flat())) sources.set(s.name, s);

  const fsStore = new CountingStore(new FsStore(join(root, 'mirror')));
  let s3: { store: CountingStore; client: Client; bucket: string } | undefined;
  if (useRgw) {
    const rgw = await startBenchRgw(ctx, { memstoreBytes: 4 * GiB });
    const bucket = 'bench-p3';
    const inner = new S3Store({ endpoint: rgw.endpoint, region: rgw.region, bucket, prefix: 'mirror', accessKey: rgw.accessKey, secretKey: rgw.secretKey });
    await inner.ensureBucket();
    ctx.defer('close S3 store', () => inner.close());
    s3 = { store: new CountingStore(inner), client: rgw.client(), bucket };
  }

  const upstream = new UpstreamRocksRepo({ url: repo.url, cacheDir: join(root, 'cache') });
  const request: BuildRequest = { train: 'reference', release: getRelease('gazpacho'), pocket: 'updates', ppas: [], packages: [], components: [], rocks: [], force: false, arch: 'amd64' };
  const firstDay = Date.parse('2026-06-01T02:00:00Z');
  const results: Day[] = [];

  for (let day = 0; day < days; day++) {
    ctx.check();
    let changed: string | undefined;
    if (day > 0) {
      // One package of one rock moves to a new version, in the archive and in what the stand-in installs.
      const pick = candidates[(day - 1) % candidates.length]!;
      const source = sources.get(`src-${pick.pkg}`);
      if (!source) throw new Error(`no fixture source for ${pick.pkg}`);
      source.version = `1.0-${day + 1}`;
      versions[pick.pkg] = source.version;
      await buildAptArchive(spec, apt.archive.root);
      await writeVersionsFile(versionsFile, versions);
      changed = `${pick.pkg} ${source.version} (${pick.rock})`;
    }
    let clock = firstDay + day * 86_400_000;
    const workDir = join(root, `build-${day}`);
    const services: BuildServices = {
      upstream,
      fetcher: new IndexFetcher({ cacheDir: join(root, 'cache') }),
      archives: { ubuntu: apt.server.archiveUrl, cloud: apt.server.cloudUrl, ppa: apt.server.ppaUrl },
      builder: new RockcraftBuilder({
        executable: ROCKCRAFT_STANDIN,
        workRoot: join(root, 'work'),
        env: { ...process.env, [STANDIN_ENV.aptVersions]: versionsFile, [STANDIN_ENV.payloadBytes]: String(payloadBytes) },
      }),
      store: fsStore,
      publish: true,
      workDir,
      jobs,
      timeoutMs: 120_000,
      now: () => new Date((clock += 1000)),
    };
    fsStore.reset();
    const t0 = performance.now();
    const out = await runBuild(request, services);
    const buildS = since(t0) / 1000;
    const fsCount = fsStore.reset();
    const published = out.published;
    if (!published) throw new Error(`build ${out.buildId} was not published`);
    const fsUsage = await diskUsage(join(root, 'mirror'));
    const record: Day = {
      day: day + 1,
      buildId: out.buildId,
      result: out.result,
      built: out.summary.built.length,
      reused: out.summary.reused.length,
      failed: out.summary.failed.length,
      ...(changed ? { changed } : {}),
      buildBytes: published.totalBytes,
      buildS: round(buildS, 2),
      fs: {
        blobBytes: published.bytesUploaded,
        bytesWritten: fsCount.bytesWritten,
        ratio: round(fsCount.bytesWritten / published.totalBytes, 5),
        publishS: round(published.durationMs / 1000, 2),
        storageBytes: fsUsage.allocatedBytes,
        apparentBytes: fsUsage.apparentBytes,
      },
    };
    if (s3) {
      s3.store.reset();
      const s0 = performance.now();
      const summary: PublishSummary = await publishBuild(s3.store, { metadata: out.metadata, files: out.staged, reused: out.reused });
      const publishS = since(s0) / 1000;
      const count = s3.store.reset();
      const usage = await bucketUsage(s3.client, s3.bucket, 'mirror/');
      record.s3 = { blobBytes: summary.bytesUploaded, bytesWritten: count.bytesWritten, ratio: round(count.bytesWritten / summary.totalBytes, 5), publishS: round(publishS, 2), storageBytes: usage.bytes };
    }
    results.push(record);
    ctx.log(
      `day ${day + 1}: ${out.result}, built ${record.built}, reused ${record.reused}, failed ${record.failed}; ${mib(record.buildBytes)} MiB build, ` +
        `fs wrote ${mib(record.fs.bytesWritten)} MiB${record.s3 ? `, s3 wrote ${mib(record.s3.bytesWritten)} MiB` : ''} (${record.buildS} s)`,
    );
    await rm(workDir, { recursive: true, force: true });
  }

  const first = results[0]!;
  const last = results.at(-1)!;
  const republishes = results.slice(1);
  const ratios = (pick: (d: Day) => number | undefined) => {
    const values = republishes.map(pick).filter((v): v is number => v !== undefined);
    return values.length > 0 ? { median: round(median(values), 5), max: round(Math.max(...values), 5) } : undefined;
  };
  const upload = { fs: ratios((d) => d.fs.ratio), fsBlobsOnly: ratios((d) => d.fs.blobBytes / d.buildBytes), s3: ratios((d) => d.s3?.ratio) };
  const newBlobBytes = republishes.reduce((sum, d) => sum + d.fs.blobBytes, 0);
  const storage = {
    // What the rebuilt rocks alone add (their new blobs), without any metadata: the floor for this workload.
    newBlobsOnly: round((first.fs.apparentBytes + newBlobBytes) / first.fs.apparentBytes),
    fs: round(last.fs.storageBytes / first.fs.storageBytes),
    fsApparent: round(last.fs.apparentBytes / first.fs.apparentBytes),
    ...(first.s3 && last.s3 ? { s3: round(last.s3.storageBytes / first.s3.storageBytes) } : {}),
  };
  const oneChanged = republishes.filter((d) => d.built === 1 && d.reused === 79 && d.failed === 0 && d.result === 'success').length;
  if (first.built !== 80 || first.result !== 'success') notes.push(`the first build built ${first.built} of 80 rocks (${first.failed} failed, result ${first.result})`);
  if (oneChanged !== republishes.length) notes.push(`only ${oneChanged} of ${republishes.length} republishes rebuilt exactly one rock and reused 79`);
  const uploadMax = Math.max(upload.fs?.max ?? Infinity, upload.s3?.max ?? 0);
  const storageMax = Math.max(storage.fs, storage.s3 ?? 0);
  const uploadMet = uploadMax <= UPLOAD_GOAL;
  const storageMet = storageMax <= STORAGE_GOAL && days >= 30;
  if (!uploadMet) notes.push(`a republish wrote up to ${uploadMax} of the build size (goal ${UPLOAD_GOAL})`);
  if (storageMax > STORAGE_GOAL) notes.push(`${days} builds take ${storageMax}× one build (goal ${STORAGE_GOAL})`);
  if (days < 30) notes.push(`only ${days} builds were run (HELIOSTAT_BENCH_P3_DAYS), so the 30-build storage goal is not assessed`);
  return {
    goal: GOAL,
    met: uploadMet && storageMet && oneChanged === republishes.length,
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    method: `all ${days} builds through runBuild (fixture rocks repo branch main, 80 rocks; fixture train apt archive; rockcraft stand-in) published to the fs store${s3 ? '; each build\'s staged outputs also published to RGW with publishBuild' : ''}`,
    setup: { days, rocks: 80, payloadMiB: round(payloadBytes / MiB, 2), jobs, objectStore: s3 ? 'memstore' : undefined },
    buildMiB: mib(first.buildBytes),
    ratio: { upload: uploadMax, storage: storageMax },
    upload,
    storage,
    storageMiB: {
      fsAfter1: mib(first.fs.storageBytes),
      fsAfterN: mib(last.fs.storageBytes),
      ...(first.s3 && last.s3 ? { s3After1: mib(first.s3.storageBytes), s3AfterN: mib(last.s3.storageBytes) } : {}),
    },
    firstBuildS: first.buildS,
    republishBuildMedianS: republishes.length > 0 ? round(median(republishes.map((d) => d.buildS)), 2) : undefined,
    days: results,
  };
}

export const P3: Benchmark = {
  name: 'P3',
  title: 'republish with 1 of 80 rocks changed; storage of 30 daily builds',
  goal: GOAL,
  budgetS: 40 * 60,
  run,
  summarise: (r) => {
    const ratio = r.ratio as { upload?: number; storage?: number } | undefined;
    if (!ratio) return [`upload ratio n/a (goal ≤ ${UPLOAD_GOAL}); storage ratio n/a (goal ≤ ${STORAGE_GOAL})`];
    return [`upload/build ${String(ratio.upload)} (goal ≤ ${UPLOAD_GOAL})`, `storage ${String(ratio.storage)}× one build (goal ≤ ${STORAGE_GOAL})`];
  },
};
