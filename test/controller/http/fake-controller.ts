// A ControllerApi that records every call and emits job and controller events when a test says
// so. Submit validates with the contract schema like the real core, so a test can tell whether the
// HTTP layer refused a request itself (no call recorded) or passed it on.
import { UsageError } from '../../../src/errors.js';
import {
  buildRequestSchema,
  type AttachResult,
  type AuditEntry,
  type ControllerApi,
  type ControllerEvent,
  type ControllerStatus,
  type DetachResult,
  type GcResult,
  type Job,
  type JobEvent,
  type JobState,
  type JobTrigger,
  type RockProgress,
  type RollbackResult,
  type TrainStatus,
} from '../../../src/controller/types.js';

export const MUTATING = ['submit', 'cancel', 'reconcile', 'promote', 'pin', 'unpin', 'attach', 'detach', 'rollback', 'gc'] as const;

export interface Call {
  method: string;
  args: unknown[];
}

const ENDED: readonly JobState[] = ['succeeded', 'failed', 'cancelled', 'interrupted'];

export class FakeController implements ControllerApi {
  readonly calls: Call[] = [];
  readonly jobsById = new Map<string, Job>();
  private readonly jobListeners = new Map<string, Set<(event: JobEvent) => void>>();
  private readonly listeners = new Set<(event: ControllerEvent) => void>();
  private seq = 0;
  /** Runs after submit created its jobs (tests script builds here). */
  onSubmit?: (jobs: Job[]) => void;
  statusValue: ControllerStatus = {
    version: '0.1.0',
    startedAt: '2025-01-01T00:00:00.000Z',
    leader: true,
    queue: { queued: 2, running: 1 },
    trains: [],
    reconcile: { held: 0, enabled: true },
    builder: { available: true, version: '1.0' },
    juju: { available: true },
    mirror: { location: 'fs:/srv/mirror' },
  };
  statusError?: Error;
  trainsValue: TrainStatus[] = [{ name: 'reference', release: '2024.1', series: 'noble', attach: true, pin: 'latest', schedule: '0 3 * * *' }];
  historyValue: AuditEntry[] = [{ at: '2025-01-01T00:00:00.000Z', actor: 'ci', action: 'submit', target: 'job-1' }];
  reconcileResult: unknown = { actions: [], problems: [] };
  /** Makes the next mutating call reject with this error. */
  failNext?: Error;

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
    const failure = this.failNext;
    if (failure && (MUTATING as readonly string[]).includes(method)) {
      this.failNext = undefined;
      throw failure;
    }
  }

  mutatingCalls(): Call[] {
    return this.calls.filter((c) => (MUTATING as readonly string[]).includes(c.method));
  }

  subscriberCount(jobId: string): number {
    return this.jobListeners.get(jobId)?.size ?? 0;
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  /** Adds a job as if the controller had queued it. */
  addJob(patch: Partial<Job> & { request?: Partial<Job['request']> } = {}): Job {
    const id = patch.id ?? `job-${++this.seq}`;
    const job: Job = {
      id,
      trigger: 'api',
      state: 'queued',
      createdAt: new Date().toISOString(),
      rocks: [],
      ...patch,
      request: { release: '2024.1', train: 'reference', series: 'noble', ...patch.request },
    };
    this.jobsById.set(id, job);
    return job;
  }

  submit(requests: readonly unknown[], trigger: JobTrigger, actor: string): Promise<Job[]> {
    try {
      this.record('submit', requests, trigger, actor);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const parsed = requests.map((r) => buildRequestSchema.safeParse(r));
    if (parsed.some((p) => !p.success)) return Promise.reject(new UsageError('invalid build request'));
    const jobs = parsed.map((p) => {
      const request = p.data ?? { release: '2024.1' };
      return this.addJob({ trigger, request: { ...request, train: request.train ?? 'reference', series: request.series ?? 'noble' } });
    });
    this.onSubmit?.(jobs);
    return Promise.resolve(jobs);
  }

  job(id: string): Job | undefined {
    return this.jobsById.get(id);
  }

  jobs(filter: { state?: JobState; train?: string; limit?: number } = {}): Job[] {
    this.calls.push({ method: 'jobs', args: [filter] });
    return [...this.jobsById.values()]
      .filter((j) => (filter.state ? j.state === filter.state : true) && (filter.train ? j.request.train === filter.train : true))
      .reverse()
      .slice(0, filter.limit ?? 100);
  }

  subscribe(jobId: string, listener: (event: JobEvent) => void): () => void {
    this.calls.push({ method: 'subscribe', args: [jobId] });
    const job = this.jobsById.get(jobId);
    if (job) listener({ type: 'job', job });
    const set = this.jobListeners.get(jobId) ?? new Set();
    set.add(listener);
    this.jobListeners.set(jobId, set);
    return () => set.delete(listener);
  }

  cancel(jobId: string, actor: string): Promise<boolean> {
    this.record('cancel', jobId, actor);
    const job = this.jobsById.get(jobId);
    if (!job || ENDED.includes(job.state)) return Promise.resolve(false);
    this.update(jobId, { state: 'cancelled', finishedAt: new Date().toISOString() });
    return Promise.resolve(true);
  }

  trains(): TrainStatus[] {
    return this.trainsValue;
  }

  status(): Promise<ControllerStatus> {
    this.calls.push({ method: 'status', args: [] });
    return this.statusError ? Promise.reject(this.statusError) : Promise.resolve(this.statusValue);
  }

  async reconcile(options: { dryRun?: boolean; force?: boolean }, actor: string): Promise<unknown> {
    this.record('reconcile', options, actor);
    return Promise.resolve(this.reconcileResult);
  }

  async promote(ref: string, actor: string): Promise<{ ref: string; buildId: string }> {
    this.record('promote', ref, actor);
    return Promise.resolve({ ref, buildId: '20250101T000000Z' });
  }

  async pin(ref: string, name: string, options: { expiresAt?: string; note?: string }, actor: string): Promise<{ ref: string; buildId: string }> {
    this.record('pin', ref, name, options, actor);
    return Promise.resolve({ ref, buildId: '20250101T000000Z' });
  }

  async unpin(seriesRef: string, name: string, actor: string): Promise<void> {
    this.record('unpin', seriesRef, name, actor);
    return Promise.resolve();
  }

  async attach(ref: string, actor: string): Promise<AttachResult> {
    this.record('attach', ref, actor);
    const [train = '', release = '', series = '', selector = ''] = ref.split('/');
    return Promise.resolve({ ref, train, release, series, buildId: /^\d{8}T\d{6}Z$/.test(selector) ? selector : '20250101T000000Z' });
  }

  async detach(seriesRef: string, actor: string): Promise<DetachResult> {
    this.record('detach', seriesRef, actor);
    const [train = '', release = '', series = ''] = seriesRef.split('/');
    return Promise.resolve({ train, release, series, restores: 'originals' });
  }

  rollbackResult: RollbackResult = { rolledBack: [{ train: 'fix', release: '2024.1', series: 'noble', from: '20250102T000000Z', to: '20250101T000000Z', apps: ['cinder'] }] };

  async rollback(options: { app?: string }, actor: string): Promise<RollbackResult> {
    this.record('rollback', options, actor);
    return Promise.resolve(this.rollbackResult);
  }

  async gc(options: { dryRun?: boolean }, actor: string): Promise<GcResult> {
    this.record('gc', options, actor);
    return Promise.resolve({ dryRun: options.dryRun ?? false, retention: [], gc: { objects: 0, bytesFreed: 0, referencedBlobs: 3, protectedBlobs: 0, builds: 2 } });
  }

  history(filter?: { limit?: number; action?: string }): AuditEntry[] {
    this.calls.push({ method: 'history', args: [filter] });
    return this.historyValue.filter((e) => (filter?.action ? e.action === filter.action : true)).slice(0, filter?.limit ?? 100);
  }

  onEvent(listener: (event: ControllerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // Driving the fake from tests.

  emitJobEvent(jobId: string, event: JobEvent): void {
    for (const listener of [...(this.jobListeners.get(jobId) ?? [])]) listener(event);
  }

  update(jobId: string, patch: Partial<Job>): Job {
    const job = { ...(this.jobsById.get(jobId) ?? this.addJob({ id: jobId })), ...patch };
    this.jobsById.set(jobId, job);
    this.emitJobEvent(jobId, { type: 'job', job });
    return job;
  }

  rock(jobId: string, rock: RockProgress): void {
    const job = this.jobsById.get(jobId);
    if (job) this.jobsById.set(jobId, { ...job, rocks: [...job.rocks.filter((r) => r.rock !== rock.rock), rock] });
    this.emitJobEvent(jobId, { type: 'rock', jobId, rock });
  }

  log(jobId: string, rock: string, lines: string[]): void {
    this.emitJobEvent(jobId, { type: 'log', jobId, rock, lines });
  }

  emit(event: ControllerEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }
}
