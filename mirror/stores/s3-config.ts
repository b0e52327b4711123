// Options of the S3 mirror store, validated with zod (the minio client they configure is in
// s3-client.ts, so reading options never loads minio).
// Credentials come from the controller's configuration or the environment, never from
// command-line arguments, and nothing here ever puts them into a message: validation errors name
// the offending field, not its value.
import { z } from 'zod';

const MiB = 1024 * 1024;
export const MIN_PART_SIZE = 5 * MiB;
export const MAX_PART_SIZE = 5 * 1024 * MiB;
/** The largest object a single PUT may create (S3's limit). */
export const MAX_SINGLE_PUT = 5 * 1024 * MiB;

const endpointSchema = z
  .union([z.instanceof(URL).transform((u) => u.href), z.string()])
  .pipe(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }))
  .transform((s) => new URL(s))
  .refine((u) => u.username === '' && u.password === '', 'must not contain credentials; use accessKey/secretKey')
  .refine((u) => (u.pathname === '/' || u.pathname === '') && u.search === '' && u.hash === '', 'must be a bare origin (no path, query or fragment)');

// S3 bucket naming rules (the subset every implementation accepts).
const bucketSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be 3-63 characters of a-z, 0-9, "." and "-"')
  .refine((b) => !b.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(b), 'is not a valid bucket name');

/** '' or 'a/b/' (no leading slash, one trailing slash, no empty, "." or ".." segments). */
const prefixSchema = z
  .string()
  .transform((p) => p.replace(/^\/+|\/+$/g, ''))
  .refine((p) => p === '' || p.split('/').every((s) => s !== '' && s !== '.' && s !== '..'), 'must not contain empty, "." or ".." segments')
  .transform((p) => (p === '' ? '' : `${p}/`));

export const s3StoreOptionsSchema = z.object({
  /** Service origin, e.g. http://127.0.0.1:7480 or https://s3.example.com. */
  endpoint: endpointSchema,
  region: z.string().min(1).default('us-east-1'),
  bucket: bucketSchema,
  /** Key prefix inside the bucket; the store's keys are relative to it. */
  prefix: prefixSchema.default(''),
  /** Path-style addressing (http://host/bucket/key); virtual-host style needs DNS for the bucket. */
  pathStyle: z.boolean().default(true),
  accessKey: z.string().min(1),
  secretKey: z.string().min(1),
  /** PEM file with the CA that signed the endpoint's certificate (https only). */
  caFile: z.string().min(1).optional(),
  /** Skip TLS certificate verification (test setups only). */
  insecureTls: z.boolean().default(false),
  /** Retries after the first attempt, for network errors, timeouts, 5xx and SlowDown. */
  retries: z.number().int().min(0).max(20).default(4),
  /** First retry delay; doubles per retry up to retryMaxDelayMs, with jitter. */
  retryBaseDelayMs: z.number().int().min(0).default(200),
  retryMaxDelayMs: z.number().int().min(0).default(10_000),
  /** A request fails when the server stays silent this long (connect, send, or wait for a reply). */
  timeoutMs: z.number().int().positive().default(30_000),
  /** Files larger than this are uploaded in parts of this size (multipart). */
  partSize: z.number().int().min(MIN_PART_SIZE).max(MAX_PART_SIZE).default(16 * MiB),
  /** Keys per listing request (S3 caps it at 1000). */
  listPageSize: z.number().int().min(1).max(1000).default(1000),
  /** Keys per multi-object delete request (S3 caps it at 1000). */
  deleteBatchSize: z.number().int().min(1).max(1000).default(1000),
});

export type S3StoreOptionsInput = z.input<typeof s3StoreOptionsSchema>;
export type S3StoreOptions = z.output<typeof s3StoreOptionsSchema>;

export class S3ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'S3ConfigError';
  }
}

/** Validates options; the error lists each bad field and why, never the values themselves. */
export function parseS3StoreOptions(input: unknown): S3StoreOptions {
  const result = s3StoreOptionsSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`);
  throw new S3ConfigError(`invalid S3 store options: ${problems.join('; ')}`);
}

/** Environment variables read by s3StoreOptionsFromEnv, each with its standard fallback. */
export const S3_ENV = {
  endpoint: ['HELIOSTAT_S3_ENDPOINT', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
  region: ['HELIOSTAT_S3_REGION', 'AWS_REGION', 'AWS_DEFAULT_REGION'],
  bucket: ['HELIOSTAT_S3_BUCKET'],
  prefix: ['HELIOSTAT_S3_PREFIX'],
  accessKey: ['HELIOSTAT_S3_ACCESS_KEY', 'AWS_ACCESS_KEY_ID'],
  secretKey: ['HELIOSTAT_S3_SECRET_KEY', 'AWS_SECRET_ACCESS_KEY'],
  caFile: ['HELIOSTAT_S3_CA_FILE', 'AWS_CA_BUNDLE'],
} as const;

/**
 * Options from the environment, overlaid by `overrides` (e.g. values from a config file). Fields
 * whose variables are unset stay absent, so validation reports them as missing.
 */
export function s3StoreOptionsFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<S3StoreOptionsInput> = {}): S3StoreOptions {
  const fromEnv: Record<string, unknown> = {};
  for (const [field, names] of Object.entries(S3_ENV)) {
    const value = names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
    if (value !== undefined) fromEnv[field] = value;
  }
  const pathStyle = env.HELIOSTAT_S3_PATH_STYLE;
  if (pathStyle !== undefined && pathStyle !== '') fromEnv.pathStyle = !['0', 'false', 'no'].includes(pathStyle.toLowerCase());
  return parseS3StoreOptions({ ...fromEnv, ...overrides });
}
