// build.json: the commit record of one build. Writing it is the commit point of a publish, and
// every reader (query, HTTP mirror, retention, GC) trusts nothing else about a build, so the schema
// is strict about everything a consumer or a key depends on and says exactly which field is wrong.
import { z } from 'zod';
import {
  buildIdToDate,
  buildIdFromDate,
  isBuildId,
  validateBuildId,
  validateOutputPath,
  validateRelease,
  validateRockName,
  validateSeries,
  validateTrain,
  type TrainSeries,
} from './layout.js';

/** Wraps a layout validator (which throws) as a zod string check, keeping its message. */
function checked(validate: (value: string) => string) {
  return z.string().superRefine((value, ctx) => {
    try {
      validate(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    }
  });
}

// Single-line text: these values are rendered into line-oriented files (CONTEXT, BUILD_RESULT).
// eslint-disable-next-line no-control-regex
const line = z.string().min(1).max(2048).regex(/^[^\u0000-\u001f\u007f]*$/, 'must be a single line without control characters');
const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'expected sha256:<64 lower-case hex>');
const timestamp = z.iso.datetime({ offset: true });
const arch = z.string().regex(/^[a-z0-9]{1,16}$/, 'expected an architecture such as amd64');
const buildId = checked(validateBuildId);

export const fileEntrySchema = z.object({
  digest,
  size: z.number().int().nonnegative(),
});

export const buildContextSchema = z.object({
  upstream: z.object({
    /** The rocks repository the rockcraft.yaml files came from. */
    repo: z.url(),
    commit: z.string().regex(/^[0-9a-f]{7,64}$/, 'expected a hex commit id'),
  }),
  branch: line,
  /** The operator's patch set, in the order applied; digest = sha256 of the patch file. */
  patches: z.array(z.object({ name: line, digest })).default([]),
  ppas: z.array(line).default([]),
  /** Archive pocket the packages came from: `updates`, `proposed`, … */
  pocket: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'expected a pocket name such as updates'),
  /** Resolved versions of every binary package the rocks install. */
  packages: z.record(
    z.string().regex(/^[a-z0-9][a-z0-9+.-]{0,99}$/, 'expected a Debian package name'),
    z.string().regex(/^[A-Za-z0-9.+~:-]{1,100}$/, 'expected a Debian version'),
  ),
  builderVersion: line,
  arch,
  /** The build key of the build as a whole, when the planner computes one. */
  buildKey: digest.optional(),
});

export const rockOutcomes = ['built', 'reused', 'failed', 'skipped'] as const;

export const rockEntrySchema = z.object({
  name: checked(validateRockName),
  /** The image name the rock publishes as (rockcraft `name:`, which can differ from the folder). */
  imageName: checked(validateRockName),
  version: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9.+~_-]{0,127}$/, 'expected a rock version such as 2024.1'),
  arch,
  outcome: z.enum(rockOutcomes),
  /** Short machine-readable cause of a failure (`timeout`, `apt`, `rockcraft`, …). */
  failureClass: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'expected a lower-case failure class').optional(),
  buildKey: digest,
  /** For `reused`: the build whose artifact is reused unchanged. */
  reusedFrom: buildId.optional(),
  image: z.object({ ref: line, digest }).optional(),
  /** Resolved versions of the packages this rock installs (what a package diff compares). */
  packages: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9+.-]{0,99}$/, 'expected a Debian package name'),
      z.string().regex(/^[A-Za-z0-9.+~:-]{1,100}$/, 'expected a Debian version'),
    )
    .optional(),
});

