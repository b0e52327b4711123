// Fetches apt indices over HTTP(S) with conditional requests and an on-disk cache: validators
// (ETag, Last-Modified) are sent when a copy is cached and a 304 reuses it; 404 is a user error
// (wrong series, release or PPA); 5xx, 408, 429, timeouts and network failures are retried with
// exponential backoff. Offline mode reads the cache only.
import { join } from 'node:path';
import { decodeIndexBody } from './decode.js';
import { ArchiveError, IndexFetchError, IndexNotFoundError, OfflineCacheMissError } from './errors.js';
import { assertHttpUrl, attempts, describeFailure, readCappedBody } from './http.js';
import type { CacheMeta, Validators } from './index-cache.js';
import { IndexCache } from './index-cache.js';

export type FetchEvent =
  | { type: 'request'; url: string; method: 'GET' | 'HEAD'; conditional: boolean; attempt: number }
  | { type: 'response'; url: string; method: 'GET' | 'HEAD'; status: number; attempt: number }
  | { type: 'retry'; url: string; attempt: number; delayMs: number; reason: string }
  | { type: 'cache'; url: string; reason: 'offline' | 'not-modified' };

export interface IndexFetcherOptions {
  /** Root cache folder; entries live under `<cacheDir>/archive/`. */
  cacheDir: string;
  /** Serve from the cache only; never touch the network. */
  offline?: boolean;
  fetch?: typeof fetch;
  /** Per attempt, headers and body included. Default 60 s. */
  timeoutMs?: number;
  /** Retries after the first attempt for transient failures. Default 3. */
  retries?: number;
  /** First backoff delay, doubled on each retry. Default 500 ms. */
  retryDelayMs?: number;
  /** Cap on downloaded and on decompressed bytes. Default 256 MiB. */
  maxBytes?: number;
  log?: (event: FetchEvent) => void;
  userAgent?: string;
  now?: () => Date;
}

export interface FetchStats {
  /** HTTP requests sent (each attempt counts). */
  requests: number;
  /** 200 responses whose body was downloaded. */
  downloads: number;
  /** 304 responses. */
  notModified: number;
  retries: number;
  /** Indices served from the cache (304 or offline). */
  cacheHits: number;
  bytesDownloaded: number;
}

export interface IndexResult {
  url: string;
  text: string;
  /** downloaded: fresh 200; not-modified: 304, cached copy; offline: cached copy, no request. */
  status: 'downloaded' | 'not-modified' | 'offline';
  meta: CacheMeta;
}

export interface ProbeResult {
  url: string;
  /** True when the index differs from the cached copy (or nothing is cached). */
  changed: boolean;
  status: number;
  etag?: string;
  lastModified?: string;
}

