// P2: publishing a ~1 GiB build to S3 (a private Ceph RGW) against a plain minio client uploading
// the same files with the same part size and the same number of files in flight. The two are
// measured side by side in one run, alternating which goes first in each round, with the bucket
// emptied (and RGW's garbage collected) before every phase so each one uploads every byte.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { digestFile } from '../../mirror/hash.js';
import { publishBuild, type PublishSummary } from '../../mirror/publish.js';
import { S3Store } from '../../mirror/stores/s3.js';
import { GiB, MiB, median, mib, round, since, type BenchContext, type BenchFigures, type Benchmark } from './common.js';
import { buildMetadata, writeBuildShape } from './build-shape.js';
import { RGW_MISSING_NOTE, bucketUsage, emptyBucket, missingRgwPrograms, startBenchRgw } from './rgw.js';

const GOAL = 0.9;

function envInt(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

interface Phase {
  kind: 'plain' | 'heliostat';
  round: number;
  ms: number;
  mibPerS: number;
  bytesStored: number;
  publish?: Pick<PublishSummary, 'blobsUploaded' | 'bytesUploaded' | 'durationMs'>;
}

async function run(ctx: BenchContext): Promise<BenchFigures> {
  const rocks = envInt('HELIOSTAT_BENCH_P2_ROCKS', 16);
  const rockBytes = envInt('HELIOSTAT_BENCH_P2_ROCK_MIB', 64) * MiB;
  const rounds = envInt('HELIOSTAT_BENCH_P2_ROUNDS', 5);
  const partSize = 16 * MiB;
  const concurrency = 4;
  const setup = { rocks, rockMiB: rockBytes / MiB, rounds, partSizeMiB: partSize / MiB, concurrency };
  const goal = `plain upload time / heliostat publish time >= ${GOAL}`;
  if (missingRgwPrograms().length > 0) return { goal, met: false, note: RGW_MISSING_NOTE, setup };

  const dir = await mkdtemp(join(tmpdir(), 'heliostat-bench-p2-'));
  ctx.defer('remove P2 files', () => rm(dir, { recursive: true, force: true }));
  ctx.log(`writing ${rocks} rocks of ${rockBytes / MiB} MiB`);
  const shape = await writeBuildShape(join(dir, 'build'), { rocks, rockBytes, logBytes: 48 * 1024, seed: 'p2' });
  const files = shape.files;

  // Hashing every file once: warms the page cache for both contenders and measures the one pass
  // over the bytes that publishing makes and a plain upload does not.
  const hashStart = performance.now();
  const limit = pLimit(concurrency);
  await Promise.all(files.map((f) => limit(() => (typeof f.source === 'string' ? digestFile(f.source) : Promise.resolve(undefined)))));
  const hashMs = since(hashStart);
  ctx.check();

  // RAM use of the memstore is about twice the bytes it holds; each phase stores one build.
  const rgw = await startBenchRgw(ctx, { memstoreBytes: Math.max(4 * GiB, 6 * shape.totalBytes), objectStore: process.env.HELIOSTAT_BENCH_RGW_OBJECTSTORE === 'bluestore' ? 'bluestore' : 'memstore' });
  const bucket = 'bench-p2';
  const admin = rgw.client();
  await admin.makeBucket(bucket, rgw.region);
  const plainClient = rgw.client({ partSize });

  const reset = async () => {
    await emptyBucket(admin, bucket);
    await rgw.collectGarbage();
  };

  const plain = async (): Promise<void> => {
    const l = pLimit(concurrency);
    await Promise.all(
      files.map((f) =>
        l(async () => {
          const key = `plain/${f.path}`;
          if (typeof f.source === 'string') await plainClient.fPutObject(bucket, key, f.source, {});
          else await plainClient.putObject(bucket, key, f.source, f.source.length);
        }),
      ),
    );
  };

  const started = Date.parse('2026-03-01T06:00:00Z');
  const heliostat = async (day: number): Promise<PublishSummary> => {
    const store = new S3Store({ endpoint: rgw.endpoint, region: rgw.region, bucket, prefix: 'mirror', accessKey: rgw.accessKey, secretKey: rgw.secretKey, partSize });
    try {
      return await publishBuild(store, { metadata: buildMetadata(new Date(started + day * 86_400_000), shape.rockNames), files }, { concurrency });
    } finally {
      store.close();
    }
  };

  // One untimed phase of each first: the first gigabyte a fresh memstore takes is markedly slower
  // (its memory is being faulted in), which would penalise whichever contender went first.
  for (const kind of ['plain', 'heliostat'] as const) {
    ctx.check();
    await reset();
    const t0 = performance.now();
    if (kind === 'plain') await plain();
    else await heliostat(rounds);
    ctx.log(`warm-up ${kind}: ${(since(t0) / 1000).toFixed(2)} s (not counted)`);
  }

  const phases: Phase[] = [];
  for (let r = 0; r < rounds; r++) {
    const order: Phase['kind'][] = r % 2 === 0 ? ['plain', 'heliostat'] : ['heliostat', 'plain'];
    for (const kind of order) {
      ctx.check();
      await reset();
      const t0 = performance.now();
      let publish: PublishSummary | undefined;
      if (kind === 'plain') await plain();
      else publish = await heliostat(r);
      const ms = since(t0);
      const stored = await bucketUsage(admin, bucket);
      if (stored.bytes < shape.totalBytes) throw new Error(`${kind} phase stored ${stored.bytes} bytes, fewer than the build's ${shape.totalBytes}`);
      const phase: Phase = { kind, round: r + 1, ms: round2(ms), mibPerS: round2(shape.totalBytes / MiB / (ms / 1000)), bytesStored: stored.bytes };
      if (publish) phase.publish = { blobsUploaded: publish.blobsUploaded, bytesUploaded: publish.bytesUploaded, durationMs: publish.durationMs };
      phases.push(phase);
      ctx.log(`round ${r + 1} ${kind}: ${(ms / 1000).toFixed(2)} s (${phase.mibPerS} MiB/s)`);
    }
  }
  await reset();

  const plainMs = median(phases.filter((p) => p.kind === 'plain').map((p) => p.ms));
  const heliostatMs = median(phases.filter((p) => p.kind === 'heliostat').map((p) => p.ms));
  const ratio = round(plainMs / heliostatMs);
  const met = ratio >= GOAL;
  const result: BenchFigures = {
    goal,
    met,
    ratio,
    setup: { ...setup, buildMiB: mib(shape.totalBytes), files: files.length, objectStore: rgw.objectStore, order: 'one untimed warm-up phase of each, then rounds alternating which goes first (plain first in rounds 1, 3, …)' },
    plainMedianS: round(plainMs / 1000),
    heliostatMedianS: round(heliostatMs / 1000),
    plainMiBPerS: round2(shape.totalBytes / MiB / (plainMs / 1000)),
    heliostatMiBPerS: round2(shape.totalBytes / MiB / (heliostatMs / 1000)),
    hashPassS: round(hashMs / 1000),
    phases,
  };
  if (!met) {
    result.note =
      `heliostat took ${round((heliostatMs - plainMs) / 1000, 2)} s more than the plain upload (median); ` +
      `a separate hash pass over the same files took ${round(hashMs / 1000, 2)} s`;
  }
  return result;
}

function round2(value: number): number {
  return round(value, 2);
}

export const P2: Benchmark = {
  name: 'P2',
  title: 'publish ~1 GiB to RGW vs plain minio upload',
  goal: `plain upload time / heliostat publish time >= ${GOAL}`,
  budgetS: 20 * 60,
  run,
  summarise: (r) => {
    if (typeof r.ratio !== 'number') return [`ratio n/a (goal ≥ ${GOAL})`];
    return [`ratio ${r.ratio} (plain ${Number(r.plainMedianS)} s / heliostat ${Number(r.heliostatMedianS)} s, goal ≥ ${GOAL})`];
  },
};
