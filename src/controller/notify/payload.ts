// What a notification carries, and the redactions every outward view of a job shares: a job's
// callback URL is the client's secret (its path often is a token), so it never leaves as is.
import type { ControllerEvent, Job } from '../types.js';
import { describeTarget } from './url.js';

export const NOTIFY_EVENTS = ['build-finished', 'published', 'promoted', 'pinned', 'unpinned', 'attached', 'rolled-back', 'restored', 'attach-requested', 'detached', 'rollback-requested', 'gc'] as const satisfies ReadonlyArray<ControllerEvent['type']>;
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];

/** A job as the API and notifications show it: the callback reduced to scheme and host. */
export function redactJob(job: Job): Job {
  if (job.request.callback === undefined) return job;
  return { ...job, request: { ...job.request, callback: describeTarget(job.request.callback) } };
}

export interface Notification {
  /** Unique per notification, repeated on every retry of it. */
  id: string;
  event: NotifyEventName;
  at: string;
  data: Record<string, unknown>;
}

export function notificationFor(event: ControllerEvent, id: string, at: Date): Notification {
  const { type, ...rest } = event;
  const data: Record<string, unknown> = event.type === 'build-finished' ? { job: redactJob(event.job) } : rest;
  return { id, event: type, at: at.toISOString(), data };
}
