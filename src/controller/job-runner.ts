// Starts queued jobs within the global concurrency bound (one at a time per train/release/series),
// runs each through the executor, and does what follows a build: record what the change watch saw,
// announce the publish, apply the train's retention, attach when asked, and audit all of it.
import type { Logger } from 'pino';
import { buildIdToDate } from '../../mirror/layout.js';
import { applyRetention } from '../../mirror/lifecycle.js';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { SHUTDOWN_REASON } from '../build/builder.js';
import type { AuditLog } from './audit.js';
import type { ControllerConfig } from './config.js';
import type { Deployer } from './deployer.js';
import { EventHub } from './events.js';
import { executeJob, type ExecutionResult, type ExecutorServices } from './executor.js';
import { jobKey, type JobQueue, type JobRecord } from './queue.js';
import { trainKey } from './trains.js';
import type { Job, JobEvent, RockProgress } from './types.js';
import type { ChangeWatcher } from './watch.js';

export interface JobRunnerContext {
  config: () => ControllerConfig;
  queue: JobQueue;
  hub: EventHub;
  audit: AuditLog;
  watcher: ChangeWatcher;
  deployer: Deployer;
  store: MirrorStore;
  services: () => ExecutorServices;
  logger: Logger;
  now: () => Date;
  scrub: (text: string) => string;
  /** Called after a publish with the build latest now names, if it moved. */
  onPublished: (key: string, latest: string | undefined) => void;
  /** Reconciles after a build asked to be attached. */
  reconcile: (actor: string) => Promise<unknown>;
}

/**
 * The abort reason of jobs cut short by a shutdown: they end `interrupted`, not `cancelled`, and a
 * builder whose work runs elsewhere (Kubernetes Jobs) leaves it running to be re-attached.
 */
const SHUTDOWN = SHUTDOWN_REASON;

export class JobRunner {
  private readonly running = new Map<string, { abort: AbortController; done: Promise<void> }>();
  /** Per train/release/series, the first second the next build id may name. */
  private readonly nextBuildSecond = new Map<string, number>();
  private paused = false;

  constructor(private readonly ctx: JobRunnerContext) {}

  get size(): number {
    return this.running.size;
  }

  /** Stops starting jobs (drain, or not the leader); running ones go on. */
  pause(paused: boolean): void {
    this.paused = paused;
    if (!paused) this.pump();
  }

  /** Starts as many queued jobs as the bound allows. */
  pump(): void {
    const limit = this.ctx.config().concurrency.builds;
    while (!this.paused && this.running.size < limit) {
      const job = this.ctx.queue.nextRunnable();
      if (!job) return;
      this.start(job);
    }
  }

  /** Aborts a running job; false when it is not running here. */
  abort(jobId: string): boolean {
    const entry = this.running.get(jobId);
    if (!entry) return false;
    entry.abort.abort();
    return true;
  }

