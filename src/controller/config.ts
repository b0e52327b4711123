// Loads the controller configuration: YAML → zod → a resolved config with absolute paths, secrets
// read from their files, the trains expanded and the registry target parsed. Every failure is a
// ConfigError that names the file and the fields, never a value, so it can be logged and shown in
// /status as is. Secret values are collected in `secrets` so any text can be scrubbed of them.
import type { NotificationsConfig } from './notify/start.js';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import type { z } from 'zod';
import { S3_ENV } from '../../mirror/stores/s3-config.js';
import type { ArchiveUrls } from '../archive/apt-sources.js';
import { DEFAULT_CLOUD_ARCHIVE, DEFAULT_PPA_ARCHIVE, DEFAULT_ROCKS_REPO, DEFAULT_UBUNTU_ARCHIVE, defaultDataDir, type S3Settings } from '../cli/settings.js';
import { parseRegistryTarget, type RegistryTarget } from '../registry/config.js';
import { controllerConfigSchema, type KubernetesBuilderConfigInput, type ParsedControllerConfig, type RetentionConfig } from './config-schema.js';
import { expandTrains, trainKey, type TrainSpec } from './trains.js';
import type { HttpOptions, MirrorReadAuth, NamedToken } from './types.js';

export class ConfigError extends Error {
  /** A bad configuration is the operator's input (the CLI exits 2). */
  readonly usage = true;
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ControllerConfig {
  /** The file it came from (absent for the built-in defaults). */
  source?: string;
  leader: boolean;
  listen: { host: string; port: number };
  dataDir: string;
  cacheDir: string;
  logLevel: ParsedControllerConfig['logLevel'];
  upstream: { url: string; offline: boolean };
  archives: ArchiveUrls;
  builder: { rockcraft: string; packArgs: string[]; timeoutMs: number };
  concurrency: { builds: number; rocksPerBuild: number };
  /** The store spec (`fs:PATH`, `s3://BUCKET/PREFIX`) and how to reach S3. */
  mirror: { spec: string; s3: S3Settings };
  registry?: RegistryTarget;
  juju: { executable: string; model: string; controller?: string; dataDir?: string; timeoutMs: number };
  kubeconfig: string;
  namespace: string;
  /** The Kubernetes Job builder's settings (kubeconfig resolved), when configured. */
  kubernetesBuilder?: KubernetesBuilderConfig;
  /** Train keys (`train/release/series`) built by the Kubernetes builder; the others build locally. */
  kubernetesTrains?: string[];
  reconcile: { intervalMs: number; rolloutTimeoutMs: number };
  retention?: RetentionConfig;
  http: HttpOptions;
  drainGraceMs: number;
  trains: TrainSpec[];
  notifications: NotificationsConfig;
  /** Every secret value of the configuration, longest first: scrubbed from any text shown. */
  secrets: string[];
}

export type KubernetesBuilderConfig = Omit<KubernetesBuilderConfigInput, 'image' | 'kubeconfig' | 'stagingPrefix'> & {
  image: string;
  kubeconfig: string;
  /** Ends with '/'. */
  stagingPrefix: string;
};

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** Where relative paths start when there is no file (default the working directory). */
  cwd?: string;
}