export const buildRecordSchema = z
  .object({
    schema: z.literal(1),
    train: checked(validateTrain),
    release: checked(validateRelease),
    series: checked(validateSeries),
    buildId,
    result: z.enum(['success', 'fail']),
    startedAt: timestamp,
    finishedAt: timestamp,
    context: buildContextSchema,
    rocks: z.array(rockEntrySchema),
    /** Every file of the consumer view: outputs path → blob. */
    files: z.record(checked(validateOutputPath), fileEntrySchema),
  })
  .superRefine((rec, ctx) => {
    const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    // The build id is the UTC start second, so it sorts builds by time and as-of can trust it.
    if (isBuildId(rec.buildId) && buildIdFromDate(new Date(rec.startedAt)) !== rec.buildId) {
      issue(['buildId'], `must be startedAt in YYYYMMDDTHHMMSSZ form (${buildIdFromDate(new Date(rec.startedAt))})`);
    }
    if (Date.parse(rec.finishedAt) < Date.parse(rec.startedAt)) issue(['finishedAt'], 'is before startedAt');
    const seen = new Set<string>();
    rec.rocks.forEach((rock, i) => {
      const id = `${rock.name}/${rock.arch}`;
      if (seen.has(id)) issue(['rocks', i, 'name'], `duplicate rock ${id}`);
      seen.add(id);
      if (rock.outcome === 'reused' && !rock.reusedFrom) issue(['rocks', i, 'reusedFrom'], 'required when outcome is reused');
      if (rock.outcome !== 'reused' && rock.reusedFrom) issue(['rocks', i, 'reusedFrom'], 'only allowed when outcome is reused');
      if (rock.reusedFrom && isBuildId(rock.reusedFrom) && rock.reusedFrom >= rec.buildId) {
        issue(['rocks', i, 'reusedFrom'], 'must name an earlier build');
      }
      if (rock.failureClass && rock.outcome !== 'failed') issue(['rocks', i, 'failureClass'], 'only allowed when outcome is failed');
      if (rec.result === 'success' && rock.outcome === 'failed') {
        issue(['rocks', i, 'outcome'], 'a successful build cannot contain a failed rock');
      }
    });
  });

export type BuildRecord = z.infer<typeof buildRecordSchema>;
export type BuildContext = z.infer<typeof buildContextSchema>;
export type RockEntry = z.infer<typeof rockEntrySchema>;
export type FileEntry = z.infer<typeof fileEntrySchema>;
export type RockOutcome = (typeof rockOutcomes)[number];

/** A stored mirror object (build.json, index.json, pins.json) that does not parse; names the key and each bad field. */
export class CorruptObjectError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
    what = 'object',
  ) {
    super(`invalid ${what} at ${source}: ${problems.join('; ')}`);
    this.name = 'CorruptObjectError';
  }
}

export class BuildRecordError extends CorruptObjectError {
  constructor(source: string, problems: string[]) {
    super(source, problems, 'build.json');
    this.name = 'BuildRecordError';
  }
}

/** Decodes JSON bytes, reporting a syntax error as a CorruptObjectError for `source`. */
export function decodeJson(bytes: Buffer | string, source: string, what?: string): unknown {
  try {
    return JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (err) {
    throw new CorruptObjectError(source, [`not JSON (${err instanceof Error ? err.message : String(err)})`], what);
  }
}

/** Renders a zod path the way a person would point at the field: `rocks[1].image.digest`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && /^[A-Za-z_$][\w$]*$/.test(part)) out += out ? `.${part}` : part;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out || '(root)';
}

export function describeZodError(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const nested = 'issues' in issue && Array.isArray(issue.issues) ? (issue.issues as { message: string }[]) : [];
    const detail = nested.length > 0 ? nested.map((n) => n.message).join(', ') : issue.message;
    return `${formatIssuePath(issue.path)}: ${detail}`;
  });
}

/** Validates an already-decoded value (e.g. a record a builder assembled before publishing). */
export function validateBuildRecord(value: unknown, source = 'build.json'): BuildRecord {
  const parsed = buildRecordSchema.safeParse(value);
  if (!parsed.success) throw new BuildRecordError(source, describeZodError(parsed.error));
  return parsed.data;
}

/** Parses the bytes of a stored build.json; `source` (usually its key) names it in errors. */
export function parseBuildRecord(bytes: Buffer | string, source: string): BuildRecord {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : bytes.toString('utf8'));
  } catch (err) {
    throw new BuildRecordError(source, [`not JSON (${err instanceof Error ? err.message : String(err)})`]);
  }
  return validateBuildRecord(value, source);
}

/** Deterministic bytes: files sorted by path, two-space indent, trailing newline. */
export function serialiseBuildRecord(record: BuildRecord): string {
  const files = Object.fromEntries(Object.entries(record.files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return `${JSON.stringify({ ...record, files }, null, 2)}\n`;
}

export function recordTrainSeries(record: BuildRecord): TrainSeries {
  return { train: record.train, release: record.release, series: record.series };
}

export function recordSize(record: BuildRecord): number {
  return Object.values(record.files).reduce((sum, f) => sum + f.size, 0);
}

export function recordStartedAt(record: BuildRecord): Date {
  return buildIdToDate(record.buildId);
}