  /** Waits up to `graceMs` for running jobs, then cancels what is left and waits for it to stop. */
  async drain(graceMs: number): Promise<void> {
    this.paused = true;
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)));
    const first = await Promise.race([all().then(() => 'done' as const), timeout]);
    clearTimeout(timer);
    if (first === 'timeout') {
      this.ctx.logger.warn({ jobs: [...this.running.keys()] }, `builds still running after ${graceMs} ms; cancelling them`);
      for (const entry of this.running.values()) entry.abort.abort(SHUTDOWN);
      await all();
    }
  }

  private start(job: Job): void {
    const record = this.ctx.queue.get(job.id);
    if (!record) return;
    const abort = new AbortController();
    job.state = 'running';
    job.startedAt = this.ctx.now().toISOString();
    job.rocks = [];
    const done = this.run(record, abort.signal)
      .catch((error: unknown) => this.ctx.logger.error({ err: error, jobId: job.id }, 'job bookkeeping failed'))
      .finally(() => {
        this.running.delete(job.id);
        this.pump();
      });
    this.running.set(job.id, { abort, done });
  }

  private emit(event: JobEvent): void {
    this.ctx.hub.job(event);
  }

  private async run(record: JobRecord, signal: AbortSignal): Promise<void> {
    const job = record.job;
    // On disk as running before any work: a crash from here on marks it interrupted.
    await this.ctx.queue.save();
    this.emit(EventHub.snapshot(job));
    this.ctx.logger.info({ jobId: job.id, train: jobKey(job) }, 'build started');
    const progress = (rock: RockProgress) => {
      const i = job.rocks.findIndex((r) => r.rock === rock.rock);
      if (i >= 0) job.rocks[i] = rock;
      else job.rocks.push(rock);
      this.emit({ type: 'rock', jobId: job.id, rock });
      void this.ctx.queue.save();
    };
    let result: ExecutionResult;
    try {
      result = await executeJob(job, this.ctx.services(), signal, {
        rock: progress,
        log: (rock, lines) => this.emit({ type: 'log', jobId: job.id, rock, lines: lines.map(this.ctx.scrub) }),
        publishing: async (buildId) => {
          // On disk before the transaction: after a crash the job names the build it was publishing.
          job.buildId = buildId;
          await this.ctx.queue.save();
          this.ctx.logger.info({ jobId: job.id, train: jobKey(job), buildId }, 'publishing');
        },
      }, this.nextBuildSecond.get(jobKey(job)));
      if (result.buildId) this.nextBuildSecond.set(jobKey(job), buildIdToDate(result.buildId).getTime() + 1000);
    } catch (error) {
      result = { state: signal.aborted ? 'cancelled' : 'failed', rocks: job.rocks, error: error instanceof Error ? error.message : String(error) };
    }
    if (result.state === 'cancelled' && signal.reason === SHUTDOWN) {
      result = { ...result, state: 'interrupted', error: 'the controller stopped before this build finished; nothing of it was published' };
    }
    await this.finish(record, result);
  }

  private async finish(record: JobRecord, result: ExecutionResult): Promise<void> {
    const job = record.job;
    const actor = record.actor ?? job.trigger;
    const target = jobKey(job);
    // What the watch saw is now built (successfully or not): the next tick compares with it.
    // Recorded before the job shows as ended, so a tick right after never sees a stale state.
    if (result.published && record.observation) {
      await this.ctx.watcher.commit({ name: job.request.train, release: job.request.release, series: job.request.series }, record.observation);
    }
    // Announced and pruned by retention before the job shows as ended: a client that sees it
    // succeed and then lists the builds sees what retention kept.
    if (result.published && result.buildId) {
      const published = { train: job.request.train, release: job.request.release, series: job.request.series, buildId: result.buildId, result: result.result ?? 'fail' } as const;
      this.ctx.hub.emit({ type: 'published', ...published });
      this.ctx.logger.info({ jobId: job.id, train: target, buildId: result.buildId, latestMoved: result.published.latestMoved }, 'published');
      await this.ctx.audit.record(actor, 'publish', `${target}/${result.buildId}`, { result: published.result, latestMoved: result.published.latestMoved, jobId: job.id });
      this.ctx.onPublished(target, result.published.latestMoved ? result.buildId : undefined);
      await this.retention(job, actor);
    }
    job.state = result.state;
    job.finishedAt = this.ctx.now().toISOString();
    if (result.rocks.length > 0) job.rocks = result.rocks;
    if (result.buildId) job.buildId = result.buildId;
    if (result.result) job.result = result.result;
    if (result.summary) job.summary = result.summary;
    if (result.error) job.error = this.ctx.scrub(result.error);
    await this.ctx.queue.save();
    this.ctx.logger.info({ jobId: job.id, train: target, state: job.state, buildId: job.buildId, error: job.error }, 'build finished');
    await this.ctx.audit.record(actor, 'build.finish', target, { jobId: job.id, state: job.state, ...(job.buildId ? { buildId: job.buildId } : {}), ...(job.error ? { error: job.error } : {}) });
    this.emit(EventHub.snapshot(job));
    this.ctx.hub.emit({ type: 'build-finished', job: structuredClone(job) });

    if (job.state === 'succeeded' && job.request.attach && job.buildId) {
      try {
        await this.ctx.deployer.attachBuild(job.request.train, job.request.release, job.request.series, job.buildId);
        await this.ctx.reconcile(actor);
      } catch (error) {
        this.ctx.logger.warn({ jobId: job.id, err: error }, 'attaching the build failed');
      }
    } else if (result.published?.latestMoved && this.attachedByConfig(job)) {
      // A train the configuration keeps attached moved its `latest`: reconcile now rather than at
      // the next periodic pass, so the model follows the build that just landed.
      try {
        await this.ctx.reconcile(actor);
      } catch (error) {
        this.ctx.logger.warn({ jobId: job.id, err: error }, 'reconciling after the build failed');
      }
    }
  }

  private attachedByConfig(job: Job): boolean {
    const key = trainKey(job.request);
    return this.ctx.config().trains.some((t) => t.attach && trainKey(t) === key);
  }

  private async retention(job: Job, actor: string): Promise<void> {
    const config = this.ctx.config();
    const key = trainKey(job.request);
    const policy = config.trains.find((t) => trainKey(t) === key)?.retention ?? config.retention;
    if (!policy) return;
    const ts = { train: job.request.train, release: job.request.release, series: job.request.series };
    try {
      const inUse = await this.ctx.deployer.inUse(ts.train).catch(() => []);
      const report = await applyRetention(this.ctx.store, ts, policy, { inUse, now: this.ctx.now });
      if (report.deleted.length > 0) await this.ctx.audit.record(actor, 'retention', key, { deleted: report.deleted });
    } catch (error) {
      this.ctx.logger.warn({ err: error, train: key }, 'retention failed');
    }
  }
}
