// Shared plumbing of the benchmarks: the machine description, statistics, a run-time budget,
// cleanups that run however a benchmark ends, and sizes of what a store holds.
import { existsSync, readFileSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { cpus, release, totalmem, type } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

function findRepoRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no package.json above ${start}`);
  }
}

/** The project root (where package.json is), whether running from the sources or from dist/. */
export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));

export interface Machine {
  cpus: number;
  model: string;
  memGiB: number;
  node: string;
  os: string;
}

function osName(): string {
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    if (pretty) return `${pretty} (${type()} ${release()})`;
  } catch {
    // no os-release: fall through
  }
  return `${type()} ${release()}`;
}

export function machine(): Machine {
  const list = cpus();
  return {
    cpus: list.length,
    model: list[0]?.model.trim() ?? 'unknown',
    memGiB: Math.round((totalmem() / GiB) * 10) / 10,
    node: process.version,
    os: osName(),
  };
}

// ---- statistics -------------------------------------------------------------------------------

/** Nearest-rank percentile (p in 0..100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? Number.NaN;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function mib(bytes: number): number {
  return round(bytes / MiB, 2);
}

/** Milliseconds since `start` (a performance.now() reading). */
export function since(start: number): number {
  return performance.now() - start;
}

// ---- a benchmark's lifetime ---------------------------------------------------------------------

export class BudgetExceededError extends Error {
  constructor(
    readonly what: string,
    readonly budgetS: number,
  ) {
    super(`${what} exceeded its time budget of ${budgetS} s`);
    this.name = 'BudgetExceededError';
  }
}

/**
 * What a benchmark gets from the runner: a deadline it checks between steps, cleanups that the
 * runner runs (in reverse order) when the benchmark ends, fails or runs out of time, and a log.
 */
export class BenchContext {
  readonly #cleanups: Array<{ what: string; fn: () => unknown }> = [];
  readonly #deadline: number;
  constructor(
    readonly name: string,
    readonly budgetS: number,
    readonly log: (line: string) => void,
  ) {
    this.#deadline = Date.now() + budgetS * 1000;
  }

  /** Seconds left before the budget runs out. */
  remainingS(): number {
    return (this.#deadline - Date.now()) / 1000;
  }

  /** Throws once the budget is spent; benchmarks call it between steps and samples. */
  check(): void {
    if (Date.now() > this.#deadline) throw new BudgetExceededError(this.name, this.budgetS);
  }

  defer(what: string, fn: () => unknown): void {
    this.#cleanups.push({ what, fn });
  }

  /** Runs every cleanup once, newest first; a failing cleanup is reported and the rest still run. */
  async cleanup(): Promise<void> {
    while (this.#cleanups.length > 0) {
      const { what, fn } = this.#cleanups.pop()!;
      try {
        await fn();
      } catch (err) {
        this.log(`cleanup "${what}" failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

/** What every benchmark reports, whatever else it adds. */
export interface BenchFigures {
  goal: string | Record<string, string>;
  /** Whether the goal was met on this run. */
  met: boolean;
  /** Why a goal was missed, or what was left out, in measured terms. */
  note?: string;
  [figure: string]: unknown;
}

/** A benchmark's figures as the runner records them. */
export interface BenchResult extends BenchFigures {
  date: string;
  durationS: number;
}

export interface Benchmark {
  name: string;
  title: string;
  goal: string | Record<string, string>;
  /** Hard limit on the benchmark's run time, seconds. */
  budgetS: number;
  run(ctx: BenchContext): Promise<BenchFigures>;
  /** One line per row of the summary table. */
  summarise(result: BenchResult): string[];
}

// ---- sizes on disk ------------------------------------------------------------------------------

export interface DiskUsage {
  /** Sum of the sizes of distinct files (hard links counted once). */
  apparentBytes: number;
  /** Allocated blocks of distinct files and directories, as `du` counts them. */
  allocatedBytes: number;
  files: number;
  links: number;
}

/** `du`-like usage of a tree: every inode counted once, so hard-linked views cost nothing. */
export async function diskUsage(root: string): Promise<DiskUsage> {
  const seen = new Set<string>();
  const usage: DiskUsage = { apparentBytes: 0, allocatedBytes: 0, files: 0, links: 0 };
  const visit = async (path: string): Promise<void> => {
    const info = await lstat(path, { bigint: false });
    const id = `${info.dev}:${info.ino}`;
    if (seen.has(id)) {
      usage.links += 1;
      return;
    }
    seen.add(id);
    usage.allocatedBytes += info.blocks * 512;
    if (info.isDirectory()) {
      for (const name of await readdir(path)) await visit(join(path, name));
    } else if (info.isFile()) {
      usage.apparentBytes += info.size;
      usage.files += 1;
    }
  };
  await visit(root);
  return usage;
}
