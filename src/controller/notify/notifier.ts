// Webhooks and job callbacks. The controller's event listener only queues; deliveries run in the
// background with bounded concurrency and a bounded backlog, so a slow or dead receiver never
// slows the controller down. Each delivery is signed, retried with backoff and never redirected.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { ControllerApi, ControllerEvent } from '../types.js';
import { deliver, type Delivery, type DeliveryOptions } from './deliver.js';
import { NOTIFY_EVENTS, notificationFor, type NotifyEventName } from './payload.js';
import { checkTargetUrl, describeTarget, type TargetUrlPolicy } from './url.js';

/** One configured webhook: where to POST, and which events (`*` for all). */
export const webhookSchema = z
  .object({
    url: z.string().min(1).max(2048),
    events: z.array(z.enum([...NOTIFY_EVENTS, '*'])).min(1),
  })
  .strict();
export type WebhookConfig = z.infer<typeof webhookSchema>;

export interface NotifierOptions extends TargetUrlPolicy {
  webhooks: readonly WebhookConfig[];
  signingSecret?: string;
  logger: Logger;
  timeoutMs?: number;
  retries?: number;
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** Deliveries waiting beyond this are dropped, oldest first, with a warning. */
  maxPending?: number;
  fetch?: typeof fetch;
  now?: () => Date;
}

interface Queued extends Delivery {
  target: string;
}

export class Notifier {
  private readonly queue: Queued[] = [];
  private active = 0;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly stopping = new AbortController();
  private readonly webhooks: WebhookConfig[];
  private readonly delivery: DeliveryOptions;

  constructor(private readonly options: NotifierOptions) {
    this.webhooks = options.webhooks.map((hook, i) => {
      const check = checkTargetUrl(hook.url, options);
      if (!check.ok) throw new Error(`webhook ${i + 1} (${describeTarget(hook.url)}): URL ${check.reason}`);
      return webhookSchema.parse(hook);
    });
    if (!options.signingSecret && this.webhooks.length > 0) options.logger.warn('no signing secret configured: webhook receivers cannot verify notifications');
    this.delivery = {
      timeoutMs: options.timeoutMs ?? 10_000,
      retries: options.retries ?? 5,
      backoffMs: options.backoffMs ?? 1_000,
      maxBackoffMs: options.maxBackoffMs ?? 60_000,
      ...(options.signingSecret ? { signingSecret: options.signingSecret } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      signal: this.stopping.signal,
    };
  }

  /** Listens to the controller; returns the unsubscribe function. */
  attach(controller: Pick<ControllerApi, 'onEvent'>): () => void {
    return controller.onEvent((event) => this.handle(event));
  }

  /** Queues the notifications one event causes. Never throws, never waits. */
  handle(event: ControllerEvent): void {
    try {
      const targets = this.webhooks.filter((h) => h.events.includes('*') || h.events.includes(event.type)).map((h) => h.url);
      const callback = event.type === 'build-finished' ? event.job.request.callback : undefined;
      if (callback !== undefined) {
        const check = checkTargetUrl(callback, this.options);
        if (check.ok) targets.push(callback);
        else this.options.logger.warn({ job: event.type === 'build-finished' ? event.job.id : undefined }, `job callback not sent: URL ${check.reason}`);
      }
      if (targets.length === 0) return;
      const notification = notificationFor(event, randomUUID(), (this.options.now ?? (() => new Date()))());
      const body = JSON.stringify(notification);
      for (const url of targets) this.enqueue({ url, event: event.type, id: notification.id, body, target: describeTarget(url) });
    } catch (error) {
      this.options.logger.error({ err: error }, 'could not queue a notification');
    }
  }

  /** Resolves when nothing is queued or in flight (tests, shutdown). */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops retrying and sending; what is queued is dropped. */
  stop(): void {
    this.stopping.abort();
    this.queue.length = 0;
    this.settle();
  }

  private enqueue(item: Queued): void {
    if (this.stopping.signal.aborted) return;
    const max = this.options.maxPending ?? 1000;
    if (this.queue.length >= max) {
      const dropped = this.queue.shift();
      this.options.logger.warn({ target: dropped?.target, event: dropped?.event }, 'notification backlog full: dropped the oldest notification');
    }
    this.queue.push(item);
    this.pump();
  }

  private pump(): void {
    const concurrency = this.options.concurrency ?? 4;
    while (this.active < concurrency && this.queue.length > 0) {
      const item = this.queue.shift();
      if (!item) break;
      this.active++;
      void this.send(item).finally(() => {
        this.active--;
        this.pump();
        this.settle();
      });
    }
  }

  private async send(item: Queued): Promise<void> {
    const result = await deliver(item, this.delivery);
    const fields = { target: item.target, event: item.event, delivery: item.id, attempts: result.attempts, status: result.status };
    if (result.ok) this.options.logger.info(fields, 'notification delivered');
    else this.options.logger.warn({ ...fields, reason: result.error }, 'notification not delivered');
  }

  private settle(): void {
    if (this.active > 0 || this.queue.length > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

export type { NotifyEventName };
