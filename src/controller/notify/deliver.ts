// One notification delivery: a signed JSON POST with a timeout per attempt and retries with
// exponential backoff. Redirects are never followed (a receiver that moved must be reconfigured;
// following would let a callback bounce heliostat's signed POST anywhere).
import { setTimeout as sleepFor } from 'node:timers/promises';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signBody } from './sign.js';

export interface DeliveryOptions {
  /** Per attempt, covering connect, request and response. */
  timeoutMs: number;
  /** Attempts after the first. */
  retries: number;
  /** Wait before the first retry; doubles each time up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
  signingSecret?: string;
  fetch?: typeof fetch;
  /** Stops retrying (shutdown). */
  signal?: AbortSignal;
}

export interface Delivery {
  url: string;
  event: string;
  id: string;
  body: string;
}

export interface DeliveryResult {
  ok: boolean;
  attempts: number;
  status?: number;
  error?: string;
}

type Attempt = { done: true; result: Omit<DeliveryResult, 'attempts'> } | { done: false; error: string; retryAfterMs?: number; status?: number };

function retryAfter(header: string | null): number | undefined {
  if (header === null || !/^\d{1,6}$/.test(header.trim())) return undefined;
  return Number(header.trim()) * 1000;
}

async function attempt(delivery: Delivery, headers: Record<string, string>, options: DeliveryOptions): Promise<Attempt> {
  const doFetch = options.fetch ?? fetch;
  const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])];
  let response: Response;
  try {
    response = await doFetch(delivery.url, { method: 'POST', body: delivery.body, headers, redirect: 'manual', signal: AbortSignal.any(signals) });
    // The receiver's answer is not used; reading it lets the connection be reused.
    await response.arrayBuffer().catch(() => undefined);
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    const reason = name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
    return { done: false, error: reason };
  }
  const status = response.status;
  if (status >= 200 && status < 300) return { done: true, result: { ok: true, status } };
  if (status >= 300 && status < 400) return { done: true, result: { ok: false, status, error: `answered ${status} (a redirect; redirects are not followed)` } };
  if (status === 408 || status === 429 || status >= 500) {
    return { done: false, status, error: `answered ${status}`, retryAfterMs: retryAfter(response.headers.get('retry-after')) };
  }
  // Any other 4xx means the receiver refuses this delivery; sending it again would not help.
  return { done: true, result: { ok: false, status, error: `answered ${status}` } };
}

export async function deliver(delivery: Delivery, options: DeliveryOptions): Promise<DeliveryResult> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'heliostat',
    [EVENT_HEADER]: delivery.event,
    // The same id on every attempt lets a receiver drop duplicates.
    [DELIVERY_HEADER]: delivery.id,
  };
  if (options.signingSecret) headers[SIGNATURE_HEADER] = signBody(delivery.body, options.signingSecret);
  let last: DeliveryResult = { ok: false, attempts: 0 };
  for (let n = 0; n <= options.retries; n++) {
    if (options.signal?.aborted) return { ...last, error: `${last.error ?? 'not sent'}; stopped` };
    const outcome = await attempt(delivery, headers, options);
    if (outcome.done) return { ...outcome.result, attempts: n + 1 };
    last = { ok: false, attempts: n + 1, error: outcome.error, ...(outcome.status ? { status: outcome.status } : {}) };
    if (n === options.retries) break;
    const backoff = Math.min(options.maxBackoffMs, options.backoffMs * 2 ** n);
    const wait = Math.min(options.maxBackoffMs, Math.max(backoff, outcome.retryAfterMs ?? 0));
    try {
      await sleepFor(wait, undefined, options.signal ? { signal: options.signal } : {});
    } catch {
      return { ...last, error: `${last.error ?? ''}; stopped` };
    }
  }
  return last;
}
