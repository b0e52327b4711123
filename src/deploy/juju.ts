// The Juju adapter: the `juju` CLI through execa, always with an argument array (never a shell)
// and an explicit `-m [controller:]model`, JSON parsed through zod. Each call runs in its own
// process group so a timeout kills juju and anything it started; transient failures (the
// controller connection dropping) are retried with backoff, everything else fails at once.
import { setTimeout as delay } from 'node:timers/promises';
import { execa } from 'execa';
import type { z } from 'zod';
import type { $ZodIssue } from 'zod/v4/core';
import { classifyJujuFailure, errorSummary, JujuError } from './juju-errors.js';
import {
  JujuConfigSchema,
  JujuResourcesSchema,
  JujuStatusSchema,
  toJujuStatus,
  type JujuConfig,
  type JujuResources,
  type JujuStatus,
} from './juju-schemas.js';

export { appsByCharm } from './juju-schemas.js';
export type { JujuApplication, JujuConfig, JujuResource, JujuResources, JujuStatus, JujuUnit } from './juju-schemas.js';
export { JujuError, type JujuErrorKind } from './juju-errors.js';

export interface JujuClientOptions {
  /** The juju executable (default `juju` from PATH). */
  executable?: string;
  /** Controller name; without it juju uses its current controller. */
  controller?: string;
  /** Model name (default `openstack`, Sunbeam's model). */
  model?: string;
  /** Extra environment for juju (merged over this process's). */
  env?: NodeJS.ProcessEnv;
  /** Per attempt; the process group is killed when it runs out (default 120 s). */
  timeoutMs?: number;
  /** Extra attempts after a transient failure (default 3). */
  retries?: number;
  /** First backoff delay, doubled per retry up to maxBackoffMs (default 1 s, max 30 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Grace period between SIGTERM and SIGKILL of a timed-out process group (default 2 s). */
  killGraceMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

/** Juju application names (names.IsValidApplication). */
const APPLICATION_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*$/;
/** Resource names as charms declare them; no `=` (the argument splits on the first one). */
const RESOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** An image pinned by digest: `[host[:port]/]path[:tag]@sha256:<64 hex>`. */
const DIGEST_REF = /^[a-z0-9][^\s@=]*@sha256:[0-9a-f]{64}$/;
const NO_RESOURCES = 'No resources to display.';

interface RunResult {
  stdout: string;
  stderr: string;
}

export class JujuClient {
  private readonly executable: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: JujuClientOptions = {}) {
    this.executable = options.executable ?? 'juju';
    this.timeoutMs = options.timeoutMs ?? 120_000;
    this.retries = Math.max(0, options.retries ?? 3);
    this.sleep = options.sleep ?? ((ms) => delay(ms));
  }

  /** The `-m` value: `controller:model`, or the bare model on juju's current controller. */
  get target(): string {
    const model = this.options.model ?? 'openstack';
    return this.options.controller ? `${this.options.controller}:${model}` : model;
  }

  async status(): Promise<JujuStatus> {
    const args = ['status', '-m', this.target, '--format=json'];
    const { stdout } = await this.run(args);
    return toJujuStatus(parseJson(JujuStatusSchema, stdout, args));
  }

  async resources(app: string): Promise<JujuResources> {
    checkApplication(app);
    const args = ['resources', '-m', this.target, app, '--format=json'];
    const { stdout, stderr } = await this.run(args);
    // Juju prints this (on stderr) instead of JSON when the application has no resources.
    const out = stdout.trim();
    if (out === NO_RESOURCES || (out === '' && stderr.includes(NO_RESOURCES))) return { resources: [], updates: [] };
    return parseJson(JujuResourcesSchema, stdout, args);
  }

  /**
   * Points an application's oci-image resource at an image. Only digest references are accepted:
   * a tag can move after the attach, and then the pods would not run what was recorded.
   */
  async attachResource(app: string, resource: string, imageRef: string): Promise<void> {
    checkApplication(app);
    if (!RESOURCE_NAME.test(resource)) throw new JujuError('invalid', `invalid resource name "${resource}"`);
    if (!DIGEST_REF.test(imageRef)) {
      throw new JujuError('invalid', `refusing to attach "${imageRef}" to ${app}/${resource}: the image must be pinned by digest (<name>@sha256:<64 hex>)`);
    }
    await this.run(['attach-resource', '-m', this.target, app, `${resource}=${imageRef}`]);
  }

