// The skopeo adapter: every registry operation heliostat needs, as skopeo invocations with argument
// arrays (no shell). What was found running skopeo 1.9.3 against distribution 2.8.2:
//   - `copy oci-archive:X docker://repo@sha256:…` works: skopeo pushes the manifest by digest and
//     refuses when the archive's manifest has another digest ("would not match destination
//     reference"), so no temporary tag is needed to push untagged.
//   - `--preserve-digests` makes skopeo fail instead of silently converting the manifest to another
//     format (which would change the digest) when a registry does not take OCI manifests.
//   - tagging is `copy docker://repo@digest docker://repo:tag`: skopeo HEADs the blobs, finds them
//     in the same repository and only PUTs the manifest; nothing is uploaded again.
//   - the digest of what is stored is the sha256 of `inspect --raw` output (exact bytes, no newline
//     added). Plain `inspect` and `inspect --format` also list tags unless `--no-tags`, and fail on a
//     repository that has manifests but no tags: registry 2.8 answers its tags list with 404.
//   - `list-tags` on such a repository fails the same way (NAME_UNKNOWN), so it means "no tags".
//   - an oci-archive source is unpacked in full into `--tmpdir` (default /var/tmp; TMPDIR is
//     ignored), and a failed or killed copy can leave that copy behind. Each call here gets its own
//     directory for it, removed afterwards whatever happened.
//   - without credentials skopeo falls back to the ambient auth files (containers auth.json,
//     ~/.docker/config.json); with credentials the auth file given here is the one used.
// Credentials go through a docker auth file (mode 0600, in a private temporary directory, removed
// after the call); they never appear in argv, in errors or in logs.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { validateDigest, validateRepository, validateTag, type RegistryTarget } from './config.js';
import { classifyMessage, redact, RegistryError, skopeoMessage } from './errors.js';
import { runProcess } from './exec.js';

export type ImageRef = { repository: string; digest: string; tag?: undefined } | { repository: string; tag: string; digest?: undefined };

export function formatImageRef(ref: ImageRef): string {
  return ref.digest !== undefined ? `${ref.repository}@${ref.digest}` : `${ref.repository}:${ref.tag}`;
}

export interface SkopeoOptions {
  /** The skopeo executable (default `skopeo` from PATH). */
  executable?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Parent of the per-call scratch directories. skopeo unpacks a pushed `.rock` there in full, so
   * it needs room for the largest rocks being pushed at once; the default is /var/tmp like skopeo's
   * own (not /tmp, which is often a RAM-backed tmpfs).
   */
  tmpDir?: string;
  killGraceMs?: number;
  /** Called before each retry of a transient failure. */
  onRetry?: (event: RetryEvent) => void;
  /** Called with the argv of every invocation (which never holds a secret), for logs. */
  onCommand?: (argv: readonly string[]) => void;
}

export interface RetryEvent {
  operation: string;
  attempt: number;
  delayMs: number;
  error: RegistryError;
}

export interface CallOptions {
  signal?: AbortSignal;
}

// Exponential backoff never waits longer than this between two attempts.
const MAX_DELAY_MS = 30_000;

interface Scratch {
  authFile: string | undefined;
  digestFile: string;
  /** skopeo's `--tmpdir` for big files (unpacked archives). */
  bigFiles: string;
}

function defaultScratchParent(): string {
  return existsSync('/var/tmp') ? '/var/tmp' : tmpdir();
}

export class Skopeo {
  constructor(
    readonly target: RegistryTarget,
    private readonly options: SkopeoOptions = {},
  ) {}

  get executable(): string {
    return this.options.executable ?? 'skopeo';
  }

  /** `skopeo version 1.9.3` → `1.9.3`. */
  async version(options: CallOptions = {}): Promise<string> {
    const { stdout } = await this.run('version', 'skopeo --version', () => ['--version'], options);
    const text = stdout.toString('utf8').trim();
    return /version\s+(\S+)/.exec(text)?.[1] ?? text;
  }

