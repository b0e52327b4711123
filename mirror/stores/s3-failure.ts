// How the S3 store reads a failed attempt: whether to retry it, how long to wait, and what to say.
// Retried: network errors, timeouts, 5xx, 408/429 and S3's throttling codes; never other 4xx
// (403, 404, 412 ...). Messages never carry the credentials.
const RETRYABLE_STATUSES = new Set([408, 429]);
const RETRYABLE_S3_CODES = new Set(['SlowDown', 'RequestTimeout', 'InternalError', 'ServiceUnavailable', 'ServerBusy']);
const RETRYABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE',
]);

/** A failed S3 operation, after any retries. */
export class S3StoreError extends Error {
  constructor(
    readonly operation: string,
    /** s3://bucket/key of the object (or prefix) concerned. */
    readonly target: string,
    /** Origin of the service, without credentials. */
    readonly endpoint: string,
    readonly attempts: number,
    readonly status: number | undefined,
    readonly code: string | undefined,
    detail: string,
    options?: ErrorOptions,
  ) {
    super(`S3 ${operation} ${target} at ${endpoint} failed${attempts > 1 ? ` after ${attempts} attempts` : ''}: ${detail}`, options);
    this.name = 'S3StoreError';
  }
}

export function errorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = err.code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Whether a failed attempt (HTTP status if a reply came, error or S3 code) is worth another. */
export function isRetryable(status: number | undefined, code: string | undefined): boolean {
  return status !== undefined
    ? status >= 500 || RETRYABLE_STATUSES.has(status) || RETRYABLE_S3_CODES.has(code ?? '')
    : RETRYABLE_NETWORK_CODES.has(code ?? '') || RETRYABLE_S3_CODES.has(code ?? '');
}

/** Exponential backoff with "equal jitter": half the delay fixed, half random. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  const delay = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return delay / 2 + (Math.random() * delay) / 2;
}

/** One line on what went wrong, with every secret in `secrets` masked. */
export function describeFailure(err: unknown, status: number | undefined, code: string | undefined, secrets: readonly string[]): string {
  let text: string;
  if (status !== undefined) {
    const message = err instanceof Error && !/Retryable HTTP status/.test(err.message) ? err.message : '';
    text = [`HTTP ${status}`, code, message].filter(Boolean).join(' ');
  } else if (code === 'ECONNREFUSED') {
    text = 'connection refused (is the S3 service running?)';
  } else {
    text = errorMessage(err) || code || 'unknown error';
  }
  // Belt and braces: no credential ever leaves in a message.
  for (const secret of secrets) if (secret !== '') text = text.split(secret).join('***');
  return text;
}
