// What a job the controller was running when it died left behind. A job that had not reached its
// publish left nothing. One that had may have committed its build.json: then the build is complete
// (the transaction's guarantee) and only what follows the commit — the `latest` alias and the
// index — may lag; repairing the series finishes it, so nothing committed stays half-announced.
import { repairSeries } from '../../mirror/lifecycle.js';
import { readBuildRecord } from '../../mirror/series.js';
import type { MirrorStore } from '../../mirror/stores/store.js';
import type { Logger } from 'pino';
import type { AuditLog } from './audit.js';
import { jobKey } from './queue.js';
import type { BuildRequestInput, Job } from './types.js';

export interface SettledJob {
  job: Job;
  /** The build the job committed before it stopped, complete in the mirror. */
  committed?: string;
  /** Set when the repair moved `latest` to the committed build. */
  latestMovedTo?: string;
}

/** Rewrites each interrupted job's error to say exactly what it left in the mirror. */
export async function settleInterrupted(store: MirrorStore, jobs: readonly Job[], now: () => Date): Promise<SettledJob[]> {
  const settled: SettledJob[] = [];
  for (const job of jobs) {
    const buildId = job.buildId;
    if (buildId === undefined) {
      settled.push({ job });
      continue;
    }
    const ts = { train: job.request.train, release: job.request.release, series: job.request.series };
    const record = await readBuildRecord(store, ts, buildId);
    if (record === undefined) {
      delete job.buildId;
      job.error = `the controller stopped while publishing build ${buildId}, before its commit; nothing of it was published`;
      settled.push({ job });
      continue;
    }
    const repair = await repairSeries(store, ts, { now });
    job.result = record.result;
    job.error = `the controller stopped after build ${buildId} was committed: the build is complete in the mirror${repair.latestMovedTo === buildId ? ' and latest now names it' : ''}`;
    settled.push({ job, committed: buildId, ...(repair.latestMovedTo ? { latestMovedTo: repair.latestMovedTo } : {}) });
  }
  return settled;
}

export interface RecoverDeps {
  store: MirrorStore;
  now: () => Date;
  logger: Logger;
  audit: AuditLog;
  /** Keys of the trains built by Kubernetes Jobs. */
  kubernetesTrains: readonly string[];
}

/**
 * Settles, logs and audits the jobs running when the controller stopped; returns the requests to
 * submit again: those of trains built by Kubernetes Jobs that committed nothing, whose Jobs kept
 * running and which the new build re-attaches to by build key.
 */
export async function recoverInterrupted(jobs: readonly Job[], deps: RecoverDeps): Promise<BuildRequestInput[]> {
  if (jobs.length === 0) return [];
  const settled = await settleInterrupted(deps.store, jobs, deps.now).catch((error: unknown): SettledJob[] => {
    deps.logger.warn({ err: error }, 'cannot check what interrupted jobs left in the mirror');
    return jobs.map((job) => ({ job }));
  });
  const kubernetes = new Set(deps.kubernetesTrains);
  const again: BuildRequestInput[] = [];
  for (const { job, committed } of settled) {
    deps.logger.warn({ jobId: job.id, train: jobKey(job), buildId: committed, error: job.error }, 'job was running when the controller stopped; marked interrupted');
    await deps.audit.record('controller', 'build.interrupted', jobKey(job), { jobId: job.id, ...(committed ? { committed } : {}) });
    if (!committed && kubernetes.has(jobKey(job))) again.push({ ...job.request });
  }
  return again;
}
