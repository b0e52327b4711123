// Global settings of every command: flags win over the config file, which wins over defaults.
// The config file is YAML with the same names as the flags (kebab-case), validated with zod.
// S3 credentials are the one exception to "same as the flags": there is no flag for them, because
// a command line is visible to every user of the machine; they come from the config file or the
// environment only.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { S3_ENV } from '../../mirror/stores/s3-config.js';
import { UsageError } from '../errors.js';
import { httpUrlSchema } from '../schemas.js';

export const DEFAULT_ROCKS_REPO = 'https://github.com/canonical/ubuntu-openstack-rocks.git';
export const DEFAULT_UBUNTU_ARCHIVE = 'http://archive.ubuntu.com/ubuntu';
export const DEFAULT_CLOUD_ARCHIVE = 'https://ubuntu-cloud.archive.canonical.com/ubuntu';
export const DEFAULT_PPA_ARCHIVE = 'https://ppa.launchpadcontent.net';

const httpUrl = httpUrlSchema;

export const configFileSchema = z
  .object({
    'rocks-repo': z.string().min(1).optional(),
    'cache-dir': z.string().min(1).optional(),
    offline: z.boolean().optional(),
    'ubuntu-archive': httpUrl.optional(),
    'cloud-archive': httpUrl.optional(),
    'ppa-archive': httpUrl.optional(),
    'data-dir': z.string().min(1).optional(),
    /** `fs:PATH` or `s3://BUCKET/PREFIX`; checked when the mirror is opened. */
    mirror: z.string().min(1).optional(),
    's3-endpoint': httpUrl.optional(),
    's3-region': z.string().min(1).optional(),
    's3-ca-file': z.string().min(1).optional(),
    's3-insecure': z.boolean().optional(),
    's3-path-style': z.boolean().optional(),
    's3-access-key': z.string().min(1).optional(),
    's3-secret-key': z.string().min(1).optional(),
  })
  .strict();

export type ConfigFile = z.infer<typeof configFileSchema>;

export interface GlobalFlags {
  rocksRepo?: string;
  cacheDir?: string;
  offline?: boolean;
  config?: string;
  ubuntuArchive?: string;
  cloudArchive?: string;
  ppaArchive?: string;
  verbose?: boolean;
  dataDir?: string;
  mirror?: string;
  s3Endpoint?: string;
  s3Region?: string;
  s3CaFile?: string;
  s3Insecure?: boolean;
  s3PathStyle?: boolean;
}

/**
 * How to reach an S3 mirror, resolved once: flags, then the config file, then the environment
 * (HELIOSTAT_S3_* and the standard AWS_* variables). Credentials never come from flags (see above).
 */
export interface S3Settings {
  endpoint?: string;
  region?: string;
  caFile?: string;
  insecure?: boolean;
  pathStyle?: boolean;
  accessKey?: string;
  secretKey?: string;
  /** A request silent this long fails (and is retried). */
  timeoutMs?: number;
  /** Attempts after the first for a failed operation. */
  retries?: number;
}

export interface Settings {
  rocksRepo: string;
  cacheDir: string;
  offline: boolean;
  verbose: boolean;
  archives: { ubuntu: string; cloud: string; ppa: string };
  /** Where heliostat keeps its data, the default mirror included. */
  dataDir: string;
  /** The mirror store spec: `fs:PATH` or `s3://BUCKET/PREFIX`. */
  mirror: string;
  s3: S3Settings;
}

