// P5: listing and resolving among 10 000 builds of one release, on the filesystem store and on a
// private RGW. The builds are committed quickly: each build.json is serialised with the mirror's
// own serialiser and written where the layout says, the index is built from the same records with
// the mirror's index functions and then checked by syncIndex against the store's listing, latest
// is set, a build is promoted to stable and pins are set with the lifecycle functions. Then
// listBuilds and resolveRef (latest, stable, a build id, as-of a random time, a pin) are timed,
// interleaved, with at least 200 samples each unless an operation alone would overrun its budget.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pLimit from 'p-limit';
import { serialiseBuildRecord, validateBuildRecord, type BuildRecord, type RockEntry } from '../../mirror/build-record.js';
import { buildIdFromDate, buildRecordKey, indexKey, type TrainSeries } from '../../mirror/layout.js';
import { promote, setPin } from '../../mirror/lifecycle.js';
import { listBuilds, resolveRef } from '../../mirror/query.js';
import { buildIndex, indexEntryFromRecord, seriesIndexSchema, serialiseSeriesIndex, type IndexEntry, type SeriesIndex } from '../../mirror/series-index.js';
import { syncIndex, writeAlias, writeIndex } from '../../mirror/series.js';
import { FsStore } from '../../mirror/stores/fs.js';
import { S3Store } from '../../mirror/stores/s3.js';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { fixtureBranchData } from '../fixtures/rocks-repo.js';
import { GiB, median, mib, percentile, round, since, type BenchContext, type BenchFigures, type Benchmark } from './common.js';
import { RGW_MISSING_NOTE, missingRgwPrograms, startBenchRgw } from './rgw.js';

const GOAL_MS = 100;
const GOAL = `p95 of listBuilds and of resolveRef (latest, stable, build id, as-of, pin) <= ${GOAL_MS} ms among 10 000 builds of one release`;
const OPS = ['list', 'latest', 'stable', 'build', 'as-of', 'pin'] as const;
type Op = (typeof OPS)[number];
const PINS = 20;

