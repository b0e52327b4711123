// Fan-out of live events: per-job listeners (progress of one job) and controller listeners (every
// event, for notifications, metrics and the audit log). A listener that throws is dropped from
// that delivery only; it never breaks the job or the other listeners.
import type { ControllerEvent, Job, JobEvent } from './types.js';

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

export class EventHub {
  private readonly jobListeners = new Map<string, Set<(event: JobEvent) => void>>();
  private readonly listeners = new Set<(event: ControllerEvent) => void>();

  constructor(private readonly onListenerError: (error: unknown) => void = () => undefined) {}

  subscribe(jobId: string, listener: (event: JobEvent) => void): () => void {
    const set = this.jobListeners.get(jobId) ?? new Set();
    set.add(listener);
    this.jobListeners.set(jobId, set);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.jobListeners.get(jobId) === set) this.jobListeners.delete(jobId);
    };
  }

  onEvent(listener: (event: ControllerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A job event; listeners get their own copy. The job's terminal state ends its subscriptions. */
  job(event: JobEvent): void {
    const jobId = event.type === 'job' ? event.job.id : event.jobId;
    const set = this.jobListeners.get(jobId);
    if (!set) return;
    for (const listener of [...set]) this.deliver(() => listener(structuredClone(event)));
    if (event.type === 'job' && TERMINAL.has(event.job.state)) this.jobListeners.delete(jobId);
  }

  emit(event: ControllerEvent): void {
    for (const listener of [...this.listeners]) this.deliver(() => listener(structuredClone(event)));
  }

  /** Snapshot of a job for a new subscriber. */
  static snapshot(job: Job): JobEvent {
    return { type: 'job', job: structuredClone(job) };
  }

  private deliver(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.onListenerError(error);
    }
  }
}

const ACTIONS: Partial<Record<ControllerEvent['type'], string>> = {
  attached: 'attach',
  'rolled-back': 'rollback',
  restored: 'restore',
  promoted: 'promote',
  pinned: 'pin',
  unpinned: 'unpin',
};

/** How an event is written to the audit log: its action, what it is about, and its fields. */
export function auditOf(event: ControllerEvent): { action: string; target: string; detail: Record<string, unknown> } {
  const { type, ...detail } = event;
  const target = 'app' in event ? `${event.app}/${event.resource}` : 'ref' in event ? event.ref : type;
  return { action: ACTIONS[type] ?? type, target, detail };
}
