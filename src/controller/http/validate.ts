// Input validation of the API, complete before the controller is called: a request that fails
// here changes nothing. Build requests get the contract schema and then the same semantic checks
// the CLI applies (known release, series that can carry it, PPA and package syntax, train names),
// so bad input is answered 400 naming the field instead of failing later inside a job.
import { z } from 'zod';
import { validatePinName, validateRelease, validateRockName, validateSeries, validateTrain } from '../../../mirror/layout.js';
import { parseInstant, parseRef, type BuildRef } from '../../../mirror/ref.js';
import { findRelease, getRelease, getSeries, seriesFor } from '../../catalog/releases.js';
import { parsePpaFlag } from '../../cli/flags.js';
import { validatePackageName, validateSuffix } from '../../rocks/patches.js';
import { checkTargetUrl, type TargetUrlPolicy } from '../notify/url.js';
import { JOB_STATES, buildRequestSchema, type BuildRequestInput, type JobState } from '../types.js';
import { badRequest, type ApiError } from './errors.js';

/** Requests one POST /builds may carry. */
export const MAX_REQUESTS_PER_SUBMIT = 20;

type Path = ReadonlyArray<PropertyKey>;

function formatPath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}

/** The first problem zod found, as a 400; unknown fields get their own code and are all named. */
export function zodProblem(error: z.ZodError, prefix: Path = []): ApiError {
  const unknown = error.issues.filter((i) => i.code === 'unrecognized_keys');
  if (unknown.length > 0) {
    const where = (i: z.core.$ZodIssue) => formatPath([...prefix, ...i.path]);
    const parts = unknown.map((i) => `${i.keys.map((k) => `'${k}'`).join(', ')}${where(i) ? ` in ${where(i)}` : ''}`);
    return badRequest(`unknown field${parts.length > 1 || parts[0]?.includes(',') ? 's' : ''}: ${parts.join('; ')}`, 'unknown_fields');
  }
  const issue = error.issues[0];
  const path = formatPath([...prefix, ...(issue?.path ?? [])]);
  return badRequest(`${path || 'body'}: ${issue?.message ?? 'invalid'}`);
}

export function parseWith<T extends z.ZodType>(schema: T, value: unknown, prefix: Path = []): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw zodProblem(parsed.error, prefix);
  return parsed.data;
}

