// The reads the API and the pages share: a series' aliases and live pins, one page of its builds,
// the build a view selector names, and a precise "not found" that says which part of a path the
// mirror does not have (train, release or series) and what it does have instead. The existence
// checks cost listings, so requests that can go straight to a build do, and explain only on failure.
import type { BuildRecord } from '../build-record.js';
import { formatTrainSeries, type TrainSeries } from '../layout.js';
import { isPinLive, readPins } from '../pins.js';
import { NotFoundInMirrorError, listBuilds, listReleases, listSeries, listTrains, showBuild } from '../query.js';
import type { IndexEntry } from '../series-index.js';
import { readAlias } from '../series.js';
import type { MirrorStore } from '../stores/store.js';
import type { PageParams, ViewSelector } from './params.js';
import type { BuildsBody, ListedBuild } from './protocol.js';

export interface SeriesMarks {
  latest?: string;
  stable?: string;
  /** Build id → the aliases and live pins naming it (`latest`, `stable`, `pin:prod`). */
  marks: Map<string, string[]>;
}

export async function seriesMarks(store: MirrorStore, ts: TrainSeries, now = new Date()): Promise<SeriesMarks> {
  const [latest, stable, pins] = await Promise.all([readAlias(store, ts, 'latest'), readAlias(store, ts, 'stable'), readPins(store, ts)]);
  const marks = new Map<string, string[]>();
  const add = (id: string | undefined, mark: string) => {
    if (id) marks.set(id, [...(marks.get(id) ?? []), mark]);
  };
  add(latest, 'latest');
  add(stable, 'stable');
  for (const [name, pin] of Object.entries(pins.pins).sort(([a], [b]) => (a < b ? -1 : 1))) if (isPinLive(pin, now)) add(pin.buildId, `pin:${name}`);
  return { ...(latest ? { latest } : {}), ...(stable ? { stable } : {}), marks };
}

const choices = (names: readonly string[]) => (names.length === 0 ? '(none)' : names.length > 20 ? `${names.slice(0, 20).join(', ')}, …` : names.join(', '));

/** Throws NotFoundInMirrorError naming the first part of the path the mirror does not have. */
export async function requirePath(store: MirrorStore, path: { train: string; release?: string; series?: string }): Promise<void> {
  const trains = await listTrains(store);
  if (!trains.includes(path.train)) throw new NotFoundInMirrorError(`no train ${path.train}; trains: ${choices(trains)}`);
  if (path.release === undefined) return;
  const releases = await listReleases(store, path.train);
  if (!releases.includes(path.release)) throw new NotFoundInMirrorError(`no release ${path.release} in train ${path.train}; releases: ${choices(releases)}`);
  if (path.series === undefined) return;
  const series = await listSeries(store, path.train, path.release);
  if (!series.includes(path.series)) throw new NotFoundInMirrorError(`no series ${path.series} in ${path.train}/${path.release}; series: ${choices(series)}`);
}

/** Runs `work`; when it finds nothing, replaces its message with the precise one if the path itself is missing. */
export async function explainMissing<T>(store: MirrorStore, ts: TrainSeries, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof NotFoundInMirrorError) await requirePath(store, ts);
    throw err;
  }
}

/** All builds of a series, newest first, each with its marks. */
export async function listedBuilds(store: MirrorStore, ts: TrainSeries, marks: SeriesMarks): Promise<ListedBuild[]> {
  const { builds } = await listBuilds(store, ts);
  return [...builds].reverse().map((b: IndexEntry) => ({ ...b, aliases: marks.marks.get(b.buildId) ?? [] }));
}

/** One page of a newest-first listing: builds strictly older than `before`, at most `limit`. */
export function pageOf(builds: readonly ListedBuild[], params: PageParams): { builds: ListedBuild[]; next: string | null } {
  const start = params.before === undefined ? 0 : builds.findIndex((b) => b.buildId < (params.before ?? ''));
  const from = start < 0 ? builds.length : start;
  const slice = builds.slice(from, from + params.limit);
  const more = from + params.limit < builds.length;
  return { builds: slice, next: more ? (slice[slice.length - 1]?.buildId ?? null) : null };
}

export async function buildsBody(store: MirrorStore, ts: TrainSeries, params: PageParams): Promise<BuildsBody> {
  await requirePath(store, ts);
  const marks = await seriesMarks(store, ts);
  const all = await listedBuilds(store, ts, marks);
  return { ...ts, latest: marks.latest ?? null, stable: marks.stable ?? null, total: all.length, ...pageOf(all, params) };
}

/** The build id a view selector names. */
export async function selectBuild(store: MirrorStore, ts: TrainSeries, selector: ViewSelector): Promise<string> {
  if (selector.kind === 'build') return selector.buildId;
  const id = await readAlias(store, ts, selector.kind);
  if (!id) throw new NotFoundInMirrorError(`${formatTrainSeries(ts)}: ${selector.kind}_build is not set`);
  return id;
}

export async function selectRecord(store: MirrorStore, ts: TrainSeries, selector: ViewSelector): Promise<BuildRecord> {
  return explainMissing(store, ts, async () => showBuild(store, ts, await selectBuild(store, ts, selector)));
}