function envInt(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** A small deterministic PRNG (mulberry32), so every run times the same queries. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const digestOf = (text: string) => `sha256:${createHash('sha256').update(text).digest('hex')}`;

interface Shape {
  label: string;
  ts: TrainSeries;
  rocks: string[];
}

/** Build `i` of a series: hourly, ~5 % failures, most rocks reused from the build before. */
function makeRecord(shape: Shape, i: number, ids: readonly string[], random: () => number): BuildRecord {
  const start = new Date(Date.parse('2025-01-01T00:00:00Z') + i * 3600_000);
  const buildId = ids[i]!;
  const failed = i > 0 && random() < 0.05 ? Math.floor(random() * shape.rocks.length) : -1;
  const rocks: RockEntry[] = shape.rocks.map((name, r) => {
    const built = i === 0 || (i + r) % 20 === 0 || r === failed;
    const entry: RockEntry = {
      name,
      imageName: name,
      version: '2026.1',
      arch: 'amd64',
      outcome: r === failed ? 'failed' : built ? 'built' : 'reused',
      buildKey: digestOf(`${name}/${Math.floor((i + r) / 20)}`),
      packages: { [name]: `2:26.0.${Math.floor((i + r) / 20)}-0ubuntu1` },
    };
    if (r === failed) entry.failureClass = 'build';
    else entry.image = { ref: `registry.example.com/${name}:2026.1-${shape.ts.train}-${buildId}`, digest: digestOf(`image/${name}/${Math.floor((i + r) / 20)}`) };
    if (entry.outcome === 'reused') entry.reusedFrom = ids[i - 1];
    return entry;
  });
  const files: BuildRecord['files'] = {};
  for (const rock of rocks) {
    const gen = Math.floor((i + shape.rocks.indexOf(rock.name)) / 20);
    files[`rocks/${rock.name}_2026.1_amd64.rock`] = { digest: digestOf(`rock/${rock.name}/${gen}`), size: 180_000_000 + gen };
    files[`logs/${rock.name}.log`] = { digest: digestOf(`log/${rock.name}/${gen}`), size: 40_000 + gen };
    files[`rockcraft/${rock.name}/rockcraft.yaml`] = { digest: digestOf(`yaml/${rock.name}/${gen}`), size: 1500 };
  }
  for (const name of ['BUILD_RESULT', 'CONTEXT', 'SHA256SUMS']) files[name] = { digest: digestOf(`${name}/${buildId}`), size: 4000 };
  return {
    schema: 1,
    ...shape.ts,
    buildId,
    result: failed >= 0 ? 'fail' : 'success',
    startedAt: start.toISOString(),
    finishedAt: new Date(start.getTime() + (30 + Math.floor(random() * 20)) * 60_000).toISOString(),
    context: {
      upstream: { repo: 'https://github.com/canonical/ubuntu-openstack-rocks', commit: createHash('sha1').update(String(Math.floor(i / 24))).digest('hex') },
      branch: 'main',
      patches: [],
      ppas: [],
      pocket: 'updates',
      packages: Object.fromEntries(shape.rocks.map((name, r) => [name, `2:26.0.${Math.floor((i + r) / 20)}-0ubuntu1`])),
      builderVersion: 'rockcraft 1.13.0',
      arch: 'amd64',
      buildKey: digestOf(`build/${i}`),
    },
    rocks,
    files,
  };
}

interface Populated {
  ids: string[];
  pins: string[];
  first: number;
  last: number;
  recordBytes: number;
  indexBytes: number;
  writeS: number;
}

/** Commits `count` builds of the shape to the store, with latest, stable and pins set. */
async function populate(ctx: BenchContext, store: MirrorStore, shape: Shape, count: number, concurrency: number): Promise<Populated> {
  const random = prng(count * 7919 + shape.rocks.length);
  const ids = Array.from({ length: count }, (_, i) => buildIdFromDate(new Date(Date.parse('2025-01-01T00:00:00Z') + i * 3600_000)));
  const entries: IndexEntry[] = [];
  let recordBytes = 0;
  let lastSuccess = '';
  const t0 = performance.now();
  const limit = pLimit(concurrency);
  const batch = 500;
  for (let from = 0; from < count; from += batch) {
    ctx.check();
    const records = Array.from({ length: Math.min(batch, count - from) }, (_, k) => makeRecord(shape, from + k, ids, random));
    if (from === 0) validateBuildRecord(records[0], 'generated build.json'); // the generator's shape is the schema's
    await Promise.all(
      records.map((record) =>
        limit(async () => {
          const bytes = Buffer.from(serialiseBuildRecord(record));
          recordBytes += bytes.length;
          await store.put(buildRecordKey(shape.ts, record.buildId), bytes, { contentType: 'application/json' });
        }),
      ),
    );
    for (const record of records) {
      entries.push(indexEntryFromRecord(record));
      if (record.result === 'success') lastSuccess = record.buildId;
    }
  }
  const now = new Date(Date.parse('2026-03-01T00:00:00Z'));
  await writeIndex(store, shape.ts, buildIndex(shape.ts, entries, now));
  // The index must agree with the store: syncIndex lists the build folders and reads any build.json
  // the index lacks (none, if the index above is complete).
  const synced = await syncIndex(store, shape.ts, { now });
  if (synced.builds.length !== count) throw new Error(`index holds ${synced.builds.length} builds, expected ${count}`);
  await writeAlias(store, shape.ts, 'latest', lastSuccess);
  const successes = entries.filter((e) => e.result === 'success');
  await promote(store, shape.ts, successes[Math.floor(successes.length * 0.9)]!.buildId);
  const pins: string[] = [];
  for (let p = 0; p < PINS; p++) {
    const name = `consumer-${p}`;
    const target = successes[Math.floor(random() * successes.length)]!;
    await setPin(store, shape.ts, name, target.buildId, { expiresAt: new Date(Date.now() + 30 * 86_400_000), note: 'benchmark pin' });
    pins.push(name);
  }
  const indexBytes = (await store.stat(indexKey(shape.ts)))?.size ?? 0;
  return {
    ids,
    pins,
    first: Date.parse(entries[0]!.startedAt),
    last: Date.parse(entries.at(-1)!.finishedAt),
    recordBytes,
    indexBytes,
    writeS: round(since(t0) / 1000, 1),
  };
}

interface OpStats {
  samples: number;
  p50: number;
  p95: number;
  max: number;
}

function stats(samples: readonly number[]): OpStats {
  return { samples: samples.length, p50: round(percentile(samples, 50)), p95: round(percentile(samples, 95)), max: round(Math.max(...samples)) };
}

/**
 * Times every operation, interleaved: one round runs each operation once, in a shuffled order.
 * An operation stops being sampled once it has `target` samples, or once it has at least
 * `minimum` and has used up its share of the time budget.
 */
async function measure(ctx: BenchContext, store: MirrorStore, shape: Shape, data: Populated, target: number, opBudgetMs: number): Promise<Record<Op, OpStats>> {
  const random = prng(42 + shape.rocks.length);
  const base = `${shape.ts.train}/${shape.ts.release}/${shape.ts.series}`;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const query: Record<Op, () => Promise<unknown>> = {
    list: async () => {
      const listing = await listBuilds(store, shape.ts);
      if (listing.builds.length !== data.ids.length || listing.source !== 'index') throw new Error(`listBuilds returned ${listing.builds.length} builds from ${listing.source}`);
    },
    latest: () => resolveRef(store, `${base}/latest`),
    stable: () => resolveRef(store, `${base}/stable`),
    build: () => resolveRef(store, `${base}/${pick(data.ids)}`),
    'as-of': () => resolveRef(store, `${base}/as-of:${new Date(data.first + 3600_000 + random() * (data.last - data.first)).toISOString().replace(/\.\d{3}Z$/, 'Z')}`),
    pin: () => resolveRef(store, `${base}/pin:${pick(data.pins)}`),
  };
  const minimum = 20;
  const samples = Object.fromEntries(OPS.map((op) => [op, [] as number[]])) as Record<Op, number[]>;
  const spent = Object.fromEntries(OPS.map((op) => [op, 0])) as Record<Op, number>;
  for (const op of OPS) await query[op](); // warm-up, not counted
  for (;;) {
    const active = OPS.filter((op) => samples[op].length < target && (samples[op].length < minimum || spent[op] < opBudgetMs));
    if (active.length === 0) break;
    ctx.check();
    for (const op of [...active].sort(() => random() - 0.5)) {
      const t0 = performance.now();
      await query[op]();
      const ms = since(t0);
      samples[op].push(ms);
      spent[op] += ms;
    }
  }
  return Object.fromEntries(OPS.map((op) => [op, stats(samples[op])])) as Record<Op, OpStats>;
}

/**
 * Where the time of listBuilds goes: reading index.json, JSON.parse, schema validation; and what
 * parsing would cost if index entries left the per-rock details to build.json.
 */
async function indexBreakdown(store: MirrorStore, ts: TrainSeries, rounds = 5): Promise<Record<string, number>> {
  const read: number[] = [];
  const parse: number[] = [];
  const validate: number[] = [];
  const slimParse: number[] = [];
  let slimBytes = 0;
  for (let i = 0; i < rounds; i++) {
    let t0 = performance.now();
    const bytes = await store.get(indexKey(ts));
    read.push(since(t0));
    if (!bytes) throw new Error('index.json is missing');
    t0 = performance.now();
    const value: unknown = JSON.parse(bytes.toString('utf8'));
    parse.push(since(t0));
    t0 = performance.now();
    const index = seriesIndexSchema.parse(value);
    validate.push(since(t0));
    const slim: SeriesIndex = { ...index, builds: index.builds.map((b) => ({ ...b, rocks: [] })) };
    const slimText = serialiseSeriesIndex(slim);
    slimBytes = Buffer.byteLength(slimText);
    t0 = performance.now();
    seriesIndexSchema.parse(JSON.parse(slimText));
    slimParse.push(since(t0));
  }
  return {
    readMs: round(median(read)),
    jsonParseMs: round(median(parse)),
    validateMs: round(median(validate)),
    withoutRocksMiB: mib(slimBytes),
    withoutRocksParseAndValidateMs: round(median(slimParse)),
  };
}

async function run(ctx: BenchContext): Promise<BenchFigures> {
  const count = envInt('HELIOSTAT_BENCH_P5_BUILDS', 10_000);
  const target = envInt('HELIOSTAT_BENCH_P5_SAMPLES', 200);
  const opBudgetMs = envInt('HELIOSTAT_BENCH_P5_OP_BUDGET_S', 60) * 1000;
  const trainRocks = Object.keys(fixtureBranchData('main').rocks).sort();
  const shapes: Shape[] = [
    { label: `whole-train builds (${trainRocks.length} rocks each)`, ts: { train: 'reference', release: '2026.1', series: 'noble' }, rocks: trainRocks },
    { label: 'component builds (4 rocks each)', ts: { train: 'cinder-fix', release: '2026.1', series: 'noble' }, rocks: ['cinder-api', 'cinder-consolidated', 'cinder-scheduler', 'cinder-volume'] },
  ];
  const notes: string[] = [];
  const root = await mkdtemp(join(tmpdir(), 'heliostat-bench-p5-'));
  ctx.defer('remove P5 files', () => rm(root, { recursive: true, force: true }));

  const stores: Array<{ name: 'fs' | 's3'; store: MirrorStore; writer: MirrorStore; concurrency: number }> = [
    // Written without fsync (only the setup is faster); queried through a default store.
    { name: 'fs', store: new FsStore(join(root, 'mirror')), writer: new FsStore(join(root, 'mirror'), { fsync: false }), concurrency: 16 },
  ];
  if (missingRgwPrograms().length === 0) {
    const rgw = await startBenchRgw(ctx, { memstoreBytes: 6 * GiB });
    const s3 = new S3Store({ endpoint: rgw.endpoint, region: rgw.region, bucket: 'bench-p5', prefix: 'mirror', accessKey: rgw.accessKey, secretKey: rgw.secretKey });
    await s3.ensureBucket();
    ctx.defer('close S3 store', () => s3.close());
    stores.push({ name: 's3', store: s3, writer: s3, concurrency: 32 });
  } else {
    notes.push(`RGW part skipped: ${RGW_MISSING_NOTE}`);
  }

  const results: Record<string, Record<string, unknown>> = {};
  let worst = 0;
  let worstAt = '';
  for (const shape of shapes) {
    for (const { name, store, writer, concurrency } of stores) {
      ctx.check();
      ctx.log(`${name}: committing ${count} ${shape.label}`);
      const data = await populate(ctx, writer, shape, count, concurrency);
      // The builds were written without fsync: flush them now, so the timings below do not
      // include the kernel writing back hundreds of megabytes in the background.
      if (name === 'fs') await promisify(execFile)('sync', ['-f', root], { timeout: 600_000 });
      ctx.log(`${name}: ${count} builds in ${data.writeS} s; index.json ${mib(data.indexBytes)} MiB`);
      const ops = await measure(ctx, store, shape, data, target, opBudgetMs);
      const listBreakdown = await indexBreakdown(store, shape.ts);
      for (const op of OPS) {
        if (ops[op].p95 > worst) {
          worst = ops[op].p95;
          worstAt = `${op} on ${name}, ${shape.label}`;
        }
        if (ops[op].samples < target) notes.push(`${op} on ${name} (${shape.label}): ${ops[op].samples} samples, the ${opBudgetMs / 1000} s per-operation budget ran out`);
      }
      ctx.log(`${name}: ${OPS.map((op) => `${op} p95 ${ops[op].p95} ms`).join(', ')}`);
      ctx.log(`${name}: listBuilds breakdown (median ms) ${JSON.stringify(listBreakdown)}`);
      (results[shape.ts.train] ??= { shape: shape.label, builds: count, rocksPerBuild: shape.rocks.length })[name] = {
        indexMiB: mib(data.indexBytes),
        buildJsonMiB: mib(data.recordBytes),
        setupS: data.writeS,
        ms: ops,
        listBreakdown,
      };
    }
  }
  const met = worst <= GOAL_MS;
  if (!met) notes.unshift(`worst p95 ${worst} ms (${worstAt}); goal ${GOAL_MS} ms`);
  return {
    goal: GOAL,
    met,
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    worstP95Ms: worst,
    worstAt,
    setup: { builds: count, samplesTarget: target, opBudgetS: opBudgetMs / 1000, pins: PINS, stores: stores.map((s) => s.name) },
    series: results,
  };
}

export const P5: Benchmark = {
  name: 'P5',
  title: 'list and resolve among 10 000 builds (fs and RGW)',
  goal: GOAL,
  budgetS: 45 * 60,
  run,
  summarise: (r) => {
    const series = r.series as Record<string, Record<string, unknown>> | undefined;
    if (!series) return [`p95 n/a (goal ≤ ${GOAL_MS} ms)`];
    const lines: string[] = [];
    for (const s of Object.values(series)) {
      for (const store of ['fs', 's3']) {
        const m = (s[store] as { ms: Record<Op, OpStats> } | undefined)?.ms;
        if (!m) continue;
        lines.push(`${store} ${String(s.shape)}: p95 ms ${OPS.map((op) => `${op} ${m[op].p95}`).join(', ')}`);
      }
    }
    return lines.length > 0 ? lines : [`p95 n/a (goal ≤ ${GOAL_MS} ms)`];
  },
};
