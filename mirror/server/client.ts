// The client end of the mirror's HTTP protocol (protocol.ts is the shared half): requests against
// a base URL with an optional bearer token, and the server's answers turned back into the errors
// the rest of the mirror throws, so that `pull` from https://… fails exactly like `pull` from fs:…
// (404 → NotFoundInMirrorError, exit 2 in the CLI). The token goes in a header only, never into a
// URL or a message.
import { PassThrough, Readable, Transform, pipeline } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { NotFoundInMirrorError } from '../query.js';
import type { ErrorBody } from './protocol.js';

/** Where the CLI takes the bearer token for a private HTTP mirror from. */
export const MIRROR_TOKEN_ENV = 'HELIOSTAT_MIRROR_TOKEN';

export class MirrorHttpError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
    /** Bad input or missing credentials: the caller's to fix (the CLI exits 2). */
    readonly usage: boolean,
  ) {
    super(message);
    this.name = 'MirrorHttpError';
  }
}

export interface HttpMirrorOptions {
  /** Bearer token for a mirror whose read access is not public. */
  token?: string;
  /** How long to wait for a response to start (default 60 s); a body may then take as long as it needs. */
  timeoutMs?: number;
}

/** Whether a mirror spec is an HTTP(S) URL rather than a store (`fs:`, `s3://`). */
export function isHttpMirrorUrl(text: string): boolean {
  return /^https?:\/\//i.test(text);
}

/** The base URL of an HTTP mirror, always ending in '/'. Credentials in the URL are refused: they would show in process lists and messages. */
export function parseMirrorUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new MirrorHttpError(`invalid mirror URL ${JSON.stringify(text)}`, undefined, true);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new MirrorHttpError(`invalid mirror URL ${JSON.stringify(text)}: expected http(s)://`, undefined, true);
  if (url.username || url.password) throw new MirrorHttpError(`mirror URL must not contain credentials; put a token in ${MIRROR_TOKEN_ENV}`, undefined, true);
  if (url.search || url.hash) throw new MirrorHttpError(`mirror URL ${JSON.stringify(text)} must not have a query or a fragment`, undefined, true);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

/** Bytes [start, end] of a whole-file stream: for a server that answered a range request with all of it. */
function sliceBytes(start: number, end: number | undefined): Transform {
  let offset = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      const from = Math.max(0, start - offset);
      const to = end === undefined ? chunk.length : Math.min(chunk.length, end + 1 - offset);
      offset += chunk.length;
      done(null, from < to ? chunk.subarray(from, to) : undefined);
    },
  });
}

export class HttpMirrorClient {
  readonly base: URL;
  readonly location: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;

  constructor(url: string | URL, options: HttpMirrorOptions = {}) {
    this.base = typeof url === 'string' ? parseMirrorUrl(url) : url;
    this.location = this.base.href;
    this.token = options.token || undefined;
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  /** Sends a request for `path` (relative to the base); answers other than 2xx/304 become errors, 404 too unless `missingOk`. */
  async request(path: string, init: { method?: 'GET' | 'HEAD'; headers?: Record<string, string>; missingOk?: boolean } = {}): Promise<Response | undefined> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = { ...init.headers };
    if (this.token) headers['Authorization'] = `Bearer ${this.token}`;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    let res: Response;
    try {
      res = await fetch(url, { method: init.method ?? 'GET', headers, signal: abort.signal, redirect: 'follow' });
    } catch (err) {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err instanceof Error ? err.message : String(err);
      throw new MirrorHttpError(`cannot reach mirror ${this.location}: ${abort.signal.aborted ? `no answer within ${this.timeoutMs} ms` : cause}`, undefined, false);
    } finally {
      clearTimeout(timer);
    }
    if (res.ok || res.status === 304) return res;
    if (res.status === 404 && init.missingOk) {
      await res.body?.cancel();
      return undefined;
    }
    throw await this.failure(res, url);
  }

  private async failure(res: Response, url: URL): Promise<Error> {
    let detail = '';
    try {
      const text = (await res.text()).slice(0, 500);
      detail = /json/.test(res.headers.get('content-type') ?? '') ? ((JSON.parse(text) as Partial<ErrorBody>).error ?? text) : text.trim();
    } catch {
      // no readable body: the status says it all
    }
    const where = `${this.location} (${url.pathname.slice(this.base.pathname.length - 1)})`;
    if (res.status === 404) return new NotFoundInMirrorError(`${detail || 'not found'} in ${this.location}`);
    if (res.status === 401) {
      const hint = this.token ? 'the token was not accepted' : `set ${MIRROR_TOKEN_ENV} to a read token`;
      return new MirrorHttpError(`mirror ${this.location} requires credentials: ${hint}`, 401, true);
    }
    if (res.status >= 400 && res.status < 500) return new MirrorHttpError(`mirror ${where} refused the request (${res.status}): ${detail}`, res.status, true);
    return new MirrorHttpError(`mirror ${where} failed (${res.status})${detail ? `: ${detail}` : ''}`, res.status, false);
  }

  async text(path: string, missingOk = false): Promise<string | undefined> {
    const res = await this.request(path, { missingOk });
    return res ? res.text() : undefined;
  }

  async json<T>(path: string, missingOk = false): Promise<T | undefined> {
    const res = await this.request(path, { missingOk, headers: { Accept: 'application/json' } });
    return res ? ((await res.json()) as T) : undefined;
  }

  /** The body with its transport errors ("terminated") turned into one that says what broke off. */
  private explained(body: Readable, path: string): Readable {
    const out = new PassThrough();
    body.on('error', (err) => {
      const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : err.message;
      out.destroy(new MirrorHttpError(`transfer of ${path} from ${this.location} broke off: ${cause}`, undefined, false));
    });
    // A consumer that stops early (a verification failure, say) closes the connection too.
    out.on('close', () => body.destroy());
    return body.pipe(out);
  }

  /**
   * Streams a file from byte `start` on. `ifRange` (the expected ETag) makes the server send the
   * whole file instead of a range when the file is no longer the one the first bytes came from;
   * either way the stream yields the bytes from `start`, so a resumed download stays consistent.
   */
  async stream(path: string, range?: { start: number; end?: number }, ifRange?: string): Promise<Readable> {
    const headers: Record<string, string> = {};
    if (range && (range.start > 0 || range.end !== undefined)) {
      headers['Range'] = `bytes=${range.start}-${range.end ?? ''}`;
      if (ifRange) headers['If-Range'] = ifRange;
    }
    const res = (await this.request(path, { headers })) as Response;
    if (!res.body) return Readable.from([]);
    const body = this.explained(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), path);
    if (!headers['Range'] || !range) return body;
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (Number(m?.[1]) !== range.start) {
        body.destroy();
        throw new MirrorHttpError(`mirror ${this.location} answered a range request with other bytes (${res.headers.get('content-range') ?? 'no Content-Range'})`, 206, false);
      }
      return body;
    }
    // 200: the whole file; its first `start` bytes are the part the caller already has.
    const out = sliceBytes(range.start, range.end);
    // pipeline carries an error of either side to the other and destroys both.
    pipeline(body, out, () => undefined);
    return out;
  }
}