export async function loadConfigFile(path: string): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`cannot read config file ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let data: unknown;
  try {
    data = parse(text) ?? {};
  } catch (error) {
    throw new UsageError(`config file ${path} is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const parsed = configFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`config file ${path}: ${issue?.path.join('.') || 'top level'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

function checkUrl(flag: string, value: string): string {
  const result = httpUrl.safeParse(value);
  if (!result.success) throw new UsageError(`--${flag} '${value}' ${result.error.issues[0]?.message ?? 'is invalid'}`);
  return value.replace(/\/+$/, '');
}

/** Where caches live: $XDG_CACHE_HOME/heliostat, else ~/.cache/heliostat. */
export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'heliostat');
}

/** Where data lives: $XDG_DATA_HOME/heliostat, else ~/.local/share/heliostat. */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  const xdg = env['XDG_DATA_HOME'];
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'share'), 'heliostat');
}

/** Only the values that are set, so spreading the result never overrides with undefined. */
function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function fromEnv(env: NodeJS.ProcessEnv, names: readonly string[]): string | undefined {
  return names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
}

function s3Settings(flags: GlobalFlags, file: ConfigFile, env: NodeJS.ProcessEnv, cwd: string): S3Settings {
  const endpoint = flags.s3Endpoint ?? file['s3-endpoint'] ?? fromEnv(env, S3_ENV.endpoint);
  const caFile = flags.s3CaFile ?? file['s3-ca-file'] ?? fromEnv(env, S3_ENV.caFile);
  const pathStyleEnv = fromEnv(env, ['HELIOSTAT_S3_PATH_STYLE']);
  // A key pair comes from one place: a config file key with an environment secret is a mistake.
  const fileKeys = file['s3-access-key'] !== undefined || file['s3-secret-key'] !== undefined;
  return defined({
    // Checked when an S3 mirror is opened, so a stray variable cannot break commands that use none.
    endpoint,
    region: flags.s3Region ?? file['s3-region'] ?? fromEnv(env, S3_ENV.region),
    caFile: caFile === undefined ? undefined : resolve(cwd, caFile),
    insecure: flags.s3Insecure ?? file['s3-insecure'],
    pathStyle: flags.s3PathStyle ?? file['s3-path-style'] ?? (pathStyleEnv === undefined ? undefined : !['0', 'false', 'no'].includes(pathStyleEnv.toLowerCase())),
    accessKey: fileKeys ? file['s3-access-key'] : fromEnv(env, S3_ENV.accessKey),
    secretKey: fileKeys ? file['s3-secret-key'] : fromEnv(env, S3_ENV.secretKey),
  });
}

/** `fs:` specs with a relative path are taken from the working directory. */
function absoluteSpec(spec: string, cwd: string): string {
  return spec.startsWith('fs:') && spec.length > 3 ? `fs:${resolve(cwd, spec.slice(3))}` : spec;
}

export async function resolveSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv, cwd: string): Promise<Settings> {
  const file = flags.config ? await loadConfigFile(resolve(cwd, flags.config)) : {};
  const cacheDir = flags.cacheDir ?? file['cache-dir'];
  const dataDirSetting = flags.dataDir ?? file['data-dir'];
  const dataDir = dataDirSetting ? resolve(cwd, dataDirSetting) : defaultDataDir(env);
  return {
    rocksRepo: flags.rocksRepo ?? file['rocks-repo'] ?? DEFAULT_ROCKS_REPO,
    cacheDir: cacheDir ? resolve(cwd, cacheDir) : defaultCacheDir(env),
    offline: flags.offline ?? file.offline ?? false,
    verbose: flags.verbose ?? false,
    archives: {
      ubuntu: checkUrl('ubuntu-archive', flags.ubuntuArchive ?? file['ubuntu-archive'] ?? DEFAULT_UBUNTU_ARCHIVE),
      cloud: checkUrl('cloud-archive', flags.cloudArchive ?? file['cloud-archive'] ?? DEFAULT_CLOUD_ARCHIVE),
      ppa: checkUrl('ppa-archive', flags.ppaArchive ?? file['ppa-archive'] ?? DEFAULT_PPA_ARCHIVE),
    },
    dataDir,
    mirror: absoluteSpec(flags.mirror ?? file.mirror ?? `fs:${join(dataDir, 'mirror')}`, cwd),
    s3: s3Settings(flags, file, env, cwd),
  };
}
