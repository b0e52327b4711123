// How jobs and other controller data appear in answers: links to follow a job, and the scrubbing
// every outward document gets so that no token, password or credential-bearing URL leaves.
import type { Job } from '../types.js';
import { redactJob } from '../notify/payload.js';
import { redactCredentials } from '../notify/url.js';

export const API_PREFIX = '/api/v1';

export interface JobLinks {
  self: string;
  events: string;
}

export function jobLinks(id: string): JobLinks {
  const self = `${API_PREFIX}/builds/${encodeURIComponent(id)}`;
  return { self, events: `${self}/events` };
}

export type JobView = Job & { links: JobLinks };

export function jobView(job: Job): JobView {
  return { ...redactJob(job), links: jobLinks(job.id) };
}

const SECRET_KEY = /token|secret|password|passwd|authorization|credential|api[-_]?key/i;

/**
 * A copy of a JSON-like value with secret-looking fields replaced and credentials removed from
 * URLs in strings. The controller should never put secrets in status, history or results; this
 * makes sure a mistake there does not reach the (possibly public) API.
 */
export function scrub(value: unknown, depth = 0): unknown {
  if (depth > 20) return '[too deep]';
  if (typeof value === 'string') return redactCredentials(value);
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (value !== null && typeof value === 'object') {
    if (value instanceof Date) return value.toISOString();
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) out[key] = SECRET_KEY.test(key) ? '[redacted]' : scrub(v, depth + 1);
    return out;
  }
  return value;
}