/** Human-readable zod issues: `path: message; …`, values never included. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`).join('; ');
}

/** Reads and validates a config file; without a path, the defaults. */
export async function loadControllerConfig(path: string | undefined, options: LoadOptions = {}): Promise<ControllerConfig> {
  const cwd = options.cwd ?? process.cwd();
  if (path === undefined) return resolveControllerConfig({}, { ...options, baseDir: cwd });
  const file = resolve(cwd, path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  let data: unknown;
  try {
    data = parse(text) ?? {};
  } catch (error) {
    // The YAML parser quotes the offending line, which may hold a secret: only its position is kept.
    const at = /at line (\d+), column (\d+)/.exec(error instanceof Error ? error.message : '');
    throw new ConfigError(`config file ${file} is not valid YAML${at ? ` (line ${at[1]}, column ${at[2]})` : ''}`);
  }
  return resolveControllerConfig(data, { ...options, baseDir: dirname(file), source: file });
}

/** Validates a parsed document and resolves it (paths from `baseDir`, secret files read). */
export async function resolveControllerConfig(data: unknown, options: LoadOptions & { baseDir: string; source?: string }): Promise<ControllerConfig> {
  const where = options.source ? `config file ${options.source}` : 'configuration';
  const parsed = controllerConfigSchema.safeParse(data);
  if (!parsed.success) throw new ConfigError(`${where}: ${describeIssues(parsed.error)}`);
  const c = parsed.data;
  const env = options.env ?? process.env;
  const at = (p: string) => resolve(options.baseDir, p);
  const secrets = new Set<string>();
  const secret = async (field: string, inline: string | undefined, file: string | undefined): Promise<string | undefined> => {
    let value = inline;
    if (file !== undefined) {
      try {
        value = (await readFile(at(file), 'utf8')).trim();
      } catch (error) {
        throw new ConfigError(`${where}: ${field}File: cannot read ${at(file)}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      if (value === '') throw new ConfigError(`${where}: ${field}File: ${at(file)} is empty`);
    }
    if (value !== undefined) secrets.add(value);
    return value;
  };

  const writeTokens: NamedToken[] = [];
  for (const [i, t] of c.tokens.entries()) writeTokens.push({ name: t.name, token: (await secret(`tokens.${i}.token`, t.token, t.tokenFile)) ?? '' });
  const mirrorRead: MirrorReadAuth = { public: c.mirror.public, clients: [] };
  for (const [i, client] of c.mirror.clients.entries()) {
    const token = await secret(`mirror.clients.${i}.token`, client.token, client.tokenFile);
    mirrorRead.clients.push({ name: client.name, ...(token !== undefined ? { token } : {}), ...(client.passwordHash ? { passwordHash: client.passwordHash } : {}) });
  }
  const signingSecret = await secret('signingSecret', c.signingSecret, c.signingSecretFile);
  const fromEnv = (names: readonly string[]) => names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  const s3 = c.mirror.s3;
  const accessKey = (await secret('mirror.s3.accessKey', s3.accessKey, s3.accessKeyFile)) ?? fromEnv(S3_ENV.accessKey);
  const secretKey = (await secret('mirror.s3.secretKey', s3.secretKey, s3.secretKeyFile)) ?? fromEnv(S3_ENV.secretKey);
  for (const key of [accessKey, secretKey]) if (key !== undefined) secrets.add(key);
  const registry = c.registry ? registryTarget(c.registry, await secret('registry.password', c.registry.password, c.registry.passwordFile), at, where) : undefined;
  if (registry?.credentials) for (const s of registry.credentials.secrets()) secrets.add(s);

  // A repository URL may carry a token (https://user:token@host/...): the token is a secret too.
  for (const form of urlPassword(c.upstream.url)) secrets.add(form);
  const dataDir = c.dataDir ? at(c.dataDir) : defaultDataDir(env);
  const kubeconfig = c.kubeconfig ? at(c.kubeconfig) : resolve(env['KUBECONFIG']?.split(':')[0] || join(homedir(), '.kube', 'config'));
  // The train keys of the kubernetes-built trains: the same expansion, over those trains only.
  const kubernetesTrains = expandTrains({
    reference: c.reference.builder === 'kubernetes' ? c.reference : { ...c.reference, releases: [] },
    trains: c.trains.filter((t) => t.builder === 'kubernetes'),
  }).trains.map(trainKey);
  const kb = c.kubernetesBuilder;
  const [host = '127.0.0.1', port = '8080'] = splitListen(c.listen);
  return {
    ...(options.source ? { source: options.source } : {}),
    leader: c.leader,
    listen: { host, port: Number(port) },
    dataDir,
    cacheDir: c.cacheDir ? at(c.cacheDir) : join(dataDir, 'cache'),
    logLevel: c.logLevel,
    upstream: { url: c.upstream.url ?? DEFAULT_ROCKS_REPO, offline: c.upstream.offline },
    archives: {
      ubuntu: trimUrl(c.archives.ubuntu ?? DEFAULT_UBUNTU_ARCHIVE),
      cloud: trimUrl(c.archives.cloud ?? DEFAULT_CLOUD_ARCHIVE),
      ppa: trimUrl(c.archives.ppa ?? DEFAULT_PPA_ARCHIVE),
    },
    builder: { rockcraft: c.builder.rockcraft, packArgs: c.builder.packArgs, timeoutMs: c.builder.timeoutSeconds * 1000 },
    concurrency: c.concurrency,
    mirror: {
      spec: c.mirror.store ? (c.mirror.store.startsWith('fs:') ? `fs:${at(c.mirror.store.slice(3))}` : c.mirror.store) : `fs:${join(dataDir, 'mirror')}`,
      s3: defined({
        endpoint: s3.endpoint ?? fromEnv(S3_ENV.endpoint),
        region: s3.region ?? fromEnv(S3_ENV.region),
        caFile: s3.caFile ? at(s3.caFile) : fromEnv(S3_ENV.caFile),
        insecure: s3.insecure,
        pathStyle: s3.pathStyle,
        accessKey,
        secretKey,
        timeoutMs: s3.timeoutSeconds === undefined ? undefined : s3.timeoutSeconds * 1000,
        retries: s3.retries,
      }),
    },
    ...(registry ? { registry } : {}),
    juju: { executable: c.juju.executable, model: c.juju.model, timeoutMs: c.juju.timeoutSeconds * 1000, ...(c.juju.controller ? { controller: c.juju.controller } : {}), ...(c.juju.dataDir ? { dataDir: at(c.juju.dataDir) } : {}) },
    kubeconfig,
    namespace: c.namespace ?? c.juju.model,
    ...(kb?.image !== undefined ? { kubernetesBuilder: { ...kb, image: kb.image, kubeconfig: kb.kubeconfig ? at(kb.kubeconfig) : kubeconfig, stagingPrefix: `${kb.stagingPrefix.replace(/\/+$/, '')}/` } } : {}),
    ...(kubernetesTrains.length > 0 ? { kubernetesTrains } : {}),
    reconcile: { intervalMs: c.reconcile.intervalSeconds * 1000, rolloutTimeoutMs: c.reconcile.rolloutTimeoutSeconds * 1000 },
    ...(c.retention ? { retention: c.retention } : {}),
    http: { writeTokens, mirrorRead, bodyLimitBytes: c.bodyLimitBytes, ...(signingSecret !== undefined ? { signingSecret } : {}) },
    drainGraceMs: c.drainGraceSeconds * 1000,
    trains: expandTrains(c).trains,
    notifications: c.notifications,
    secrets: [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length),
  };
}

function registryTarget(
  r: NonNullable<ParsedControllerConfig['registry']>,
  password: string | undefined,
  at: (p: string) => string,
  where: string,
): RegistryTarget {
  try {
    return parseRegistryTarget({
      host: r.host,
      namespace: r.namespace,
      tlsVerify: r.tlsVerify,
      ...(r.certDir ? { certDir: at(r.certDir) } : {}),
      ...(r.username !== undefined && password !== undefined ? { username: r.username, password } : {}),
      retries: r.retries,
      timeoutMs: r.timeoutSeconds * 1000,
    });
  } catch (error) {
    throw new ConfigError(`${where}: registry: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** The password of a URL, as written and decoded (either may show up in a message). */
function urlPassword(url: string | undefined): string[] {
  try {
    const raw = url ? new URL(url).password : '';
    return raw ? [...new Set([raw, decodeURIComponent(raw)])] : [];
  } catch {
    return [];
  }
}

function splitListen(listen: string): [string, string] {
  const colon = listen.lastIndexOf(':');
  const host = listen.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return [host, listen.slice(colon + 1)];
}

function trimUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

function defined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Replaces every secret of the configuration found in `text`. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
  return out;
}

/** What may be logged about a configuration: no secret, no token name list. */
export function describeConfig(config: ControllerConfig): Record<string, unknown> {
  return {
    source: config.source ?? '(defaults)',
    leader: config.leader,
    listen: `${config.listen.host}:${config.listen.port}`,
    dataDir: config.dataDir,
    mirror: config.mirror.spec,
    registry: config.registry ? `${config.registry.host}/${config.registry.namespace}` : null,
    trains: config.trains.map((t) => `${t.name}/${t.release}/${t.series}${t.schedule ? ` @ ${t.schedule}` : ''}${t.attach ? ' (attach)' : ''}`),
    tokens: config.http.writeTokens.length,
  };
}
