// The HTTP mirror's wire protocol: where each resource lives and what its JSON looks like. The
// server (router) and the client (http-reader.ts) both build their URLs here, so the two cannot
// drift apart. Paths are relative (no leading slash) so a client can resolve them against a base
// URL that carries a path prefix (a mirror served behind a proxy at https://host/mirror/).
//
// Resources:
//   <t>/<r>/<s>/                                   series listing (HTML; JSON with Accept)
//   <t>/<r>/<s>/latest_build, stable_build         the build id an alias names (text)
//   <t>/<r>/<s>/<id|latest_build|stable_build>/outputs/<path>   one output file (Range, ETag)
//   api/mirror/v1/trains                           {trains}
//   api/mirror/v1/trains/<t>/releases              {train, releases}
//   api/mirror/v1/trains/<t>/releases/<r>/series   {train, release, series: [{series, latest, stable}]}
//   api/mirror/v1/builds/<t>/<r>/<s>?limit&before  one page of builds, newest first
//   api/mirror/v1/builds/<t>/<r>/<s>/<selector>    the build.json of one build
//   api/mirror/v1/pins/<t>/<r>/<s>                 the pins of a series
//   api/mirror/v1/resolve?ref=REF                  {train, release, series, buildId, ref}
//   api/mirror/v1/diff?from=REF&to=REF             per-rock package changes
//   api/mirror/v1/blobs/sha256/<hex>               one blob by digest (Range, ETag): what a sync
//                                                   copies, since blobs are shared between builds
import type { TrainSeries } from '../layout.js';
import type { IndexEntry } from '../series-index.js';

export const API_PREFIX = 'api/mirror/v1';

/** Largest page of builds one request returns; the default page is smaller. */
export const MAX_PAGE = 500;
export const DEFAULT_PAGE = 50;

const seg = encodeURIComponent;
const seriesPath = (ts: TrainSeries) => `${seg(ts.train)}/${seg(ts.release)}/${seg(ts.series)}`;

export const apiPath = {
  trains: () => `${API_PREFIX}/trains`,
  releases: (train: string) => `${API_PREFIX}/trains/${seg(train)}/releases`,
  series: (train: string, release: string) => `${API_PREFIX}/trains/${seg(train)}/releases/${seg(release)}/series`,
  builds: (ts: TrainSeries, page: { limit?: number; before?: string } = {}) => {
    const q = new URLSearchParams();
    if (page.limit !== undefined) q.set('limit', String(page.limit));
    if (page.before !== undefined) q.set('before', page.before);
    const query = q.toString();
    return `${API_PREFIX}/builds/${seriesPath(ts)}${query ? `?${query}` : ''}`;
  },
  record: (ts: TrainSeries, selector: string) => `${API_PREFIX}/builds/${seriesPath(ts)}/${seg(selector)}`,
  pins: (ts: TrainSeries) => `${API_PREFIX}/pins/${seriesPath(ts)}`,
  resolve: (ref: string) => `${API_PREFIX}/resolve?${new URLSearchParams({ ref }).toString()}`,
  diff: (from: string, to: string) => `${API_PREFIX}/diff?${new URLSearchParams({ from, to }).toString()}`,
  blob: (hex: string) => `${API_PREFIX}/blobs/sha256/${seg(hex)}`,
};

export const viewPath = {
  series: (ts: TrainSeries) => `${seriesPath(ts)}/`,
  alias: (ts: TrainSeries, alias: 'latest' | 'stable') => `${seriesPath(ts)}/${alias}_build`,
  build: (ts: TrainSeries, selector: string) => `${seriesPath(ts)}/${seg(selector)}/`,
  /** An output file, or (with a trailing slash) a folder of outputs; each segment encoded. */
  output: (ts: TrainSeries, selector: string, path: string) => `${seriesPath(ts)}/${seg(selector)}/outputs/${path.split('/').map(seg).join('/')}`,
};

/** The body of every error response of the JSON API (and of view requests that accept JSON). */
export interface ErrorBody {
  error: string;
}

export interface TrainsBody {
  trains: string[];
}

export interface ReleasesBody {
  train: string;
  releases: string[];
}

export interface SeriesBody {
  train: string;
  release: string;
  series: { series: string; latest: string | null; stable: string | null }[];
}

/** One build in a listing: its index entry plus the aliases and live pins naming it. */
export interface ListedBuild extends IndexEntry {
  aliases: string[];
}

export interface BuildsBody extends TrainSeries {
  latest: string | null;
  stable: string | null;
  /** Committed builds in the series. */
  total: number;
  /** Newest first. */
  builds: ListedBuild[];
  /** Pass as `before` to get the next (older) page; null on the last page. */
  next: string | null;
}

export interface ResolveBody extends TrainSeries {
  buildId: string;
  ref: string;
}
