// The CLI's client of a heliostat controller (`--server URL`): JSON calls with the bearer token
// from HELIOSTAT_TOKEN (never a flag: command lines are visible to every user of the machine),
// and the job event stream, parsed by hand (Server-Sent Events are a simple line protocol).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Writable } from 'node:stream';
import { z } from 'zod';
import { UsageError } from '../errors.js';
import type { BuildRequestInput } from '../controller/types.js';

export const TOKEN_ENV = 'HELIOSTAT_TOKEN';

export class ServerError extends Error {
  /** The server refused the request as invalid: the caller's input (exit 2). */
  readonly usage: boolean;
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ServerError';
    this.usage = status >= 400 && status < 500 && status !== 401 && status !== 403;
  }
}

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Splits an event stream into events; comment lines (heartbeats) and `retry:` are skipped. */
export async function* parseEventStream(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event: Partial<SseEvent> & { data?: string } = {};
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A CR at the end of a chunk may be the first half of a CRLF: wait for the next byte.
      if (newline === buffer.length - 1 && buffer.endsWith('\r')) break;
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1));
      if (line === '') {
        if (event.data !== undefined) yield { event: event.event ?? 'message', data: event.data, ...(event.id ? { id: event.id } : {}) };
        event = {};
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event.event = value;
      else if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
      else if (field === 'id') event.id = value;
    }
  }
}

const rockSchema = z.object({ rock: z.string(), state: z.string(), failureClass: z.string().optional(), durationMs: z.number().optional() });
export const jobSchema = z.object({
  id: z.string(),
  state: z.string(),
  request: z.object({ train: z.string(), release: z.string(), series: z.string() }).loose(),
  rocks: z.array(rockSchema),
  buildId: z.string().optional(),
  result: z.enum(['success', 'fail']).optional(),
  summary: z.object({ built: z.array(z.string()), reused: z.array(z.string()), failed: z.array(z.object({ rock: z.string(), failureClass: z.string() })), skipped: z.array(z.string()) }).optional(),
  error: z.string().optional(),
});
export type RemoteJob = z.infer<typeof jobSchema>;
export type RemoteRock = z.infer<typeof rockSchema>;
export const ENDED_STATES = ['succeeded', 'failed', 'cancelled', 'interrupted'];

export type FollowEvent = { type: 'job'; job: RemoteJob } | { type: 'rock'; rock: RemoteRock } | { type: 'log'; rock: string; lines: string[] };

const submittedSchema = z.object({ jobs: z.array(z.object({ id: z.string(), state: z.string() }).loose()) });
const attachmentSchema = z.object({ ref: z.string(), train: z.string(), release: z.string(), series: z.string(), buildId: z.string() });
const detachedSchema = z.object({ train: z.string(), release: z.string(), series: z.string(), restores: z.enum(['configured-pin', 'originals']) });
const errorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
const logSchema = z.object({ rock: z.string(), lines: z.array(z.string()) });
const rockEventSchema = z.object({ rock: rockSchema });

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
}

export interface FollowOptions {
  /** Reconnections after a stream ends before the job has. */
  reconnects?: number;
  /** A stream silent this long (heartbeats included) is considered dead. */
  idleMs?: number;
}

export class ServerClient {
  constructor(
    private readonly base: URL,
    private readonly token: string | undefined,
    private readonly fetchImpl: typeof fetch = fetch,
  ) {}

  /** The server named by --server, with the token from the environment. */
  static fromFlag(server: string, env: NodeJS.ProcessEnv, stderr: Writable): ServerClient {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new UsageError(`--server '${server}' is not a URL; expected http(s)://HOST[:PORT]`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password || url.search || url.hash) {
      throw new UsageError(`--server must be an http(s) URL without credentials, query or fragment; the token comes from ${TOKEN_ENV}`);
    }
    const token = env[TOKEN_ENV] || undefined;
    if (token && url.protocol === 'http:' && !isLoopback(url.hostname)) stderr.write(`warning: sending ${TOKEN_ENV} over plain http to ${url.host}\n`);
    return new ServerClient(new URL(url.href.endsWith('/') ? url.href : `${url.href}/`), token);
  }

  get origin(): string {
    return this.base.origin;
  }

