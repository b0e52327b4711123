// Turning what a client sent (a raw URL path, query parameters) into validated mirror names. Every
// segment is percent-decoded exactly once and then checked: after decoding, no segment may contain
// a slash, a backslash or a control character, or be `.` or `..`, so neither `../` nor its encoded
// forms (`%2e%2e`, `%2f`) can reach a store key. The names themselves then go through the layout
// validators, which know what a train, a release or a build id may look like.
import type { Request } from 'express';
import { isBuildId, validateBuildId, validateRelease, validateSeries, validateTrain, type TrainSeries } from '../layout.js';
import { HttpError } from './errors.js';
import { DEFAULT_PAGE, MAX_PAGE } from './protocol.js';

/** Longest URL path the view accepts; the longest legitimate one is an output path (≤ 1024). */
const MAX_PATH = 2048;
// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

export interface SplitPath {
  segments: string[];
  /** The path ended with a slash: a folder. */
  folder: boolean;
}

/** Splits `req.path` (still percent-encoded) into decoded, individually safe segments. */
export function splitPath(rawPath: string): SplitPath {
  if (rawPath.length > MAX_PATH) throw new HttpError(414, `path longer than ${MAX_PATH} characters`);
  if (!rawPath.startsWith('/')) throw new HttpError(400, 'path must start with /');
  const body = rawPath.slice(1);
  if (body === '') return { segments: [], folder: true };
  const folder = body.endsWith('/');
  const parts = (folder ? body.slice(0, -1) : body).split('/');
  const segments = parts.map((part) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      throw new HttpError(400, 'malformed percent-encoding in the path');
    }
    if (decoded === '') throw new HttpError(400, 'empty path segment');
    if (decoded === '.' || decoded === '..') throw new HttpError(400, `"${decoded}" is not allowed in a path`);
    if (decoded.includes('/') || decoded.includes('\\')) throw new HttpError(400, 'a path segment may not contain an encoded slash or a backslash');
    if (CONTROL_RE.test(decoded)) throw new HttpError(400, 'a path segment may not contain control characters');
    return decoded;
  });
  return { segments, folder };
}

/** Validated train/release/series from three decoded segments. */
export function trainSeriesOf(train: string, release: string, series: string): TrainSeries {
  return { train: validateTrain(train), release: validateRelease(release), series: validateSeries(series) };
}

/** One optional query parameter given at most once, bounded in length. */
export function queryParam(req: Request, name: string, max = 512): string | undefined {
  const value: unknown = (req.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `query parameter ${name} must be given once, as plain text`);
  if (value.length > max) throw new HttpError(400, `query parameter ${name} is longer than ${max} characters`);
  return value;
}

export function requiredParam(req: Request, name: string, max = 512): string {
  const value = queryParam(req, name, max);
  if (value === undefined || value === '') throw new HttpError(400, `query parameter ${name} is required`);
  return value;
}

export interface PageParams {
  limit: number;
  before?: string;
}

/** `?limit=N&before=<build id>`: a page of a build listing, newest first. */
export function pageParams(req: Request, fallback = DEFAULT_PAGE, max = MAX_PAGE): PageParams {
  const limitText = queryParam(req, 'limit', 10);
  const before = queryParam(req, 'before', 32);
  let limit = fallback;
  if (limitText !== undefined) {
    if (!/^\d{1,6}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > max) {
      throw new HttpError(400, `query parameter limit must be a whole number from 1 to ${max}`);
    }
    limit = Number(limitText);
  }
  if (before !== undefined && before !== '') validateBuildId(before);
  return { limit, ...(before ? { before } : {}) };
}

/** A build selector of the StarlingX view: a build id or an alias object's name. */
export type ViewSelector = { kind: 'build'; buildId: string } | { kind: 'latest' | 'stable' };

export function viewSelector(text: string): ViewSelector | undefined {
  if (text === 'latest_build') return { kind: 'latest' };
  if (text === 'stable_build') return { kind: 'stable' };
  if (isBuildId(text)) return { kind: 'build', buildId: text };
  // Shaped like a build id but not a real time (month 13): say so rather than "not found".
  if (/^\d{8}T\d{6}Z$/.test(text)) validateBuildId(text);
  return undefined;
}