/** Runs a validator of the domain; its message (already naming the value) gets the field path. */
function check(path: Path, validate: () => unknown): void {
  try {
    validate();
  } catch (error) {
    throw badRequest(`${formatPath(path)}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function checkBuildRequest(request: BuildRequestInput, index: number, policy: TargetUrlPolicy): void {
  const at = (...rest: PropertyKey[]) => [index, ...rest];
  let release: ReturnType<typeof getRelease> | undefined;
  check(at('release'), () => (release = getRelease(request.release)));
  if (request.series !== undefined) {
    check(at('series'), () => {
      const series = getSeries(request.series ?? '');
      const allowed = release ? seriesFor(release) : [];
      if (release && !allowed.includes(series.name)) throw new Error(`release ${release.codename} cannot be built on ${series.name}; valid series: ${allowed.join(', ')}`);
    });
  }
  if (request.train !== undefined) check(at('train'), () => validateTrain(request.train ?? ''));
  request.ppas?.forEach((ppa, i) => check(at('ppas', i), () => parsePpaFlag(ppa)));
  request.packages?.forEach((name, i) => check(at('packages', i), () => validatePackageName(name)));
  request.components?.forEach((name, i) => check(at('components', i), () => validatePackageName(name)));
  request.rocks?.forEach((name, i) => check(at('rocks', i), () => validateRockName(name)));
  if (request.suffix !== undefined) check(at('suffix'), () => validateSuffix(request.suffix ?? ''));
  const patched = (request.ppas?.length ?? 0) > 0 || (request.packages?.length ?? 0) > 0 || request.suffix !== undefined;
  // As on the command line: a patched build must not land in the reference or proposed train.
  if (patched && request.train === undefined) throw badRequest(`${formatPath(at('train'))}: a build with ppas, packages or suffix needs a train (the patch set it belongs to)`);
  if (request.callback !== undefined) {
    const result = checkTargetUrl(request.callback, policy);
    if (!result.ok) throw badRequest(`${formatPath(at('callback'))}: the callback URL ${result.reason}`, 'invalid_callback');
  }
}

/** POST /builds: a JSON list of build requests, each valid, or a 400 for the first problem. */
export function parseBuildRequests(body: unknown, policy: TargetUrlPolicy): BuildRequestInput[] {
  if (!Array.isArray(body)) throw badRequest('the body must be a JSON list of build requests, e.g. [{"release": "caracal"}]');
  if (body.length === 0) throw badRequest('the list of build requests is empty');
  if (body.length > MAX_REQUESTS_PER_SUBMIT) throw badRequest(`at most ${MAX_REQUESTS_PER_SUBMIT} build requests at once, got ${body.length}`);
  return body.map((item: unknown, index) => {
    const request = parseWith(buildRequestSchema, item, [index]);
    checkBuildRequest(request, index, policy);
    return request;
  });
}

// eslint-disable-next-line no-control-regex
const noControl = (s: string) => !/[\u0000-\u001f\u007f]/.test(s);
const refText = z.string().min(1).max(300).refine(noControl, 'must not contain control characters');

/** A build reference with a release heliostat knows (codename or number). */
function buildRef(text: string, field: string): BuildRef {
  let ref: BuildRef | undefined;
  check([field], () => (ref = parseRef(text, { normaliseRelease: (r) => findRelease(r)?.number ?? r })));
  if (!ref) throw badRequest(`${field}: invalid build reference`);
  const parsed = ref;
  check([field], () => getRelease(parsed.release));
  return parsed;
}

export const reconcileBodySchema = z.object({ dryRun: z.boolean().optional(), force: z.boolean().optional() }).strict();
export const promoteBodySchema = z.object({ ref: refText }).strict();
export const pinBodySchema = z
  .object({ ref: refText, name: z.string().min(1).max(63), expiresAt: z.string().min(1).max(64).optional(), note: z.string().max(500).refine(noControl, 'must not contain control characters').optional() })
  .strict();
export const unpinBodySchema = z.object({ ref: refText, name: z.string().min(1).max(63) }).strict();

export function parsePromote(body: unknown): { ref: string } {
  const { ref } = parseWith(promoteBodySchema, body ?? {});
  if (buildRef(ref, 'ref').selector.kind === 'stable') throw badRequest('ref: promoting stable to stable changes nothing; name a build, latest or a pin');
  return { ref };
}

export function parsePin(body: unknown, now: Date): z.infer<typeof pinBodySchema> {
  const pin = parseWith(pinBodySchema, body ?? {});
  buildRef(pin.ref, 'ref');
  check(['name'], () => validatePinName(pin.name));
  if (pin.expiresAt !== undefined) {
    let at: Date | undefined;
    check(['expiresAt'], () => (at = parseInstant(pin.expiresAt ?? '')));
    if (at && at.getTime() <= now.getTime()) throw badRequest(`expiresAt: ${pin.expiresAt} is in the past`);
  }
  return pin;
}

export const attachBodySchema = z.object({ ref: refText }).strict();
export const rollbackBodySchema = z.object({ app: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be a Juju application name').optional() }).strict();
export const gcBodySchema = z.object({ dryRun: z.boolean().optional() }).strict();

/** POST /attachments: a build reference; `stable`, `latest`, pins and as-of resolve at request time. */
export function parseAttach(body: unknown): { ref: string } {
  const { ref } = parseWith(attachBodySchema, body ?? {});
  buildRef(ref, 'ref');
  return { ref };
}

/** The series of a path `/{train}/{release}/{series}`, checked as the mirror names it. */
export function parseSeriesParams(params: { train: string; release: string; series: string }): string {
  const { train, release, series } = params;
  check(['train'], () => validateTrain(train));
  check(['release'], () => getRelease(release));
  check(['series'], () => validateSeries(series));
  return `${train}/${release}/${series}`;
}

/** DELETE /pins names the series (`train/release/series`) and the pin. */
export function parseUnpin(body: unknown): { ref: string; name: string } {
  const unpin = parseWith(unpinBodySchema, body ?? {});
  const parts = unpin.ref.split('/');
  if (parts.length !== 3) throw badRequest(`ref: expected <train>/<release>/<series>, got ${JSON.stringify(unpin.ref)}`);
  const [train = '', release = '', series = ''] = parts;
  check(['ref'], () => {
    validateTrain(train);
    validateRelease(release);
    getRelease(release);
    validateSeries(series);
  });
  check(['name'], () => validatePinName(unpin.name));
  return unpin;
}

const JOB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

export function parseJobId(id: string): string {
  if (!JOB_ID_RE.test(id)) throw badRequest(`invalid job id ${JSON.stringify(id.slice(0, 100))}: expected letters, digits, '.', '_', ':' or '-'`, 'invalid_path');
  return id;
}

/** Query strings: known keys only, each given once. */
function query(raw: Record<string, unknown>, known: readonly string[]): Record<string, string> {
  const unknown = Object.keys(raw).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw badRequest(`unknown query parameter${unknown.length > 1 ? 's' : ''}: ${unknown.map((k) => `'${k.slice(0, 50)}'`).join(', ')}; known: ${known.join(', ')}`, 'unknown_fields');
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') throw badRequest(`query parameter '${key}' must be given once`);
    out[key] = value;
  }
  return out;
}

function limitOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > 1000) throw badRequest(`limit must be a whole number from 1 to 1000, not ${JSON.stringify(text.slice(0, 20))}`);
  return Number(text);
}

export function parseJobsQuery(raw: Record<string, unknown>): { state?: JobState; train?: string; limit?: number } {
  const q = query(raw, ['state', 'train', 'limit']);
  const state = q['state'];
  if (state !== undefined && !(JOB_STATES as readonly string[]).includes(state)) throw badRequest(`state must be one of ${JOB_STATES.join(', ')}`);
  if (q['train'] !== undefined) check(['train'], () => validateTrain(q['train'] ?? ''));
  const limit = limitOf(q['limit']);
  return { ...(state ? { state: state as JobState } : {}), ...(q['train'] ? { train: q['train'] } : {}), ...(limit ? { limit } : {}) };
}

export function parseHistoryQuery(raw: Record<string, unknown>): { limit?: number; action?: string } {
  const q = query(raw, ['limit', 'action']);
  const action = q['action'];
  if (action !== undefined && !/^[a-z][a-z0-9._-]{0,63}$/.test(action)) throw badRequest('action must be a lower-case action name such as submit or promote');
  const limit = limitOf(q['limit']);
  return { ...(action ? { action } : {}), ...(limit ? { limit } : {}) };
}

/** A query string on an endpoint that takes none is a mistake worth telling. */
export function noQuery(raw: Record<string, unknown>): void {
  query(raw, []);
}
