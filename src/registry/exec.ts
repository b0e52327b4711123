// Runs one skopeo invocation in its own process group. A timeout or a cancel kills the whole
// group (SIGTERM, then SIGKILL after a grace period): execa's own timeout only signals the direct
// child, and a wrapper script's child holding the pipes would keep the call pending.
// stdout is kept as raw bytes: `skopeo inspect --raw` prints the manifest exactly as stored, and
// its digest is computed over those bytes, so no decoding or newline stripping may touch them.
import { execa } from 'execa';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Grace period between SIGTERM and SIGKILL of the process group. */
  killGraceMs?: number;
  signal?: AbortSignal;
}

export interface RunResult {
  /** undefined when the process could not start or was killed. */
  exitCode: number | undefined;
  stdout: Buffer;
  stderr: string;
  timedOut: boolean;
  cancelled: boolean;
  /** Why the process could not start (e.g. executable not found). */
  spawnError?: string;
}

export async function runProcess(executable: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const child = execa(executable, args, {
    env: options.env,
    detached: true,
    reject: false,
    stdin: 'ignore',
    encoding: 'buffer',
    stripFinalNewline: false,
  });
  let stopped: 'timeout' | 'cancel' | undefined;
  const stop = (reason: 'timeout' | 'cancel'): void => {
    if (stopped) return;
    stopped = reason;
    killGroup(child.pid, 'SIGTERM');
    setTimeout(() => killGroup(child.pid, 'SIGKILL'), options.killGraceMs ?? 2_000).unref();
  };
  const timer = setTimeout(() => stop('timeout'), options.timeoutMs);
  const onAbort = (): void => stop('cancel');
  if (options.signal?.aborted) onAbort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const result = await child;
  clearTimeout(timer);
  options.signal?.removeEventListener('abort', onAbort);
  // Anything the group left behind goes too (a wrapper's child that outlived it).
  killGroup(child.pid, 'SIGKILL');

  const stdout = Buffer.from(result.stdout);
  const stderr = Buffer.from(result.stderr).toString('utf8');
  const notStarted = result.failed && result.exitCode === undefined && result.signal === undefined && !stopped;
  return {
    exitCode: result.exitCode,
    stdout,
    stderr,
    timedOut: stopped === 'timeout',
    cancelled: stopped === 'cancel',
    ...(notStarted ? { spawnError: describeSpawnError(result) } : {}),
  };
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

function describeSpawnError(result: { code?: unknown; shortMessage?: unknown; message?: unknown }): string {
  if (result.code === 'ENOENT') return 'not found';
  if (result.code === 'EACCES') return 'not executable';
  const text = typeof result.shortMessage === 'string' ? result.shortMessage : String(result.message);
  return text.split('\n')[0] ?? text;
}