  /**
   * Pushes the single image of an OCI archive (a `.rock`) to `dest`, by digest or by tag, keeping
   * its manifest bytes. Returns the digest skopeo reports for what it wrote.
   */
  async pushArchive(archiveFile: string, dest: ImageRef, options: CallOptions = {}): Promise<string> {
    const archive = resolve(archiveFile);
    // oci-archive references are `path[:image]`, split at the first colon: a path with one cannot be given.
    if (archive.includes(':')) throw new RegistryError('invalid', `cannot push ${archive}: skopeo cannot take an archive path containing ":"`);
    const to = this.docker(dest);
    const { digest } = await this.run('copy', `${archive} → ${formatImageRef(dest)}`, (s) => [
      '--tmpdir',
      s.bigFiles,
      'copy',
      '--quiet',
      '--preserve-digests',
      '--digestfile',
      s.digestFile,
      ...this.tlsArgs('dest', s),
      `oci-archive:${archive}`,
      to,
    ], options);
    return digest;
  }

  /**
   * Points `tag` at the manifest `digest` of the same repository by pushing the manifest again;
   * the blobs are already there and are not uploaded. Moving a tag is the same call.
   */
  async tag(repository: string, digest: string, tag: string, options: CallOptions = {}): Promise<string> {
    const from = this.docker({ repository, digest });
    const to = this.docker({ repository, tag });
    const { digest: written } = await this.run('copy', `${repository}@${digest} → :${tag}`, (s) => [
      '--tmpdir',
      s.bigFiles,
      'copy',
      '--quiet',
      '--preserve-digests',
      '--digestfile',
      s.digestFile,
      ...this.tlsArgs('src', s),
      ...this.tlsArgs('dest', s),
      from,
      to,
    ], options);
    return written;
  }

  /** The manifest (or index) exactly as the registry stores it. */
  async inspectRaw(ref: ImageRef, options: CallOptions = {}): Promise<Buffer> {
    const image = this.docker(ref);
    const { stdout } = await this.run('inspect', formatImageRef(ref), (s) => ['inspect', '--raw', ...this.tlsArgs('plain', s), image], options);
    return stdout;
  }

  /** The digest of the manifest `ref` resolves to, computed over the stored bytes. */
  async inspectDigest(ref: ImageRef, options: CallOptions = {}): Promise<string> {
    const raw = await this.inspectRaw(ref, options);
    const algorithm = ref.digest?.startsWith('sha512:') ? 'sha512' : 'sha256';
    return `${algorithm}:${createHash(algorithm).update(raw).digest('hex')}`;
  }

  /** Tags of a repository; [] when it has none (registry 2.8 answers 404 then) or does not exist. */
  async listTags(repository: string, options: CallOptions = {}): Promise<string[]> {
    validateRepository(repository);
    this.checkHost(repository);
    try {
      const { stdout } = await this.run('list-tags', repository, (s) => ['list-tags', ...this.tlsArgs('plain', s), `docker://${repository}`], options);
      const parsed = JSON.parse(stdout.toString('utf8')) as { Tags?: unknown };
      const tags = Array.isArray(parsed.Tags) ? parsed.Tags.filter((t): t is string => typeof t === 'string') : [];
      return tags.sort();
    } catch (err) {
      if (err instanceof RegistryError && err.kind === 'not-found') return [];
      if (err instanceof SyntaxError) throw new RegistryError('invalid', `skopeo list-tags ${repository}: unreadable output: ${err.message}`);
      throw err;
    }
  }

  private docker(ref: ImageRef): string {
    validateRepository(ref.repository);
    this.checkHost(ref.repository);
    if (ref.digest !== undefined) validateDigest(ref.digest);
    else validateTag(ref.tag);
    return `docker://${formatImageRef(ref)}`;
  }

  // TLS mode and credentials are per target, so a reference elsewhere would get the wrong ones.
  private checkHost(repository: string): void {
    if (!repository.startsWith(`${this.target.host}/`)) {
      throw new RegistryError('invalid', `repository ${repository} is not on registry ${this.target.host}`);
    }
  }

  private tlsArgs(side: 'src' | 'dest' | 'plain', scratch: Scratch): string[] {
    const prefix = side === 'plain' ? '--' : `--${side}-`;
    const args = [`${prefix}tls-verify=${String(this.target.tlsVerify)}`];
    if (this.target.certDir !== undefined) args.push(`${prefix}cert-dir`, this.target.certDir);
    if (scratch.authFile !== undefined) args.push(`${prefix}authfile`, scratch.authFile);
    return args;
  }

