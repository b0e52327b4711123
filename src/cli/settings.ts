// Global settings of every command: flags win over the config file, which wins over defaults.
// The config file is YAML with the same names as the flags (kebab-case), validated with zod.
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { UsageError } from '../errors.js';

export const DEFAULT_ROCKS_REPO = 'https://github.com/canonical/ubuntu-openstack-rocks.git';
export const DEFAULT_UBUNTU_ARCHIVE = 'http://archive.ubuntu.com/ubuntu';
export const DEFAULT_CLOUD_ARCHIVE = 'https://ubuntu-cloud.archive.canonical.com/ubuntu';
export const DEFAULT_PPA_ARCHIVE = 'https://ppa.launchpadcontent.net';

const httpUrl = z
  .string()
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL without credentials');

export const configFileSchema = z
  .object({
    'rocks-repo': z.string().min(1).optional(),
    'cache-dir': z.string().min(1).optional(),
    offline: z.boolean().optional(),
    'ubuntu-archive': httpUrl.optional(),
    'cloud-archive': httpUrl.optional(),
    'ppa-archive': httpUrl.optional(),
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
}

export interface Settings {
  rocksRepo: string;
  cacheDir: string;
  offline: boolean;
  verbose: boolean;
  archives: { ubuntu: string; cloud: string; ppa: string };
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

export async function resolveSettings(flags: GlobalFlags, env: NodeJS.ProcessEnv, cwd: string): Promise<Settings> {
  const file = flags.config ? await loadConfigFile(resolve(cwd, flags.config)) : {};
  const cacheDir = flags.cacheDir ?? file['cache-dir'];
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
  };
}