interface RawResponse {
  status: number;
  headers: Headers;
  body?: Buffer;
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export class IndexFetcher {
  readonly stats: FetchStats = { requests: 0, downloads: 0, notModified: 0, retries: 0, cacheHits: 0, bytesDownloaded: 0 };
  readonly cache: IndexCache;
  private readonly fetchImpl: typeof fetch;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly maxBytes: number;
  private readonly inFlight = new Map<string, Promise<IndexResult>>();

  constructor(private readonly options: IndexFetcherOptions) {
    this.cache = new IndexCache(join(options.cacheDir, 'archive'));
    this.fetchImpl = options.fetch ?? fetch;
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.retries = options.retries ?? 3;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  }

  get offline(): boolean {
    return this.options.offline ?? false;
  }

  /** The decompressed text of an index. */
  async get(url: string): Promise<string> {
    return (await this.fetchIndex(url)).text;
  }

  /** Fetches (or revalidates) an index; concurrent calls for one URL share one request. */
  async fetchIndex(url: string): Promise<IndexResult> {
    assertHttpUrl(url);
    let pending = this.inFlight.get(url);
    if (!pending) {
      pending = this.load(url).finally(() => this.inFlight.delete(url));
      this.inFlight.set(url, pending);
    }
    return pending;
  }

  /**
   * A cheap conditional HEAD: whether the index changed since it was cached. Does not update the
   * cache, so the next get() still downloads the new copy.
   */
  async probe(url: string): Promise<ProbeResult> {
    assertHttpUrl(url);
    if (this.offline) throw new ArchiveError(`offline: cannot probe ${url}`);
    const meta = await this.cache.readMeta(url);
    const response = await this.request(url, 'HEAD', meta ?? {});
    if (response.status === 404 || response.status === 410) throw new IndexNotFoundError(url);
    const etag = response.headers.get('etag') ?? undefined;
    const lastModified = response.headers.get('last-modified') ?? undefined;
    const result = { url, status: response.status, ...(etag ? { etag } : {}), ...(lastModified ? { lastModified } : {}) };
    if (response.status === 304) return { ...result, changed: false };
    if (response.status !== 200) throw new IndexFetchError(url, `HTTP ${response.status}`, response.status);
    if (!meta) return { ...result, changed: true };
    const same = meta.etag !== undefined && etag !== undefined ? meta.etag === etag : meta.lastModified !== undefined && meta.lastModified === lastModified;
    return { ...result, changed: !same };
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  private async load(url: string): Promise<IndexResult> {
    const cached = await this.cache.read(url);
    if (this.offline) {
      if (!cached) throw new OfflineCacheMissError(url);
      this.stats.cacheHits += 1;
      this.options.log?.({ type: 'cache', url, reason: 'offline' });
      return { url, text: await decodeIndexBody(url, cached.body, this.maxBytes), status: 'offline', meta: cached.meta };
    }
    const response = await this.request(url, 'GET', cached?.meta ?? {});
    if (response.status === 304 && cached) {
      this.stats.cacheHits += 1;
      this.options.log?.({ type: 'cache', url, reason: 'not-modified' });
      const text = await decodeIndexBody(url, cached.body, this.maxBytes);
      return { url, text, status: 'not-modified', meta: await this.cache.touch(cached.meta, this.now()) };
    }
    if (response.status === 404 || response.status === 410) throw new IndexNotFoundError(url);
    if (response.status !== 200 || !response.body) {
      throw new IndexFetchError(url, `unexpected HTTP ${response.status}`, response.status);
    }
    // Decode before caching: a corrupt body must never replace a good cached copy.
    const text = await decodeIndexBody(url, response.body, this.maxBytes);
    const validators: Validators = {};
    const etag = response.headers.get('etag');
    const lastModified = response.headers.get('last-modified');
    if (etag) validators.etag = etag;
    if (lastModified) validators.lastModified = lastModified;
    const meta = await this.cache.write(url, response.body, validators, this.now());
    return { url, text, status: 'downloaded', meta };
  }

  /** One logical request with retries; returns the final non-retryable response. */
  private async request(url: string, method: 'GET' | 'HEAD', validators: Validators): Promise<RawResponse> {
    let lastReason = '';
    for (let attempt = 1; attempt <= this.retries + 1; attempt += 1) {
      let response: RawResponse | undefined;
      try {
        response = await this.attempt(url, method, validators, attempt);
        if (!RETRYABLE_STATUS.has(response.status)) return response;
        lastReason = `HTTP ${response.status}`;
      } catch (error) {
        if (error instanceof ArchiveError) throw error;
        lastReason = describeFailure(error);
      }
      if (attempt <= this.retries) {
        const delayMs = this.retryDelayMs * 2 ** (attempt - 1);
        this.stats.retries += 1;
        this.options.log?.({ type: 'retry', url, attempt, delayMs, reason: lastReason });
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      } else if (response) {
        throw new IndexFetchError(url, `${lastReason} after ${attempts(attempt)}`, response.status);
      }
    }
    throw new IndexFetchError(url, `${lastReason} after ${attempts(this.retries + 1)}`);
  }

  private async attempt(url: string, method: 'GET' | 'HEAD', validators: Validators, attempt: number): Promise<RawResponse> {
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent ?? 'heliostat' };
    if (validators.etag) headers['if-none-match'] = validators.etag;
    if (validators.lastModified) headers['if-modified-since'] = validators.lastModified;
    const conditional = validators.etag !== undefined || validators.lastModified !== undefined;
    this.stats.requests += 1;
    this.options.log?.({ type: 'request', url, method, conditional, attempt });
    const signal = AbortSignal.timeout(this.timeoutMs);
    const response = await this.fetchImpl(url, { method, headers, signal, redirect: 'follow' });
    this.options.log?.({ type: 'response', url, method, status: response.status, attempt });
    if (response.status === 304) this.stats.notModified += 1;
    if (method === 'HEAD' || response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      return { status: response.status, headers: response.headers };
    }
    const body = await readCappedBody(url, response, this.maxBytes);
    this.stats.downloads += 1;
    this.stats.bytesDownloaded += body.length;
    return { status: response.status, headers: response.headers, body };
  }
}