  private url(path: string): URL {
    return new URL(path.replace(/^\//, ''), this.base);
  }

  private headers(write: boolean, json: boolean): Record<string, string> {
    if (write && !this.token) throw new UsageError(`set ${TOKEN_ENV} to a write token of the controller at ${this.base.origin}`);
    return { accept: 'application/json', ...(json ? { 'content-type': 'application/json' } : {}), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) };
  }

  private async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const write = method !== 'GET';
    const headers = this.headers(write, body !== undefined);
    let response: Response;
    try {
      response = await this.fetchImpl(this.url(path), { method, headers, redirect: 'error', signal: AbortSignal.timeout(600_000), ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    } catch (error) {
      throw new Error(`cannot reach the controller at ${this.base.origin}: ${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)}`);
    }
    const text = await response.text();
    let data: unknown;
    try {
      data = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new Error(`the controller at ${this.base.origin} answered ${response.status} with something that is not JSON`);
    }
    if (!response.ok) {
      const parsed = errorSchema.safeParse(data);
      const message = parsed.success ? parsed.data.error.message : `HTTP ${response.status}`;
      throw new ServerError(response.status, parsed.success ? parsed.data.error.code : 'http', `the controller refused ${method} ${path}: ${message}`);
    }
    return data;
  }

  async submit(requests: BuildRequestInput[]): Promise<Array<{ id: string; state: string }>> {
    return submittedSchema.parse(await this.call('POST', '/api/v1/builds', requests)).jobs;
  }

  async job(id: string): Promise<RemoteJob> {
    return z.object({ job: jobSchema }).parse(await this.call('GET', `/api/v1/builds/${encodeURIComponent(id)}`)).job;
  }

  async reconcile(options: { dryRun?: boolean; force?: boolean }): Promise<unknown> {
    return z.object({ result: z.unknown() }).parse(await this.call('POST', '/api/v1/reconcile', options)).result;
  }

  async attach(ref: string): Promise<z.infer<typeof attachmentSchema>> {
    return attachmentSchema.parse(await this.call('POST', '/api/v1/attachments', { ref }));
  }

  async detach(train: string, release: string, series: string): Promise<z.infer<typeof detachedSchema>> {
    const path = [train, release, series].map(encodeURIComponent).join('/');
    return detachedSchema.parse(await this.call('DELETE', `/api/v1/attachments/${path}`));
  }

  async trains(): Promise<Array<{ name: string; release: string; series: string; attach: boolean; pin: string }>> {
    const schema = z.object({ trains: z.array(z.object({ name: z.string(), release: z.string(), series: z.string(), attach: z.boolean(), pin: z.string() }).loose()) });
    return schema.parse(await this.call('GET', '/api/v1/trains')).trains;
  }

  /**
   * Follows a job's events until it ends and returns its final state. A stream that breaks is
   * reopened (the server starts each stream with the current state, so nothing is missed but log
   * lines sent while disconnected).
   */
  async follow(id: string, onEvent: (event: FollowEvent) => void, options: FollowOptions = {}): Promise<RemoteJob> {
    let last: RemoteJob | undefined;
    const reconnects = options.reconnects ?? 5;
    for (let attempt = 0; ; attempt++) {
      const ended = await this.followOnce(id, options.idleMs ?? 60_000, (event) => {
        if (event.type === 'job') last = event.job;
        onEvent(event);
      }).catch((error: unknown) => {
        if (error instanceof ServerError || attempt >= reconnects) throw error;
        return false;
      });
      if (ended && last) return last;
      if (last && ENDED_STATES.includes(last.state)) return last;
      if (attempt >= reconnects) throw new Error(`lost the event stream of job ${id} at ${this.base.origin}`);
      await sleep(Math.min(10_000, 500 * 2 ** attempt));
    }
  }

  private async followOnce(id: string, idleMs: number, onEvent: (event: FollowEvent) => void): Promise<boolean> {
    const abort = new AbortController();
    let idle = setTimeout(() => abort.abort(), idleMs);
    try {
      const response = await this.fetchImpl(this.url(`/api/v1/builds/${encodeURIComponent(id)}/events`), { headers: { ...this.headers(false, false), accept: 'text/event-stream' }, redirect: 'error', signal: abort.signal });
      if (!response.ok || !response.body) {
        const parsed = errorSchema.safeParse(await response.json().catch(() => undefined));
        throw new ServerError(response.status, parsed.success ? parsed.data.error.code : 'http', `cannot follow job ${id}: ${parsed.success ? parsed.data.error.message : `HTTP ${response.status}`}`);
      }
      const chunks: AsyncIterable<Uint8Array> = response.body;
      const watched = (async function* () {
        for await (const chunk of chunks) {
          clearTimeout(idle);
          idle = setTimeout(() => abort.abort(), idleMs);
          yield chunk;
        }
      })();
      for await (const event of parseEventStream(watched)) {
        const data: unknown = JSON.parse(event.data);
        if (event.event === 'job') onEvent({ type: 'job', job: jobSchema.parse(data) });
        else if (event.event === 'rock') onEvent({ type: 'rock', rock: rockEventSchema.parse(data).rock });
        else if (event.event === 'log') onEvent({ type: 'log', ...logSchema.parse(data) });
        else if (event.event === 'end') return true;
      }
      return false;
    } finally {
      clearTimeout(idle);
      abort.abort();
    }
  }
}
