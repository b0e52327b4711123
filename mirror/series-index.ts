// index.json: the derived listing of one train/release/series, so that listing builds, resolving
// `as-of` and applying retention cost one read instead of one per build. It is never the source of
// truth: every entry is computed from a build.json, and the whole file can be rebuilt from them.
import { z } from 'zod';
import { CorruptObjectError, decodeJson, describeZodError, recordSize, rockOutcomes, type BuildRecord } from './build-record.js';
import type { TrainSeries } from './layout.js';

export const indexEntrySchema = z.object({
  buildId: z.string(),
  result: z.enum(['success', 'fail']),
  startedAt: z.string(),
  finishedAt: z.string(),
  /** Total bytes of the build's output files. */
  size: z.number().int().nonnegative(),
  files: z.number().int().nonnegative(),
  buildKey: z.string().optional(),
  rocks: z.array(
    z.object({
      name: z.string(),
      arch: z.string(),
      version: z.string(),
      outcome: z.enum(rockOutcomes),
      /** Registry digest of the image, when it was pushed. */
      digest: z.string().optional(),
    }),
  ),
});

export const seriesIndexSchema = z.object({
  schema: z.literal(1),
  train: z.string(),
  release: z.string(),
  series: z.string(),
  updatedAt: z.string(),
  /** Ascending by build id (= by start time). */
  builds: z.array(indexEntrySchema),
});

export type IndexEntry = z.infer<typeof indexEntrySchema>;
export type SeriesIndex = z.infer<typeof seriesIndexSchema>;

export function indexEntryFromRecord(record: BuildRecord): IndexEntry {
  return {
    buildId: record.buildId,
    result: record.result,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
    size: recordSize(record),
    files: Object.keys(record.files).length,
    ...(record.context.buildKey ? { buildKey: record.context.buildKey } : {}),
    rocks: record.rocks.map((r) => ({
      name: r.name,
      arch: r.arch,
      version: r.version,
      outcome: r.outcome,
      ...(r.image ? { digest: r.image.digest } : {}),
    })),
  };
}

export function buildIndex(ts: TrainSeries, entries: Iterable<IndexEntry>, now: Date): SeriesIndex {
  const byId = new Map<string, IndexEntry>();
  for (const e of entries) byId.set(e.buildId, e);
  const builds = [...byId.values()].sort((a, b) => (a.buildId < b.buildId ? -1 : a.buildId > b.buildId ? 1 : 0));
  return { schema: 1, train: ts.train, release: ts.release, series: ts.series, updatedAt: now.toISOString(), builds };
}

export function parseSeriesIndex(bytes: Buffer, source: string): SeriesIndex {
  const parsed = seriesIndexSchema.safeParse(decodeJson(bytes, source, 'index.json'));
  if (!parsed.success) throw new CorruptObjectError(source, describeZodError(parsed.error), 'index.json');
  return parsed.data;
}

/** Compact (one build per line) so a 10 000-build index stays small and diffable. */
export function serialiseSeriesIndex(index: SeriesIndex): string {
  const { schema, train, release, series, updatedAt } = index;
  // `builds` goes last so the head can be cut just before its (empty) array.
  const head = JSON.stringify({ schema, train, release, series, updatedAt, builds: [] }).slice(0, -3);
  const lines = index.builds.map((b) => JSON.stringify(b));
  return `${head}[\n${lines.join(',\n')}\n]}\n`;
}

/** The newest successful build that had finished at or before `at` (see query.ts for why finish time). */
export function newestSuccessAsOf(index: SeriesIndex, at: Date): IndexEntry | undefined {
  const limit = at.getTime();
  let best: IndexEntry | undefined;
  for (const e of index.builds) {
    if (e.result !== 'success' || Date.parse(e.finishedAt) > limit) continue;
    if (!best || e.buildId > best.buildId) best = e;
  }
  return best;
}
