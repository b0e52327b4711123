// Build references as consumers write them: `<train>/<release>/<series>/<selector>`, where the
// selector is a build id, an alias (`latest`, `stable`, or their on-disk names `latest_build`,
// `stable_build`), a pin (`pin:<name>`) or a point in time (`as-of:<ISO time>`). Parsing is pure;
// resolving a ref against a store is in query.ts.
import {
  LayoutError,
  buildIdToDate,
  isBuildId,
  validatePinName,
  validateRelease,
  validateSeries,
  validateTrain,
  type TrainSeries,
} from './layout.js';

export type BuildSelector =
  | { kind: 'build'; buildId: string }
  | { kind: 'latest' }
  | { kind: 'stable' }
  | { kind: 'pin'; name: string }
  | { kind: 'as-of'; at: Date };

export interface BuildRef extends TrainSeries {
  selector: BuildSelector;
}

export class RefError extends Error {
  /** A malformed reference is the caller's input, not a failure of the mirror. */
  readonly usage = true;
  constructor(
    readonly ref: string,
    reason: string,
  ) {
    super(`invalid build reference ${JSON.stringify(ref)}: ${reason}`);
    this.name = 'RefError';
  }
}

export interface ParseRefOptions {
  /** Maps a release codename to its number (or back), so both spellings reach the same builds. */
  normaliseRelease?: (release: string) => string;
}

const FORMAT = '<train>/<release>/<series>/<build-id|latest|stable|pin:NAME|as-of:TIME>';

export function parseRef(text: string, options: ParseRefOptions = {}): BuildRef {
  const parts = text.split('/');
  if (parts.length !== 4) throw new RefError(text, `expected ${FORMAT}`);
  const [train, release, series, selectorText] = parts as [string, string, string, string];
  try {
    validateTrain(train);
    const rel = validateRelease(options.normaliseRelease ? options.normaliseRelease(release) : release);
    validateSeries(series);
    return { train, release: rel, series, selector: parseSelector(selectorText) };
  } catch (err) {
    if (err instanceof LayoutError) throw new RefError(text, err.message);
    throw err;
  }
}

export function parseSelector(text: string): BuildSelector {
  if (text === 'latest' || text === 'latest_build') return { kind: 'latest' };
  if (text === 'stable' || text === 'stable_build') return { kind: 'stable' };
  if (text.startsWith('pin:')) return { kind: 'pin', name: validatePinName(text.slice(4)) };
  if (text.startsWith('as-of:')) return { kind: 'as-of', at: parseInstant(text.slice(6)) };
  if (isBuildId(text)) return { kind: 'build', buildId: text };
  if (/^\d{8}T\d{6}Z$/.test(text)) buildIdToDate(text); // throws the precise "not a real date" error
  throw new LayoutError('selector', text, 'expected a build id (YYYYMMDDTHHMMSSZ), latest, stable, pin:NAME or as-of:TIME');
}

export function formatSelector(selector: BuildSelector): string {
  switch (selector.kind) {
    case 'build':
      return selector.buildId;
    case 'latest':
    case 'stable':
      return selector.kind;
    case 'pin':
      return `pin:${selector.name}`;
    case 'as-of':
      return `as-of:${selector.at.toISOString()}`;
  }
}

export function formatRef(ref: BuildRef): string {
  return `${ref.train}/${ref.release}/${ref.series}/${formatSelector(ref.selector)}`;
}

const ISO_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A point in time: full ISO 8601 with an explicit zone (`2024-05-01T12:00:00Z`, `…+02:00`) or the
 * build-id form. A time without a zone is refused rather than guessed, because the answer to
 * "as of when" must not depend on where the question is asked.
 */
export function parseInstant(text: string): Date {
  if (/^\d{8}T\d{6}Z$/.test(text)) return buildIdToDate(text);
  const m = ISO_RE.exec(text);
  if (!m) throw new LayoutError('time', text, 'expected ISO 8601 with a zone, e.g. 2024-05-01T12:00:00Z');
  const [y, mo, d, h, mi, s] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw new LayoutError('time', text, 'not a real date and time');
  }
  const zone = m[7] ?? 'Z';
  if (zone !== 'Z' && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(4, 6)) > 59)) {
    throw new LayoutError('time', text, 'invalid zone offset');
  }
  const at = new Date(text);
  if (Number.isNaN(at.getTime())) throw new LayoutError('time', text, 'unparseable');
  return at;
}
