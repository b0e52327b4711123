// The job queue and its persistence: every job, queued or finished, in one JSON file in the data
// dir. On start, queued jobs are resumed and jobs that were running are marked `interrupted`
// (their build never reached the mirror: publishing is the last step and is atomic). Finished jobs
// are kept up to a bound so that history survives restarts without growing without end.
import { rename } from 'node:fs/promises';
import { z } from 'zod';
import { trainKey } from './trains.js';
import { CoalescingWriter, readJson } from './state-file.js';
import { JOB_STATES, type Job, type JobState } from './types.js';
import type { Observation } from './watch.js';

export interface JobRecord {
  job: Job;
  /** What the change watch saw when it queued this job; recorded as built once the job ends. */
  observation?: Observation;
  /** Who asked for it (API client name, `schedule`, `charm`); builds it triggers act as them. */
  actor?: string;
}

const MAX_FINISHED = 1000;
const ACTIVE: readonly JobState[] = ['queued', 'running'];

const recordSchema = z.object({
  job: z
    .object({
      id: z.string().min(1),
      request: z.object({ release: z.string(), series: z.string(), train: z.string() }).passthrough(),
      trigger: z.enum(['api', 'schedule', 'cli', 'charm', 'change']),
      state: z.enum(JOB_STATES),
      createdAt: z.string(),
      rocks: z.array(z.object({ rock: z.string(), state: z.string() }).passthrough()),
    })
    .passthrough(),
  observation: z.object({ head: z.string().optional(), sources: z.record(z.string(), z.string()) }).optional(),
  actor: z.string().optional(),
});
const fileSchema = z.object({ schema: z.literal(1), jobs: z.array(recordSchema) });

export function jobKey(job: Job): string {
  return trainKey(job.request);
}

export function isActive(job: Job): boolean {
  return ACTIVE.includes(job.state);
}

export class JobQueue {
  private readonly records = new Map<string, JobRecord>();
  private readonly writer: CoalescingWriter;

  constructor(
    readonly path: string,
    private readonly now: () => Date,
    onError: (error: unknown) => void = () => undefined,
  ) {
    this.writer = new CoalescingWriter(path, () => ({ schema: 1, jobs: [...this.records.values()] }), onError);
  }

  /**
   * Loads the file. Running jobs become `interrupted` (returned, so the caller can report them);
   * a file that cannot be read as jobs is moved aside, never overwritten, and reported by throwing
   * after the move so the controller starts empty but says why.
   */
  async load(): Promise<{ interrupted: Job[]; resumed: Job[] }> {
    let data: unknown;
    try {
      data = await readJson(this.path);
    } catch {
      data = null;
    }
    if (data === undefined) return { interrupted: [], resumed: [] };
    const parsed = fileSchema.safeParse(data);
    if (!parsed.success) {
      const aside = `${this.path}.corrupt-${this.now().getTime()}`;
      await rename(this.path, aside);
      throw new Error(`job state ${this.path} was unreadable; moved to ${aside} and starting with an empty queue`);
    }
    const interrupted: Job[] = [];
    const resumed: Job[] = [];
    for (const record of parsed.data.jobs as JobRecord[]) {
      const job = record.job;
      if (job.state === 'running') {
        job.state = 'interrupted';
        job.finishedAt = this.now().toISOString();
        job.error = job.buildId
          ? `the controller stopped while publishing build ${job.buildId}: the mirror lists it only if its publish committed, and then it is complete`
          : 'the controller stopped while this job was running; nothing of it was published';
        job.rocks = job.rocks.map((r) => (r.state === 'building' || r.state === 'pending' ? { ...r, state: 'skipped' } : r));
        interrupted.push(job);
      } else if (job.state === 'queued') {
        resumed.push(job);
      }
      this.records.set(job.id, record);
    }
    if (interrupted.length > 0) await this.save();
    return { interrupted, resumed };
  }

  add(record: JobRecord): void {
    this.records.set(record.job.id, record);
    this.prune();
  }

  get(id: string): JobRecord | undefined {
    return this.records.get(id);
  }

  /** Newest first. */
  list(filter: { state?: JobState; train?: string; limit?: number } = {}): Job[] {
    const out: Job[] = [];
    const limit = Math.max(1, Math.min(filter.limit ?? 100, MAX_FINISHED));
    for (const { job } of [...this.records.values()].reverse()) {
      if (filter.state && job.state !== filter.state) continue;
      if (filter.train && job.request.train !== filter.train) continue;
      out.push(job);
      if (out.length >= limit) break;
    }
    return out;
  }

  count(state: JobState): number {
    let n = 0;
    for (const { job } of this.records.values()) if (job.state === state) n += 1;
    return n;
  }

  /** Whether a job of this train/release/series is queued or running. */
  hasActive(key: string): boolean {
    for (const { job } of this.records.values()) if (isActive(job) && jobKey(job) === key) return true;
    return false;
  }

  /** The oldest queued job whose train/release/series has no job running (single flight). */
  nextRunnable(): Job | undefined {
    const busy = new Set<string>();
    for (const { job } of this.records.values()) if (job.state === 'running') busy.add(jobKey(job));
    for (const { job } of this.records.values()) if (job.state === 'queued' && !busy.has(jobKey(job))) return job;
    return undefined;
  }

  /** The newest job of a train/release/series. */
  latestFor(key: string): Job | undefined {
    let found: Job | undefined;
    for (const { job } of this.records.values()) if (jobKey(job) === key) found = job;
    return found;
  }

  save(): Promise<void> {
    return this.writer.save();
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  private prune(): void {
    const finished = [...this.records.values()].filter((r) => !isActive(r.job));
    for (const r of finished.slice(0, Math.max(0, finished.length - MAX_FINISHED))) this.records.delete(r.job.id);
  }
}
