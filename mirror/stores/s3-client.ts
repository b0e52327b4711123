// The minio client of the S3 mirror store, on its own keep-alive agent, with a transport that
// bounds silent requests and records each reply's status for the store's retry decisions.
import { AsyncLocalStorage } from 'node:async_hooks';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { finished } from 'node:stream/promises';
import { Client } from 'minio';
import type { S3StoreOptions } from './s3-config.js';

/** What the transport saw of the latest HTTP exchange of an operation attempt. */
export interface ReplyState {
  status?: number;
  /** S3 error code of a reply minio left unread (see below). */
  serverCode?: string;
  /** Settles once such a reply has been read. */
  replyRead?: Promise<void>;
}
const replies = new AsyncLocalStorage<ReplyState>();

/** Runs `attempt`, recording in `state` the replies to the requests it makes. */
export function observeReplies<T>(state: ReplyState, attempt: () => Promise<T>): Promise<T> {
  return replies.run(state, attempt);
}

// minio turns these statuses into a generic "Retryable HTTP status" error without reading the body.
const MINIO_RETRY_STATUSES = new Set([408, 429, 499, 500, 502, 503, 504, 520]);

/**
 * An http(s).request that fails a request when the server stays silent for `timeoutMs`, and
 * records each reply's status (and, for replies minio does not read, the S3 error code), so the
 * store decides retries on the status rather than on minio's messages.
 */
function observedRequest(request: typeof http.request, timeoutMs: number): typeof http.request {
  const observed = (options: http.RequestOptions, callback?: (res: http.IncomingMessage) => void): http.ClientRequest => {
    const state = replies.getStore();
    if (state) state.status = state.serverCode = state.replyRead = undefined;
    const req = request(options, (res) => {
      if (state) state.status = res.statusCode;
      if (state && res.statusCode !== undefined && MINIO_RETRY_STATUSES.has(res.statusCode)) {
        // minio drops this reply unread: read its error code, which also frees the connection.
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (text.length < 4096) text += chunk;
        });
        state.replyRead = finished(res).then(
          () => void (state.serverCode = /<Code>([^<]{1,64})<\/Code>/.exec(text)?.[1]),
          () => undefined,
        );
      }
      callback?.(res);
    });
    req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error(`no reply within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    return req;
  };
  return observed as typeof http.request;
}

/** The minio client for validated options, on its own keep-alive agent (destroy it to close). */
export function createS3Client(options: S3StoreOptions): { client: Client; agent: http.Agent } {
  const tls = options.endpoint.protocol === 'https:';
  const agent = tls
    ? new https.Agent({ keepAlive: true, ca: options.caFile ? readFileSync(options.caFile) : undefined, rejectUnauthorized: !options.insecureTls })
    : new http.Agent({ keepAlive: true });
  const client = new Client({
    endPoint: options.endpoint.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: options.endpoint.port ? Number(options.endpoint.port) : undefined,
    useSSL: tls,
    region: options.region,
    pathStyle: options.pathStyle,
    accessKey: options.accessKey,
    secretKey: options.secretKey,
    partSize: options.partSize,
    transport: { request: observedRequest(tls ? https.request : http.request, options.timeoutMs) },
    transportAgent: agent,
    retryOptions: { disableRetry: true }, // the store retries whole operations itself
  });
  return { client, agent };
}
