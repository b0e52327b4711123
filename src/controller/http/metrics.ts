// Prometheus metrics of the controller, fed from its events and, at each scrape, from status().
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { findRelease } from '../../catalog/releases.js';
import type { ControllerApi, ControllerEvent, ControllerStatus, Job } from '../types.js';

/**
 * What a `published` event may carry beyond the contract. The core does not report publish
 * timings or sizes yet; when it adds these fields, the publish metrics fill in.
 */
export interface PublishedEventExtras {
  durationMs?: number;
  bytesUploaded?: number;
}

const seconds = (ms: number) => ms / 1000;

function failureClass(job: Job): string {
  const failed = job.summary?.failed[0]?.failureClass ?? job.rocks.find((r) => r.state === 'failed')?.failureClass;
  if (failed) return failed;
  return job.error ? 'job' : 'none';
}

export class ControllerMetrics {
  private readonly successes = new Map<string, number>();
  private readonly status: Pick<ControllerApi, 'status'>;
  private pending: Promise<ControllerStatus | undefined> | undefined;
  private readonly builds: Counter<'result' | 'failure_class'>;
  private readonly buildDuration: Histogram<'result'>;
  private readonly publishDuration: Histogram;
  private readonly publishedBytes: Counter;
  private readonly rocks: Counter<'outcome'>;
  private readonly reconcileActions: Counter<'action'>;
  private readonly rollbacks: Counter<'app'>;
  private readonly promotions: Counter;
  private readonly lastSuccess: Gauge<'train' | 'release' | 'series'>;
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpDuration: Histogram<'method' | 'route'>;

  constructor(registry: Registry, controller: Pick<ControllerApi, 'status'>) {
    const registers = [registry];
    this.status = controller;
    const queue: Gauge<'state'> = new Gauge({
      name: 'heliostat_queue_jobs',
      help: 'Jobs waiting and running, from the controller status at scrape time',
      labelNames: ['state'],
      registers,
      collect: async () => {
        const status = await this.scrapeStatus();
        // Without an answer the last values stay; /readyz reports the controller's trouble.
        if (!status) return;
        queue.set({ state: 'queued' }, status.queue.queued);
        queue.set({ state: 'running' }, status.queue.running);
      },
    });
    this.builds = new Counter({ name: 'heliostat_builds_total', help: 'Finished build jobs by result and failure class', labelNames: ['result', 'failure_class'], registers });
    this.buildDuration = new Histogram({ name: 'heliostat_build_duration_seconds', help: 'Duration of build jobs from start to end', labelNames: ['result'], buckets: [30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400], registers });
    this.publishDuration = new Histogram({ name: 'heliostat_publish_duration_seconds', help: 'Duration of publishing a build to the mirror', buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800], registers });
    this.publishedBytes = new Counter({ name: 'heliostat_published_bytes_total', help: 'Bytes uploaded to the mirror by publications', registers });
    this.rocks = new Counter({ name: 'heliostat_rocks_total', help: 'Rocks of finished jobs by outcome (built, reused, failed, skipped)', labelNames: ['outcome'], registers });
    this.reconcileActions = new Counter({ name: 'heliostat_reconcile_actions_total', help: 'Changes reconcile made to the model by kind (attach, rollback, restore)', labelNames: ['action'], registers });
    this.rollbacks = new Counter({ name: 'heliostat_rollbacks_total', help: 'Rollbacks after a failed rollout, by application', labelNames: ['app'], registers });
    this.promotions = new Counter({ name: 'heliostat_promotions_total', help: 'Builds promoted to stable', registers });
    this.lastSuccess = new Gauge({
      name: 'heliostat_last_success_timestamp_seconds',
      help: 'When the last successful build of a train ended (Unix time)',
      labelNames: ['train', 'release', 'series'],
      registers,
      collect: async () => {
        const status = await this.scrapeStatus();
        if (status) this.fromStatus(status);
      },
    });
    this.httpRequests = new Counter({ name: 'heliostat_http_requests_total', help: 'API requests by route and status', labelNames: ['method', 'route', 'status'], registers });
    this.httpDuration = new Histogram({ name: 'heliostat_http_request_duration_seconds', help: 'API request durations by route', labelNames: ['method', 'route'], buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30], registers });
  }

  observe(event: ControllerEvent): void {
    switch (event.type) {
      case 'build-finished':
        return this.finished(event.job);
      case 'published': {
        const extras = event as typeof event & PublishedEventExtras;
        if (typeof extras.durationMs === 'number') this.publishDuration.observe(seconds(extras.durationMs));
        if (typeof extras.bytesUploaded === 'number' && extras.bytesUploaded >= 0) this.publishedBytes.inc(extras.bytesUploaded);
        return;
      }
      case 'promoted':
        return this.promotions.inc();
      case 'attached':
        return this.reconcileActions.inc({ action: 'attach' });
      case 'restored':
        return this.reconcileActions.inc({ action: 'restore' });
      case 'rolled-back':
        this.reconcileActions.inc({ action: 'rollback' });
        return this.rollbacks.inc({ app: event.app });
      default:
        return;
    }
  }

  request(method: string, route: string, status: number, durationMs: number): void {
    this.httpRequests.inc({ method, route, status: String(status) });
    this.httpDuration.observe({ method, route }, seconds(durationMs));
  }

  private finished(job: Job): void {
    const result = job.result ?? job.state;
    this.builds.inc({ result, failure_class: result === 'success' ? 'none' : failureClass(job) });
    if (job.startedAt && job.finishedAt) {
      const ms = Date.parse(job.finishedAt) - Date.parse(job.startedAt);
      if (Number.isFinite(ms) && ms >= 0) this.buildDuration.observe({ result }, seconds(ms));
    }
    const summary = job.summary;
    if (summary) {
      for (const [outcome, count] of [['built', summary.built.length], ['reused', summary.reused.length], ['failed', summary.failed.length], ['skipped', summary.skipped.length]] as const) {
        if (count > 0) this.rocks.inc({ outcome }, count);
      }
    } else {
      for (const rock of job.rocks) if (rock.state !== 'pending' && rock.state !== 'building') this.rocks.inc({ outcome: rock.state });
    }
    if (job.result === 'success' && job.finishedAt) this.markSuccess(job.request.train, job.request.release, job.request.series, job.finishedAt);
  }

  /** One status() per scrape: the registry collects every metric at once, so they share it. */
  private scrapeStatus(): Promise<ControllerStatus | undefined> {
    this.pending ??= this.status
      .status()
      .catch(() => undefined)
      .finally(() => {
        this.pending = undefined;
      });
    return this.pending;
  }

  private fromStatus(status: ControllerStatus): void {
    for (const train of status.trains) {
      if (train.lastRun?.result === 'success') this.markSuccess(train.name, train.release, train.series, train.lastRun.at);
    }
  }

  /** Only ever moves forward: a status showing an older run does not undo a newer event. */
  private markSuccess(train: string, release: string, series: string, at: string): void {
    const value = Date.parse(at) / 1000;
    if (!Number.isFinite(value)) return;
    const labels = { train, release: findRelease(release)?.number ?? release, series };
    const key = `${labels.train}/${labels.release}/${labels.series}`;
    const current = this.successes.get(key);
    if (current !== undefined && value <= current) return;
    this.successes.set(key, value);
    this.lastSuccess.set(labels, value);
  }
}
