// Opens the mirror store a command names: `fs:PATH` (the embedded filesystem store) or
// `s3://BUCKET/PREFIX` with the S3 settings resolved in settings.ts (flags, config file,
// environment). Credentials come from the config file or the environment only; messages about
// them say where to set them, never a value.
import { mkdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { FsStore } from '../../mirror/stores/fs.js';
import { S3ConfigError, S3_ENV, parseS3StoreOptions, type S3StoreOptions, type S3StoreOptionsInput } from '../../mirror/stores/s3-config.js';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { UsageError } from '../errors.js';
import type { Settings } from './settings.js';

export type StoreSpec = { kind: 'fs'; root: string } | { kind: 's3'; bucket: string; prefix: string };

const SPEC_FORMS = 'expected fs:PATH or s3://BUCKET[/PREFIX]';

/** Parses a store spec; relative fs paths are taken from `cwd`. */
export function parseStoreSpec(text: string, cwd = process.cwd()): StoreSpec {
  if (text.startsWith('fs:')) {
    const path = text.slice(3);
    if (path === '') throw new UsageError(`invalid mirror ${JSON.stringify(text)}: empty path; ${SPEC_FORMS}`);
    return { kind: 'fs', root: resolve(cwd, path) };
  }
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(text);
  if (!m?.[1]) throw new UsageError(`invalid mirror ${JSON.stringify(text)}: ${SPEC_FORMS}`);
  const prefix = (m[2] ?? '').replace(/\/+$/, '');
  if (prefix !== '' && prefix.split('/').some((s) => s === '' || s === '.' || s === '..')) {
    throw new UsageError(`invalid mirror ${JSON.stringify(text)}: the prefix must not contain empty, "." or ".." segments`);
  }
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1]) || m[1].includes('..')) {
    throw new UsageError(`invalid mirror ${JSON.stringify(text)}: bucket names are 3-63 characters of a-z, 0-9, "." and "-"`);
  }
  return { kind: 's3', bucket: m[1], prefix };
}

export function formatStoreSpec(spec: StoreSpec): string {
  return spec.kind === 'fs' ? `fs:${spec.root}` : `s3://${spec.bucket}${spec.prefix ? `/${spec.prefix}` : ''}`;
}

export interface OpenOptions {
  /** Create the mirror (directory or bucket) when it does not exist, e.g. as a sync destination. */
  create?: boolean;
  /** Where relative fs paths start (default the process's working directory). */
  cwd?: string;
}

/** The S3 store options for `spec`, or a usage error saying which setting is missing. */
export function s3OptionsFor(spec: Extract<StoreSpec, { kind: 's3' }>, settings: Settings): S3StoreOptions {
  const s = settings.s3;
  if (!s.endpoint) {
    throw new UsageError(`no S3 endpoint for s3://${spec.bucket}: pass --s3-endpoint, set s3-endpoint in the config file, or ${S3_ENV.endpoint.join(' or ')}`);
  }
  if (!s.accessKey || !s.secretKey) {
    throw new UsageError(
      `no S3 credentials: set ${S3_ENV.accessKey.join(' or ')} and ${S3_ENV.secretKey.join(' or ')}, or s3-access-key and s3-secret-key in the config file`,
    );
  }
  const input: S3StoreOptionsInput = { endpoint: s.endpoint, bucket: spec.bucket, prefix: spec.prefix, accessKey: s.accessKey, secretKey: s.secretKey };
  if (s.region) input.region = s.region;
  if (s.caFile) input.caFile = s.caFile;
  if (s.insecure !== undefined) input.insecureTls = s.insecure;
  if (s.pathStyle !== undefined) input.pathStyle = s.pathStyle;
  if (s.timeoutMs !== undefined) input.timeoutMs = s.timeoutMs;
  if (s.retries !== undefined) input.retries = s.retries;
  try {
    return parseS3StoreOptions(input);
  } catch (err) {
    // S3ConfigError names fields, never values, so it is safe to show.
    if (err instanceof S3ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** Opens the mirror `spec` names (default the configured one). An fs mirror must exist unless `create` is set. */
export async function openMirrorStore(settings: Settings, spec: string = settings.mirror, options: OpenOptions = {}): Promise<MirrorStore> {
  const parsed = parseStoreSpec(spec, options.cwd);
  if (parsed.kind === 'fs') {
    const info = await stat(parsed.root).catch(() => undefined);
    if (info && !info.isDirectory()) throw new UsageError(`mirror fs:${parsed.root} is not a directory`);
    if (!info && !options.create) throw new UsageError(`no mirror at fs:${parsed.root} (nothing published there yet?); choose one with --mirror`);
    if (!info) await mkdir(parsed.root, { recursive: true });
    return new FsStore(parsed.root);
  }
  const caFile = settings.s3.caFile;
  // The S3 client reads the CA file when it is created; a clear message beats a TLS error later.
  if (caFile && !(await stat(caFile).catch(() => undefined))?.isFile()) throw new UsageError(`S3 CA file ${caFile} does not exist or is not a file`);
  // Loaded on demand: minio is a third of the CLI's start-up time and most commands never need it.
  const { S3Store } = await import('../../mirror/stores/s3.js');
  const store = new S3Store(s3OptionsFor(parsed, settings));
  if (options.create) {
    try {
      await store.ensureBucket();
    } catch (err) {
      store.close();
      throw err;
    }
  }
  return store;
}

/** Releases what a store holds open (the S3 store's idle connections). */
export function closeMirrorStore(store: MirrorStore): void {
  if ('close' in store && typeof store.close === 'function') (store as { close(): void }).close();
}
