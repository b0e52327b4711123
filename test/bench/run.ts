// `npm run bench`: runs the performance benchmarks (all, or those named on the command line),
// prints a short table and merges the figures into bench/results.json, keeping the results of
// benchmarks not run this time.
//
//   node dist/test/bench/run.js [--out FILE] [NAME...]     e.g. `node dist/test/bench/run.js P5`
//
// Each benchmark has a time budget (HELIOSTAT_BENCH_<NAME>_BUDGET_S overrides it); it stops at the
// first check after the budget is spent, and the runner abandons it a minute later regardless.
// Either way its RGW is stopped and its temporary files are removed.
//
// Exit status: 0 when every benchmark ran (a missed goal is a result, reported with met: false),
// 1 when one failed to run, 2 on a usage error.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { BenchContext, REPO_ROOT, machine, round, type BenchFigures, type BenchResult, type Benchmark } from './common.js';
import { P2 } from './p2-publish.js';
import { P3 } from './p3-republish.js';
import { P4 } from './p4-download.js';
import { P5 } from './p5-query.js';
import { P6 } from './p6-reconcile.js';
import { P7 } from './p7-scheduling.js';
import { runP1 } from './p1-scheduler.js';

const P1: Benchmark = {
  name: 'P1',
  title: 'scheduler tick over 6 trains × 80 rocks with nothing changed',
  goal: '0 builds started, ≤ 2 conditional requests per train',
  budgetS: 300,
  run: async () => (await runP1()) as unknown as BenchFigures,
  summarise: (r) => [`${String(r.buildsStarted)} builds, ${String(r.requestsPerTrain)} requests per train, ${String(r.wallMs)} ms`],
};

export const BENCHMARKS: readonly Benchmark[] = [P1, P2, P3, P4, P5, P6, P7];
export const DEFAULT_RESULTS = join(REPO_ROOT, 'bench', 'results.json');
/** Extra time a benchmark gets to notice its budget ran out before the runner abandons it. */
const GRACE_S = 60;

interface ResultsFile {
  machine: ReturnType<typeof machine>;
  date: string;
  results: Record<string, unknown>;
}

function usage(): string {
  return `usage: run.js [--out FILE] [${BENCHMARKS.map((b) => b.name).join('|')}]...\n${BENCHMARKS.map((b) => `  ${b.name}  ${b.title}`).join('\n')}`;
}

function parseArgs(argv: readonly string[]): { names: string[]; out: string } {
  const names: string[] = [];
  let out = DEFAULT_RESULTS;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--help' || arg === '-h') {
      console.log(usage());
      process.exit(0);
    } else if (arg === '--out') {
      const value = argv[++i];
      if (!value) throw new UsageError('--out needs a file');
      out = resolve(value);
    } else if (arg.startsWith('-')) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      const bench = BENCHMARKS.find((b) => b.name.toLowerCase() === arg.toLowerCase());
      if (!bench) throw new UsageError(`unknown benchmark ${arg}`);
      if (!names.includes(bench.name)) names.push(bench.name);
    }
  }
  return { names: names.length > 0 ? names : BENCHMARKS.map((b) => b.name), out };
}

class UsageError extends Error {}

async function readResults(path: string): Promise<Record<string, unknown>> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<ResultsFile>;
    return parsed.results && typeof parsed.results === 'object' ? parsed.results : {};
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new Error(`cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Re-reads the file just before writing, so results others wrote meanwhile are kept too. */
async function mergeResults(path: string, fresh: Record<string, BenchResult>): Promise<void> {
  const merged: ResultsFile = { machine: machine(), date: new Date().toISOString(), results: { ...(await readResults(path)), ...fresh } };
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(merged, null, 2)}\n`);
  await rename(tmp, path);
}

let current: BenchContext | undefined;

/** A benchmark's budget, or the override in HELIOSTAT_BENCH_<NAME>_BUDGET_S. */
function budgetOf(bench: Benchmark): number {
  const override = process.env[`HELIOSTAT_BENCH_${bench.name}_BUDGET_S`];
  if (override === undefined || override === '') return bench.budgetS;
  const value = Number(override);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`HELIOSTAT_BENCH_${bench.name}_BUDGET_S must be a positive number of seconds`);
  return value;
}

async function runOne(bench: Benchmark, budgetS: number): Promise<{ result: BenchResult; crashed: boolean }> {
  const log = (line: string) => console.error(`[${bench.name}] ${line}`);
  const ctx = new BenchContext(bench.name, budgetS, log);
  current = ctx;
  const began = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const abandon = new Promise<never>((_, fail) => {
    timer = setTimeout(() => fail(new Error(`${bench.name} did not finish within ${budgetS + GRACE_S} s and was abandoned`)), (budgetS + GRACE_S) * 1000);
  });
  log(`${bench.title} (budget ${budgetS} s)`);
  // Load averages (1, 5, 15 min) before and after: a hint of other work on the machine. The
  // benchmarks load it themselves (RGW runs many threads), so read them relative to each other.
  const load = () => loadavg().map((l) => round(l, 2));
  const loadBefore = load();
  try {
    const figures = await Promise.race([bench.run(ctx), abandon]);
    const loadAvg = { before: loadBefore, after: load() };
    return { result: { ...figures, loadAvg, date: new Date().toISOString(), durationS: round((Date.now() - began) / 1000, 1) }, crashed: false };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    log(`failed: ${err instanceof Error && err.stack ? err.stack : message}`);
    return {
      result: { goal: bench.goal, met: false, note: `did not complete: ${message}`, date: new Date().toISOString(), durationS: round((Date.now() - began) / 1000, 1) },
      crashed: true,
    };
  } finally {
    clearTimeout(timer);
    await ctx.cleanup();
    current = undefined;
  }
}

function printTable(rows: Array<{ bench: Benchmark; result: BenchResult }>): void {
  const lines = rows.flatMap(({ bench, result }) => {
    const summary = bench.summarise(result);
    const status = result.met ? 'met' : 'MISSED';
    return summary.map((s, i) => (i === 0 ? `${bench.name.padEnd(4)}${status.padEnd(8)}${s}` : `${''.padEnd(12)}${s}`)).concat(result.note ? [`${''.padEnd(12)}note: ${result.note}`] : []);
  });
  console.log(['', 'bench status  figures', ...lines, ''].join('\n'));
}

async function main(): Promise<number> {
  let args: { names: string[]; out: string };
  let budgets: Map<string, number>;
  try {
    args = parseArgs(process.argv.slice(2));
    budgets = new Map(BENCHMARKS.map((b) => [b.name, budgetOf(b)]));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${usage()}`);
    return 2;
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.error(`${signal}: cleaning up`);
      void (current?.cleanup() ?? Promise.resolve()).finally(() => process.exit(130));
    });
  }
  const rows: Array<{ bench: Benchmark; result: BenchResult }> = [];
  let crashed = false;
  for (const name of args.names) {
    const bench = BENCHMARKS.find((b) => b.name === name)!;
    const outcome = await runOne(bench, budgets.get(name) ?? bench.budgetS);
    crashed ||= outcome.crashed;
    rows.push({ bench, result: outcome.result });
    // Written after each benchmark, so a later crash loses nothing already measured.
    await mergeResults(args.out, { [bench.name]: outcome.result });
  }
  printTable(rows);
  console.log(`results: ${args.out}`);
  return crashed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
