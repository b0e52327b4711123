// Runs one job: the build pipeline with progress, then — only if the job was not cancelled — the
// publish to the mirror as one transaction. The controller publishes itself (runBuild with
// publish off) so that a cancel at any moment before the publish leaves nothing in the mirror, and
// a publish once started is never interrupted: readers never see half a build.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { publishBuild, type PublishSummary } from '../../mirror/publish.js';
import type { MirrorStore } from '../../mirror/stores/store.js';
import type { ArchiveUrls } from '../archive/apt-sources.js';
import type { IndexReader } from '../archive/resolve.js';
import type { Builder } from '../build/builder.js';
import { runBuild, type BuildOutcome, type BuildRequest } from '../build/pipeline.js';
import type { RegistryService } from '../build/push-images.js';
import type { RockResult, RunEvent } from '../build/runner.js';
import { getRelease, getSeries } from '../catalog/releases.js';
import { parsePpaFlag } from '../cli/flags.js';
import type { UpstreamRocksRepo } from '../rocks/upstream.js';
import { LogTailer } from './log-tail.js';
import { trainKey } from './trains.js';
import type { Job, RockProgress } from './types.js';

export interface ExecutorServices {
  upstream: UpstreamRocksRepo;
  fetcher: IndexReader;
  archives: ArchiveUrls;
  builder: Builder;
  /** The Kubernetes Job builder, for the trains listed in `kubernetesTrains`. */
  kubernetesBuilder?: Builder;
  /** Train keys (`train/release/series`) whose rocks the Kubernetes builder packs. */
  kubernetesTrains?: readonly string[];
  store: MirrorStore;
  registry?: RegistryService;
  /** Parent of each job's work directory (removed when the job ends). */
  workRoot: string;
  rocksPerBuild: number;
  timeoutMs: number;
  arch: string;
}

export interface ExecutionProgress {
  rock(progress: RockProgress): void;
  log(rock: string, lines: string[]): void;
  /** Called (and awaited) just before the publish transaction starts: from here the build id is known. */
  publishing?(buildId: string): Promise<void>;
}

export interface ExecutionResult {
  state: 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
  rocks: RockProgress[];
  buildId?: string;
  result?: 'success' | 'fail';
  summary?: NonNullable<Job['summary']>;
  error?: string;
  published?: PublishSummary;
  outcome?: BuildOutcome;
}

export function buildRequestOf(job: Job, arch: string): BuildRequest {
  const r = job.request;
  return {
    train: r.train,
    release: getRelease(r.release),
    series: getSeries(r.series),
    pocket: r.pocket ?? 'updates',
    ppas: (r.ppas ?? []).map(parsePpaFlag),
    packages: r.packages ?? [],
    components: r.components ?? [],
    rocks: r.rocks ?? [],
    ...(r.suffix !== undefined ? { suffix: r.suffix } : {}),
    force: r.force ?? false,
    arch,
  };
}

/** The builder of the job's train: Kubernetes when the train is configured so, else local. */
export function builderFor(job: Job, services: Pick<ExecutorServices, 'builder' | 'kubernetesBuilder' | 'kubernetesTrains'>): Builder {
  return services.kubernetesBuilder && services.kubernetesTrains?.includes(trainKey(job.request)) ? services.kubernetesBuilder : services.builder;
}

export function rockProgress(result: RockResult): RockProgress {
  return {
    rock: result.rock,
    state: result.outcome,
    ...(result.failureClass ? { failureClass: result.failureClass } : {}),
    durationMs: result.durationMs,
  };
}

/**
 * Runs the job. `notBefore` is the earliest start time its build id may name: build ids are the
 * start second, so a build right after another of the same train waits for the next second
 * rather than collide with it.
 */
export async function executeJob(job: Job, services: ExecutorServices, signal: AbortSignal, progress: ExecutionProgress, notBefore = 0): Promise<ExecutionResult> {
  const workDir = join(services.workRoot, job.id);
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const tailer = new LogTailer(join(workDir, 'logs'), (rock, lines) => progress.log(rock, lines));
  const finishing: Promise<void>[] = [];
  const onEvent = (event: RunEvent) => {
    if (event.type === 'start') {
      progress.rock({ rock: event.rock, state: 'building' });
      tailer.follow(event.rock);
      return;
    }
    // The last lines of the log go out before the rock's final state.
    finishing.push(tailer.finish(event.result.rock).then(() => progress.rock(rockProgress(event.result))));
  };
  try {
    let outcome: BuildOutcome;
    try {
      outcome = await runBuild(buildRequestOf(job, services.arch), {
        upstream: services.upstream,
        fetcher: services.fetcher,
        archives: services.archives,
        builder: builderFor(job, services),
        // The job id names the build to the builder: stable for the job, traceable on its Jobs.
        buildRef: job.id,
        store: services.store,
        ...(services.registry ? { registry: services.registry } : {}),
        publish: false,
        workDir,
        jobs: services.rocksPerBuild,
        timeoutMs: services.timeoutMs,
        signal,
        onEvent,
        now: () => new Date(Math.max(Date.now(), notBefore)),
      });
    } catch (error) {
      await Promise.all(finishing);
      if (signal.aborted) return { state: 'cancelled', rocks: [], error: 'cancelled' };
      return { state: 'failed', rocks: [], error: error instanceof Error ? error.message : String(error) };
    }
    await Promise.all(finishing);
    const rocks = outcome.results.map(rockProgress).sort((a, b) => a.rock.localeCompare(b.rock));
    const summary = {
      built: outcome.summary.built,
      reused: outcome.summary.reused,
      failed: outcome.summary.failed.map((f) => ({ rock: f.rock, failureClass: f.failureClass })),
      skipped: outcome.summary.skipped,
    };
    // The decisive check: after this line the build is published whatever happens to the job.
    if (signal.aborted) return { state: 'cancelled', rocks, summary, error: 'cancelled; nothing was published' };
    await progress.publishing?.(outcome.buildId);
    const published = await publishBuild(services.store, { metadata: outcome.metadata, files: outcome.staged, reused: outcome.reused });
    return {
      state: outcome.result === 'success' ? 'succeeded' : 'failed',
      rocks,
      buildId: outcome.buildId,
      result: outcome.result,
      summary,
      published,
      outcome,
      ...(outcome.notes.length > 0 ? { error: outcome.notes.join('; ') } : {}),
    };
  } finally {
    await tailer.stop();
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}