  private get secrets(): string[] {
    return this.target.credentials?.secrets() ?? [];
  }

  /**
   * Runs one operation with retries. The scratch directory (auth file, digest file, unpacked
   * archive) lives for all attempts and is removed afterwards whatever happens.
   */
  private async run(
    operation: string,
    subject: string,
    argsFor: (scratch: Scratch) => string[],
    options: CallOptions,
  ): Promise<{ stdout: Buffer; digest: string }> {
    options.signal?.throwIfAborted();
    // mkdtemp creates the directory with mode 0700: only this user can even list the auth file.
    const dir = await mkdtemp(join(this.options.tmpDir ?? defaultScratchParent(), 'heliostat-skopeo-'));
    try {
      const scratch: Scratch = { authFile: await this.writeAuthFile(dir), digestFile: join(dir, 'digest'), bigFiles: join(dir, 'tmp') };
      await mkdir(scratch.bigFiles);
      const args = argsFor(scratch);
      const env = this.options.env ?? process.env;
      for (let attempt = 1; ; attempt++) {
        this.options.onCommand?.([this.executable, ...args]);
        const result = await runProcess(this.executable, args, {
          env,
          timeoutMs: this.target.timeoutMs,
          killGraceMs: this.options.killGraceMs,
          signal: options.signal,
        });
        if (result.cancelled) options.signal?.throwIfAborted();
        if (result.spawnError !== undefined) {
          throw new RegistryError('invalid', `cannot run skopeo (${this.executable}): ${result.spawnError}`, attempt);
        }
        if (result.exitCode === 0 && !result.timedOut) {
          return { stdout: result.stdout, digest: operation === 'copy' ? await readDigest(scratch.digestFile, subject) : '' };
        }
        const error = this.failure(operation, subject, result, attempt);
        if (!error.retryable || attempt > this.target.retries) throw error;
        const delayMs = Math.min(this.target.retryDelayMs * 2 ** (attempt - 1), MAX_DELAY_MS);
        this.options.onRetry?.({ operation, attempt, delayMs, error });
        await sleep(delayMs, undefined, { signal: options.signal });
        // A killed attempt may have left a whole unpacked rock behind; do not keep two.
        await rm(scratch.bigFiles, { recursive: true, force: true });
        await mkdir(scratch.bigFiles);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private failure(operation: string, subject: string, result: { stderr: string; timedOut: boolean; exitCode: number | undefined }, attempt: number): RegistryError {
    const tries = attempt > 1 ? ` (after ${attempt} attempts)` : '';
    if (result.timedOut) {
      return new RegistryError('transient', `skopeo ${operation} ${subject}: timed out after ${this.target.timeoutMs} ms${tries}`, attempt);
    }
    const message = redact(skopeoMessage(result.stderr), this.secrets);
    const kind = classifyMessage(message);
    const hint = kind === 'invalid' && /http response to https client/i.test(message) ? ' (plain-HTTP registry: set tlsVerify: false)' : '';
    return new RegistryError(kind, `skopeo ${operation} ${subject} failed [${kind}]: ${message}${hint}${tries}`, attempt);
  }

  /** Writes `{"auths":{"<host>":{"auth":base64(user:password)}}}` readable by the owner only. */
  private async writeAuthFile(dir: string): Promise<string | undefined> {
    const credentials = this.target.credentials;
    if (!credentials) return undefined;
    const file = join(dir, 'auth.json');
    const auth = Buffer.from(`${credentials.username}:${credentials.reveal()}`).toString('base64');
    // 'wx' + mode: created with 0600 from the start, never briefly readable by others.
    await writeFile(file, JSON.stringify({ auths: { [this.target.host]: { auth } } }), { mode: 0o600, flag: 'wx' });
    return file;
  }
}

async function readDigest(file: string, subject: string): Promise<string> {
  const text = (await readFile(file, 'utf8').catch(() => '')).trim();
  try {
    return validateDigest(text);
  } catch {
    throw new RegistryError('invalid', `skopeo copy ${subject}: no digest reported for the pushed image`);
  }
}