  async config(app: string): Promise<JujuConfig> {
    checkApplication(app);
    const args = ['config', '-m', this.target, app, '--format=json'];
    const { stdout } = await this.run(args);
    return parseJson(JujuConfigSchema, stdout, args);
  }

  /** The client version (`3.6.8-genericlinux-amd64`). */
  async version(): Promise<string> {
    return (await this.run(['version'])).stdout.trim();
  }

  private async run(args: readonly string[]): Promise<RunResult> {
    const base = this.options.backoffMs ?? 1_000;
    const max = this.options.maxBackoffMs ?? 30_000;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.runOnce(args);
      } catch (err) {
        if (!(err instanceof JujuError)) throw err;
        err.attempts = attempt;
        if (!err.retryable || attempt > this.retries) throw err;
        // Full jitter keeps several heliostat workers from reconnecting in lockstep.
        const ceiling = Math.min(max, base * 2 ** (attempt - 1));
        await this.sleep(Math.round(ceiling / 2 + (Math.random() * ceiling) / 2));
      }
    }
  }

  private async runOnce(args: readonly string[]): Promise<RunResult> {
    const child = execa(this.executable, args, {
      env: this.options.env,
      detached: true,
      reject: false,
      stdin: 'ignore',
      maxBuffer: 256 * 1024 * 1024,
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGTERM');
      setTimeout(() => killGroup(child.pid, 'SIGKILL'), this.options.killGraceMs ?? 2_000).unref();
    }, this.timeoutMs);
    const result = await child;
    clearTimeout(timer);
    // Whatever the group left behind (a child holding the pipe) goes too.
    killGroup(child.pid, 'SIGKILL');
    const command = `juju ${args[0] ?? ''}`;
    if (timedOut) {
      throw new JujuError('transient', `${command} timed out after ${this.timeoutMs} ms`, { args, timedOut: true, stderr: result.stderr });
    }
    if (result.failed && result.exitCode === undefined) {
      const code = (result as { code?: unknown }).code;
      const why = code === 'ENOENT' ? 'not found' : code === 'EACCES' ? 'not executable' : result.shortMessage;
      throw new JujuError('unavailable', `cannot run ${this.executable}: ${why}`, { args, cause: result.cause });
    }
    if (result.exitCode !== 0) {
      const kind = classifyJujuFailure(result.stderr, result.exitCode);
      throw new JujuError(kind, `${command} failed (exit ${result.exitCode}): ${errorSummary(result.stderr)}`, {
        args,
        exitCode: result.exitCode,
        stderr: result.stderr.slice(-4000),
      });
    }
    return { stdout: result.stdout, stderr: result.stderr };
  }
}

function checkApplication(app: string): void {
  if (!APPLICATION_NAME.test(app)) throw new JujuError('invalid', `invalid application name "${app}"`);
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

function parseJson<S extends z.ZodType>(schema: S, stdout: string, args: readonly string[]): z.output<S> {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch {
    throw new JujuError('invalid', `juju ${args[0] ?? ''} printed something that is not JSON: ${stdout.slice(0, 200)}`, { args });
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issues = flattenIssues(parsed.error.issues).slice(0, 5);
    throw new JujuError('invalid', `unexpected juju ${args[0] ?? ''} output: ${issues.join('; ')}`, { args });
  }
  return parsed.data;
}

// A union issue (an entity or Juju's {"status-error"} form) says only "Invalid input"; the last
// branch is the real shape, so its issues are the useful ones.
function flattenIssues(issues: readonly $ZodIssue[], prefix: readonly PropertyKey[] = []): string[] {
  return issues.flatMap((issue) => {
    const path = [...prefix, ...issue.path];
    const last = issue.code === 'invalid_union' ? issue.errors[issue.errors.length - 1] : undefined;
    if (last) return flattenIssues(last, path);
    return [`${path.map(String).join('.') || '(root)'}: ${issue.message}`];
  });
}
