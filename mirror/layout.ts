// Where everything lives in a mirror, as pure functions. Every key the mirror ever writes or reads
// is built here from validated components, so no caller-supplied name (train, build id, output path)
// can produce a key outside its own prefix. Nothing in this module does I/O.

export class LayoutError extends Error {
  /** A malformed name is the caller's input, not a failure of the mirror (the CLI exits 2). */
  readonly usage = true;
  constructor(
    readonly what: string,
    readonly value: string,
    reason: string,
  ) {
    // A giant input still makes a short message.
    super(`invalid ${what} ${JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value)}: ${reason}`);
    this.name = 'LayoutError';
  }
}

/** The three coordinates that name one stream of builds. */
export interface TrainSeries {
  train: string;
  release: string;
  series: string;
}

const TRAIN_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
// Names a train may not take: the mirror's own top-level folders, and the top-level routes of the
// controller that serves the mirror at `/` (its API, probes, metrics, static assets), so that a
// mirror path and a controller route can never be the same URL.
const RESERVED_TOP = new Set(['blobs', 'meta', 'api', 'healthz', 'readyz', 'metrics', 'static']);

/** Whether `name` is a top-level name a train may not take (see RESERVED_TOP). */
export function isReservedTopName(name: string): boolean {
  return RESERVED_TOP.has(name);
}
const RELEASE_NUMBER_RE = /^\d{4}\.\d{1,2}$/;
const RELEASE_CODENAME_RE = /^[a-z]{2,32}$/;
const SERIES_RE = /^[a-z]{2,32}$/;
// Rockcraft names: lower-case letters, digits and single hyphens, not starting or ending with one.
const ROCK_RE = /^[a-z0-9](?:[a-z0-9]|-(?!-)){0,62}$/;
const PIN_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const BUILD_ID_RE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const DIGEST_RE = /^sha256:([0-9a-f]{64})$/;
// Control characters would break line-oriented files (SHA256SUMS) and terminal output.
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

export function validateTrain(train: string): string {
  if (!TRAIN_RE.test(train)) throw new LayoutError('train', train, 'expected [a-z0-9][a-z0-9-]{0,62}');
  if (RESERVED_TOP.has(train)) throw new LayoutError('train', train, 'reserved name');
  return train;
}

/** A release is its number (`2024.1`) or its codename (`caracal`); mapping one to the other is the caller's job. */
export function validateRelease(release: string): string {
  if (!RELEASE_NUMBER_RE.test(release) && !RELEASE_CODENAME_RE.test(release)) {
    throw new LayoutError('release', release, 'expected a number like 2024.1 or a codename like caracal');
  }
  return release;
}

export function validateSeries(series: string): string {
  if (!SERIES_RE.test(series)) throw new LayoutError('series', series, 'expected a lower-case Ubuntu codename like noble');
  return series;
}

export function validateRockName(name: string): string {
  if (!ROCK_RE.test(name) || name.endsWith('-')) {
    throw new LayoutError('rock name', name, 'expected lower-case letters, digits and single hyphens, at most 63 characters');
  }
  return name;
}

export function validatePinName(name: string): string {
  if (!PIN_RE.test(name)) throw new LayoutError('pin name', name, 'expected [a-z0-9][a-z0-9._-]{0,62}');
  return name;
}

export function validateTrainSeries(ts: TrainSeries): TrainSeries {
  return { train: validateTrain(ts.train), release: validateRelease(ts.release), series: validateSeries(ts.series) };
}

/** Build ids are the UTC start time `YYYYMMDDTHHMMSSZ`; the date must exist (no month 13, no Feb 30). */
export function validateBuildId(id: string): string {
  buildIdToDate(id);
  return id;
}

export function isBuildId(id: string): boolean {
  try {
    buildIdToDate(id);
    return true;
  } catch {
    return false;
  }
}

export function buildIdToDate(id: string): Date {
  const m = BUILD_ID_RE.exec(id);
  if (!m) throw new LayoutError('build id', id, 'expected YYYYMMDDTHHMMSSZ');
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC silently rolls over out-of-range fields; a round trip catches every such case.
  if (
    date.getUTCFullYear() !== y ||
    date.getUTCMonth() !== mo - 1 ||
    date.getUTCDate() !== d ||
    date.getUTCHours() !== h ||
    date.getUTCMinutes() !== mi ||
    date.getUTCSeconds() !== s
  ) {
    throw new LayoutError('build id', id, 'not a real UTC date and time');
  }
  return date;
}

