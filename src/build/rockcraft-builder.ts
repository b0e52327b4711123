// The local builder: `rockcraft pack` in a fresh directory holding the rendered rockcraft.yaml.
// The process runs in its own process group so that a timeout or a cancel kills rockcraft and
// everything it started (LXD clients, apt), not only the direct child.
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { finished } from 'node:stream/promises';
import { execa } from 'execa';
import { BuildFailure, type BuildArtifact, type BuildJob, type Builder, type FailureClass } from './builder.js';

export interface RockcraftBuilderOptions {
  /** The rockcraft executable (default `rockcraft` from PATH). */
  executable?: string;
  /** Parent of the per-build temporary directories. */
  workRoot?: string;
  /** Extra arguments after `pack`, e.g. `--destructive-mode` on a dedicated build machine. */
  packArgs?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Grace period between SIGTERM and SIGKILL of the process group. */
  killGraceMs?: number;
}

const CONFIG_ERROR = /Bad rockcraft\.yaml content|Input should be|Field required|validation error|Unable to locate package|is not a valid base/i;
const INFRA_ERROR = /\bLXD\b|lxc|snapd|Temporary failure resolving|Could not connect|No space left on device|Failed to fetch/i;

export class RockcraftBuilder implements Builder {
  readonly name = 'rockcraft';
  private cachedVersion: Promise<string> | undefined;

  constructor(private readonly options: RockcraftBuilderOptions = {}) {}

  private get executable(): string {
    return this.options.executable ?? 'rockcraft';
  }

  version(): Promise<string> {
    this.cachedVersion ??= execa(this.executable, ['--version'], { env: this.options.env, timeout: 30_000 }).then(
      (r) => r.stdout.trim(),
      (error: unknown) => {
        this.cachedVersion = undefined;
        throw new BuildFailure('infra', `cannot run ${this.executable}: ${describeSpawnError(error)}`);
      },
    );
    return this.cachedVersion;
  }

  async build(job: BuildJob): Promise<BuildArtifact> {
    const started = Date.now();
    const workRoot = this.options.workRoot ?? tmpdir();
    await mkdir(workRoot, { recursive: true });
    const dir = await mkdtemp(join(workRoot, `heliostat-${job.rock}-`));
    const log = createWriteStream(job.logFile);
    try {
      for (const [name, content] of Object.entries(job.files)) {
        if (basename(name) !== name) throw new BuildFailure('config', `build file name '${name}' must not contain a path`);
        await writeFile(join(dir, name), content);
      }
      const outcome = await this.pack(dir, job, log);
      if (outcome.failure) throw outcome.failure;
      const rocks = (await readdir(dir)).filter((f) => f.endsWith('.rock'));
      const rock = rocks[0];
      if (rocks.length !== 1 || rock === undefined) {
        throw new BuildFailure('build', `rockcraft pack produced ${rocks.length} .rock files, expected one`);
      }
      await mkdir(job.outputDir, { recursive: true });
      const rockFile = join(job.outputDir, rock);
      await copyFile(join(dir, rock), rockFile);
      return { rockFile, durationMs: Date.now() - started };
    } finally {
      log.end();
      await finished(log).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async pack(dir: string, job: BuildJob, log: NodeJS.WritableStream): Promise<{ failure?: BuildFailure }> {
    const child = execa(this.executable, ['pack', '--verbosity', 'brief', ...(this.options.packArgs ?? [])], {
      cwd: dir,
      env: this.options.env,
      detached: true,
      reject: false,
      all: true,
      stdin: 'ignore',
      buffer: { all: false, stdout: false, stderr: false },
    });
    let tail = '';
    child.all?.on('data', (chunk: Buffer) => {
      log.write(chunk);
      tail = (tail + chunk.toString('utf8')).slice(-8192);
    });
    let stopReason: FailureClass | undefined;
    const stop = (reason: FailureClass) => {
      if (stopReason) return;
      stopReason = reason;
      killGroup(child.pid, 'SIGTERM');
      setTimeout(() => killGroup(child.pid, 'SIGKILL'), this.options.killGraceMs ?? 5_000).unref();
    };
    const timer = setTimeout(() => stop('timeout'), job.timeoutMs);
    const onAbort = () => stop('cancelled');
    if (job.signal?.aborted) onAbort();
    job.signal?.addEventListener('abort', onAbort, { once: true });
    const result = await child;
    clearTimeout(timer);
    job.signal?.removeEventListener('abort', onAbort);
    // Whatever the group left behind (a grandchild holding the pipe) goes too.
    killGroup(child.pid, 'SIGKILL');
    if (stopReason === 'timeout') return { failure: new BuildFailure('timeout', `timed out after ${job.timeoutMs} ms`) };
    if (stopReason === 'cancelled') return { failure: new BuildFailure('cancelled', 'cancelled') };
    if (result.failed && result.exitCode === undefined) {
      return { failure: new BuildFailure('infra', `cannot run ${this.executable}: ${describeSpawnError(result)}`) };
    }
    if (result.exitCode !== 0) return { failure: new BuildFailure(classify(tail), `rockcraft pack exited ${result.exitCode}: ${lastLine(tail)}`) };
    return {};
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

export function classify(output: string): FailureClass {
  if (CONFIG_ERROR.test(output)) return 'config';
  if (INFRA_ERROR.test(output)) return 'infra';
  return 'build';
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines[lines.length - 1] ?? 'no output').slice(0, 300);
}

function describeSpawnError(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && (error as { code?: unknown }).code === 'ENOENT') return 'not found on PATH';
  let message = String(error);
  if (error instanceof Error) message = error.message;
  else if (error && typeof error === 'object' && 'shortMessage' in error) message = String(error.shortMessage);
  return message.split('\n')[0] ?? message;
}
