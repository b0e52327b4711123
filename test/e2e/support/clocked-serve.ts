// The controller of the story tests: `heliostat serve --config FILE` as a real child process whose
// schedules run on a clock the test moves (clocked-serve-entry.ts), reached over its real socket
// with the operator's token; and the heliostat CLI run as a consumer runs it (test/cli/helpers.ts).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOKEN } from '../../controller/harness.js';
import { heliostat } from '../../cli/helpers.js';
import { REPO_ROOT } from '../../fixtures/rockcraft/standin.js';
import { CLOCK_ADVANCED, CLOCK_SIGNAL } from './clock-protocol.js';
import { ControllerProcess } from './controller-process.js';

const ENTRY_TS = 'test/e2e/support/clocked-serve-entry.ts';
const OUT = 'dist/e2e-clocked';
const ENTRY_JS = join(REPO_ROOT, OUT, ENTRY_TS.replace(/\.ts$/, '.js'));

function newestSource(): number {
  let newest = 0;
  for (const dir of ['src', 'mirror', 'test/e2e/support', 'test/controller']) {
    for (const entry of readdirSync(join(REPO_ROOT, dir), { recursive: true, withFileTypes: true })) {
      if (entry.isFile() && entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
    }
  }
  return newest;
}

/** Compiles the entry (JavaScript only, into its own folder) when missing or older than its sources. */
export function ensureClockedServeBuilt(): string {
  if (existsSync(ENTRY_JS) && statSync(ENTRY_JS).mtimeMs >= newestSource()) return ENTRY_JS;
  mkdirSync(join(REPO_ROOT, 'dist'), { recursive: true });
  const tsconfig = join(REPO_ROOT, 'dist', `tsconfig.e2e-clocked.${process.pid}.json`);
  const compilerOptions = { noEmit: false, noCheck: true, rootDir: '..', outDir: OUT.slice('dist/'.length) };
  writeFileSync(tsconfig, JSON.stringify({ extends: '../tsconfig.json', compilerOptions, files: [`../${ENTRY_TS}`], include: [] }));
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], { stdio: 'pipe' });
  } finally {
    rmSync(tsconfig, { force: true });
  }
  return ENTRY_JS;
}

const AUTH = { authorization: `Bearer ${TOKEN}` };

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${JSON.stringify(body)}`);
  }
}

/** JSON over HTTP with the operator's token; a non-2xx answer throws ApiError. */
export async function requestJson<T>(url: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...AUTH, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  const body: unknown = text === '' ? undefined : JSON.parse(text);
  if (!response.ok) throw new ApiError(response.status, body);
  return body as T;
}

export interface JobView {
  id: string;
  state: string;
  trigger: string;
  buildId?: string;
  result?: string;
  error?: string;
  request: { train: string; release: string; series: string };
  summary?: { built: string[]; reused: string[] };
}

export class ClockedController {
  private constructor(
    readonly process: ControllerProcess,
    readonly base: string,
  ) {}

  static async start(configPath: string, options: { env: NodeJS.ProcessEnv; cwd: string }): Promise<ClockedController> {
    const p = await ControllerProcess.start([process.execPath, ensureClockedServeBuilt(), '--config', configPath], options);
    return new ClockedController(p, await p.ready());
  }

  /** /api/v1 of the controller. */
  api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
    return requestJson<T>(`${this.base}/api/v1${path}`, init);
  }

  /** /api/mirror/v1 of the mirror the controller serves. */
  mirror<T>(path: string): Promise<T> {
    return requestJson<T>(`${this.base}/api/mirror/v1${path}`);
  }

  async jobs(train: string): Promise<JobView[]> {
    return (await this.api<{ jobs: JobView[] }>(`/builds?train=${train}`)).jobs;
  }

  /**
   * Moves the clock to the next full hour (every schedule due fires, and its change check runs),
   * then waits until every build those ticks queued has ended, retention included. Returns the
   * jobs they queued.
   */
  async nextHour(train: string): Promise<JobView[]> {
    const before = new Set((await this.jobs(train)).map((j) => j.id));
    const from = this.process.lines.length;
    process.kill(this.process.pid, CLOCK_SIGNAL);
    await this.process.waitForLog((l) => l.msg === CLOCK_ADVANCED, from);
    const queued = (await this.jobs(train)).filter((j) => !before.has(j.id));
    // A job shows as ended before its retention has run; its "build finished" line comes after.
    for (const job of queued) await this.process.waitForLog((l) => l.msg === 'build finished' && l['jobId'] === job.id, from, 120_000);
    return Promise.all(queued.map(async (j) => (await this.api<{ job: JobView }>(`/builds/${j.id}`)).job));
  }

  stop(): Promise<number | null> {
    return this.process.stop();
  }
}

/** Runs the built heliostat with --json, as a consumer does; it must succeed. Returns its parsed output. */
export async function heliostatJson<T>(args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<T> {
  const r = await heliostat([...args, '--json'], options);
  if (r.exitCode !== 0) throw new Error(`heliostat ${args.join(' ')} exited ${r.exitCode}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
