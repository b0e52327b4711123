// Runs a build's rocks through a builder with bounded concurrency. One failing rock never stops the
// others; every rock ends with an outcome, and the run ends with a kolla-style summary.
import pLimit from 'p-limit';
import { BuildFailure, type Builder, type FailureClass } from './builder.js';

export type RockOutcome = 'built' | 'reused' | 'failed' | 'skipped';

export interface RunItem {
  rock: string;
  /** Files of the build directory (rockcraft.yaml and workaround inputs). */
  files: Readonly<Record<string, string>>;
  logFile: string;
  /** Set when an earlier build with the same key can be referenced instead. */
  reuse?: boolean;
  /** The rock's build key, handed to the builder. */
  key?: string;
}

export interface RockResult {
  rock: string;
  outcome: RockOutcome;
  rockFile?: string;
  failureClass?: FailureClass;
  error?: string;
  durationMs: number;
}

export type RunEvent =
  | { type: 'start'; rock: string }
  | { type: 'finish'; result: RockResult };

export interface RunOptions {
  jobs: number;
  timeoutMs: number;
  outputDir: string;
  /** The build these rocks belong to, handed to the builder. */
  buildId?: string;
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
}

export interface RunSummary {
  built: string[];
  reused: string[];
  failed: Array<{ rock: string; failureClass: FailureClass; error: string }>;
  skipped: string[];
}

export async function runBuilds(items: readonly RunItem[], builder: Builder, options: RunOptions): Promise<RockResult[]> {
  const limit = pLimit(Math.max(1, builder.concurrency ?? options.jobs));
  const emit = options.onEvent ?? (() => undefined);
  const runOne = async (item: RunItem): Promise<RockResult> => {
    if (item.reuse) return finish({ rock: item.rock, outcome: 'reused', durationMs: 0 });
    if (options.signal?.aborted) return finish({ rock: item.rock, outcome: 'skipped', durationMs: 0, error: 'cancelled before start' });
    emit({ type: 'start', rock: item.rock });
    const started = Date.now();
    try {
      const artifact = await builder.build({
        rock: item.rock,
        files: item.files,
        logFile: item.logFile,
        outputDir: options.outputDir,
        timeoutMs: options.timeoutMs,
        signal: options.signal,
        ...(options.buildId !== undefined ? { buildId: options.buildId } : {}),
        ...(item.key !== undefined ? { key: item.key } : {}),
      });
      return finish({ rock: item.rock, outcome: 'built', rockFile: artifact.rockFile, durationMs: artifact.durationMs });
    } catch (error) {
      const failure = error instanceof BuildFailure ? error : new BuildFailure('infra', error instanceof Error ? error.message : String(error));
      return finish({ rock: item.rock, outcome: 'failed', failureClass: failure.failureClass, error: failure.message, durationMs: Date.now() - started });
    }
  };
  const finish = (result: RockResult): RockResult => {
    emit({ type: 'finish', result });
    return result;
  };
  return Promise.all(items.map((item) => limit(() => runOne(item))));
}

export function summarise(results: readonly RockResult[]): RunSummary {
  const by = (outcome: RockOutcome) => results.filter((r) => r.outcome === outcome).map((r) => r.rock);
  return {
    built: by('built'),
    reused: by('reused'),
    failed: results
      .filter((r) => r.outcome === 'failed')
      .map((r) => ({ rock: r.rock, failureClass: r.failureClass ?? 'build', error: r.error ?? '' })),
    skipped: by('skipped'),
  };
}