export function buildIdFromDate(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new LayoutError('build time', String(date), 'invalid date');
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/**
 * Output paths are relative to a build's `outputs/`. They become object keys and file names, so
 * anything that could climb out (`..`, absolute, backslash) or break line-oriented files is refused.
 */
export function validateOutputPath(path: string): string {
  const bad = (reason: string): never => {
    throw new LayoutError('output path', path, reason);
  };
  if (path.length === 0) bad('empty');
  if (path.length > 1024) bad('longer than 1024 characters');
  if (path.includes('\\')) bad('backslash');
  if (CONTROL_RE.test(path)) bad('control character');
  if (path.startsWith('/')) bad('absolute');
  if (/^[A-Za-z]:/.test(path)) bad('drive-qualified');
  for (const segment of path.split('/')) {
    if (segment === '') bad('empty segment');
    if (segment === '.' || segment === '..') bad(`"${segment}" segment`);
    if (segment.length > 255) bad('segment longer than 255 characters');
  }
  return path;
}

/** Validates a `sha256:<64 hex>` digest and returns its hex part. */
export function digestHex(digest: string): string {
  const m = DIGEST_RE.exec(digest);
  if (!m?.[1]) throw new LayoutError('digest', digest, 'expected sha256:<64 lower-case hex>');
  return m[1];
}

export function isDigest(digest: string): boolean {
  return DIGEST_RE.test(digest);
}

// ---- keys -------------------------------------------------------------------------------------

export const BLOBS_PREFIX = 'blobs/sha256/';
/** Mirror-internal coordination objects (GC lock, publish intents); never a train. */
export const META_PREFIX = 'meta/';

export function blobKey(digest: string): string {
  const hex = digestHex(digest);
  return `${BLOBS_PREFIX}${hex.slice(0, 2)}/${hex}`;
}

/** The digest a blob key stands for, or undefined for any other key. */
export function digestFromBlobKey(key: string): string | undefined {
  const m = /^blobs\/sha256\/([0-9a-f]{2})\/([0-9a-f]{64})$/.exec(key);
  if (!m?.[2] || !m[2].startsWith(m[1] ?? '')) return undefined;
  return `sha256:${m[2]}`;
}

export function seriesPrefix(ts: TrainSeries): string {
  const v = validateTrainSeries(ts);
  return `${v.train}/${v.release}/${v.series}/`;
}

export function buildPrefix(ts: TrainSeries, buildId: string): string {
  return `${seriesPrefix(ts)}${validateBuildId(buildId)}/`;
}

export function buildRecordKey(ts: TrainSeries, buildId: string): string {
  return `${buildPrefix(ts, buildId)}build.json`;
}

/** The StarlingX consumer view of one output file (materialised by stores that can link). */
export function outputKey(ts: TrainSeries, buildId: string, path: string): string {
  return `${buildPrefix(ts, buildId)}outputs/${validateOutputPath(path)}`;
}

export type AliasName = 'latest' | 'stable';

export function aliasKey(ts: TrainSeries, alias: AliasName): string {
  return `${seriesPrefix(ts)}${alias}_build`;
}

export function indexKey(ts: TrainSeries): string {
  return `${seriesPrefix(ts)}index.json`;
}

export function pinsKey(ts: TrainSeries): string {
  return `${seriesPrefix(ts)}pins.json`;
}

/** Serialises publishes, promotions, pin edits and retention of one train/release/series. */
export function seriesLockKey(ts: TrainSeries): string {
  return `${seriesPrefix(ts)}publish.lock`;
}

export const GC_LOCK_KEY = `${META_PREFIX}gc.lock`;
export const INTENTS_PREFIX = `${META_PREFIX}intents/`;

export function intentKey(token: string): string {
  if (!/^[A-Za-z0-9_-]{1,100}$/.test(token)) throw new LayoutError('intent token', token, 'expected [A-Za-z0-9_-]');
  return `${INTENTS_PREFIX}${token}.json`;
}

export function formatTrainSeries(ts: TrainSeries): string {
  return `${ts.train}/${ts.release}/${ts.series}`;
}

/** Which folder names under a train/release/series are builds (as opposed to aliases, index, pins). */
export function buildIdFromFolder(prefix: string, folder: string): string | undefined {
  if (!folder.startsWith(prefix) || !folder.endsWith('/')) return undefined;
  const name = folder.slice(prefix.length, -1);
  return isBuildId(name) ? name : undefined;
}
