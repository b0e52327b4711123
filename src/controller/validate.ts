// Validation of build requests before anything is queued: the wire schema first, then every domain
// rule (release, series, PPA, package, rock and train names), all or nothing. A request naming a
// configured train takes that train's settings for whatever it leaves out, so `{release, train}`
// builds the train as configured. Every error names the request and the field.
import { validateRockName, validateTrain } from '../../mirror/layout.js';
import { getRelease, resolveTarget, type Release } from '../catalog/releases.js';
import { parsePpaFlag } from '../cli/flags.js';
import { UsageError } from '../errors.js';
import { validatePackageName, validateSuffix } from '../rocks/patches.js';
import { isPatched, reservedTrainProblem, type TrainSpec } from './trains.js';
import { buildRequestSchema, type BuildRequestInput, type Job } from './types.js';

export type ValidRequest = Job['request'];

class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

function field<T>(name: string, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof FieldError) throw error;
    throw new FieldError(name, error instanceof Error ? error.message : String(error));
  }
}

/** Validates every request; throws one UsageError listing every problem, or returns them all normalised. */
export function validateRequests(requests: readonly unknown[], trains: readonly TrainSpec[]): ValidRequest[] {
  if (!Array.isArray(requests) || requests.length === 0) throw new UsageError('expected a non-empty list of build requests');
  if (requests.length > 50) throw new UsageError(`at most 50 build requests at once, not ${requests.length}`);
  const problems: string[] = [];
  const valid: ValidRequest[] = [];
  requests.forEach((raw, i) => {
    const label = requests.length === 1 ? 'request' : `request ${i + 1}`;
    const parsed = buildRequestSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) problems.push(`${label}: ${issue.path.join('.') || '(request)'}: ${issue.message}`);
      return;
    }
    try {
      valid.push(normalise(parsed.data, trains));
    } catch (error) {
      if (error instanceof FieldError) problems.push(`${label}: ${error.field}: ${error.message}`);
      else throw error;
    }
  });
  if (problems.length > 0) throw new UsageError(`invalid build request: ${problems.join('; ')}`);
  return valid;
}

function normalise(input: BuildRequestInput, trains: readonly TrainSpec[]): ValidRequest {
  const release: Release = field('release', () => getRelease(input.release));
  if (input.train !== undefined) field('train', () => validateTrain(input.train ?? ''));
  const configured = input.train === undefined ? undefined : findTrain(trains, input.train, release.number, input.series);
  const r: BuildRequestInput = {
    ...(configured ? fromTrain(configured) : {}),
    ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
  } as BuildRequestInput;

  const ppas = (r.ppas ?? []).map((p, j) => field(`ppas.${j}`, () => formatPpa(p)));
  const packages = (r.packages ?? []).map((p, j) => field(`packages.${j}`, () => validatePackageName(p)));
  const components = (r.components ?? []).map((c, j) => field(`components.${j}`, () => validatePackageName(c)));
  const rocks = (r.rocks ?? []).map((name, j) => field(`rocks.${j}`, () => validateRockName(name)));
  const suffix = r.suffix === undefined ? undefined : field('suffix', () => validateSuffix(r.suffix ?? ''));
  const pocket = r.pocket ?? 'updates';
  const patched = isPatched({ ppas, packages, ...(suffix !== undefined ? { suffix } : {}) });
  const train = r.train ?? defaultTrain(patched, pocket);
  const reserved = reservedTrainProblem({ name: train, pocket, ppas, packages, ...(suffix !== undefined ? { suffix } : {}) });
  if (reserved) throw new FieldError('train', reserved);
  const target = field('series', () => resolveTarget(release.number, r.series));
  if (r.callback !== undefined) field('callback', () => checkCallback(r.callback ?? ''));
  return {
    release: release.number,
    series: target.series.name,
    train,
    ...(components.length > 0 ? { components } : {}),
    ...(rocks.length > 0 ? { rocks } : {}),
    ...(ppas.length > 0 ? { ppas } : {}),
    ...(packages.length > 0 ? { packages } : {}),
    pocket,
    ...(suffix !== undefined ? { suffix } : {}),
    ...(r.force !== undefined ? { force: r.force } : {}),
    ...(r.attach !== undefined ? { attach: r.attach } : {}),
    ...(r.callback !== undefined ? { callback: r.callback } : {}),
  };
}

function defaultTrain(patched: boolean, pocket: string): string {
  if (patched) throw new FieldError('train', 'a request with ppas, packages or suffix needs a train name (the patch set it belongs to)');
  return pocket === 'proposed' ? 'proposed' : 'reference';
}

/** The configured train a request names: same name and release, and the series when given. */
export function findTrain(trains: readonly TrainSpec[], name: string, release: string, series?: string): TrainSpec | undefined {
  const matches = trains.filter((t) => t.name === name && t.release === release);
  if (series !== undefined) return matches.find((t) => t.series === series.trim().toLowerCase());
  return matches[0];
}

/** A configured train's build settings, as the request fields they stand for. */
export function fromTrain(t: TrainSpec): BuildRequestInput {
  return {
    release: t.release,
    series: t.series,
    train: t.name,
    ...(t.components.length > 0 ? { components: t.components } : {}),
    ...(t.rocks.length > 0 ? { rocks: t.rocks } : {}),
    ...(t.ppas.length > 0 ? { ppas: t.ppas } : {}),
    ...(t.packages.length > 0 ? { packages: t.packages } : {}),
    pocket: t.pocket,
    ...(t.suffix !== undefined ? { suffix: t.suffix } : {}),
  };
}

/** `ppa:owner/name[:priority]`, validated and in canonical form. */
function formatPpa(value: string): string {
  const ppa = parsePpaFlag(value);
  return `ppa:${ppa.owner}/${ppa.name}${ppa.priority !== undefined ? `:${ppa.priority}` : ''}`;
}

/** Callbacks receive a signed POST: https only, except to this machine (tests, local relays). */
function checkCallback(value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('not a URL');
  }
  if (url.username !== '' || url.password !== '') throw new Error('must not carry credentials');
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) throw new Error('must be an https URL');
}
