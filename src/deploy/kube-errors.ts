// Failures of the Kubernetes API, classified so callers can decide: wait and poll again
// (transient, unreachable), ask for RBAC (forbidden), report a wrong namespace or API path
// (not-found), or fix the kubeconfig or request (invalid). Messages are built here from the
// status code, the API's Status reason and message, and a system error code; the original error
// objects are not kept, so nothing the client sent (the bearer token) can leak through them.
import { ApiException } from '@kubernetes/client-node';

export type KubeErrorKind = 'unreachable' | 'forbidden' | 'not-found' | 'transient' | 'invalid';

export interface KubeErrorDetails {
  /** HTTP status of the answer, when there was one. */
  status?: number;
  /** The API's `Status.reason` (NotFound, Forbidden, InternalError …). */
  reason?: string;
  /** System error code of a failed connection (ECONNREFUSED …). */
  code?: string;
  /** The request ran past its time limit. */
  timedOut?: boolean;
  attempts?: number;
}

export class KubeError extends Error {
  readonly kind: KubeErrorKind;
  readonly status: number | undefined;
  readonly reason: string | undefined;
  readonly code: string | undefined;
  readonly timedOut: boolean;
  attempts: number;

  constructor(kind: KubeErrorKind, message: string, details: KubeErrorDetails = {}) {
    super(message);
    this.name = 'KubeError';
    this.kind = kind;
    this.status = details.status;
    this.reason = details.reason;
    this.code = details.code;
    this.timedOut = details.timedOut ?? false;
    this.attempts = details.attempts ?? 0;
  }

  /** Worth repeating the same call now (the connection itself may be fine). */
  get retryable(): boolean {
    return this.kind === 'transient';
  }
}

/** Replaces every secret in a text, so messages built from server answers cannot echo them. */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const secret of secrets) if (secret && secret.length >= 4) out = out.split(secret).join('***');
  return out;
}

// Connection failures: nothing answered at all.
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNABORTED', 'CERT_HAS_EXPIRED', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'ERR_TLS_CERT_ALTNAME_INVALID', 'SELF_SIGNED_CERT_IN_CHAIN']);
// The connection broke mid-request: the next attempt usually works.
const TRANSIENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET']);
const TRANSIENT_STATUS = new Set([408, 429, 500, 502, 503, 504]);

interface StatusLike {
  message?: unknown;
  reason?: unknown;
}

function parseStatus(body: unknown): StatusLike {
  if (typeof body === 'string') {
    try {
      return parseStatus(JSON.parse(body) as unknown);
    } catch {
      return {};
    }
  }
  return typeof body === 'object' && body !== null ? body : {};
}

function kindOfStatus(status: number): KubeErrorKind {
  if (status === 401 || status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (TRANSIENT_STATUS.has(status)) return 'transient';
  // 410 Expired, 400 BadRequest, 422 Invalid …: the request needs changing.
  return status >= 500 ? 'transient' : 'invalid';
}

function systemCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * A KubeError for anything a client call threw. `what` names the operation ("list pods in
 * namespace openstack"); `timedOut` says whether our own deadline aborted it.
 */
export function classifyKubeFailure(err: unknown, what: string, options: { timedOut?: boolean; timeoutMs?: number; secrets?: readonly (string | undefined)[] } = {}): KubeError {
  const secrets = options.secrets ?? [];
  if (err instanceof KubeError) return err;
  if (options.timedOut) {
    return new KubeError('unreachable', redact(`Kubernetes API: ${what}: no answer within ${options.timeoutMs ?? '?'} ms`, secrets), { timedOut: true });
  }
  if (err instanceof ApiException) {
    const status = Number(err.code);
    const body = parseStatus(err.body);
    const reason = typeof body.reason === 'string' ? body.reason : undefined;
    const detail = typeof body.message === 'string' && body.message !== '' ? body.message : (reason ?? 'no Status in the answer');
    const message = `Kubernetes API: ${what}: ${detail} (HTTP ${status}${reason ? ` ${reason}` : ''})`;
    return new KubeError(kindOfStatus(status), redact(message, secrets), { status, ...(reason ? { reason } : {}) });
  }
  const code = systemCode(err);
  const name = err instanceof Error ? err.name : typeof err;
  if (code && TRANSIENT_CODES.has(code)) return new KubeError('transient', redact(`Kubernetes API: ${what}: connection lost (${code})`, secrets), { code });
  if (code && UNREACHABLE_CODES.has(code)) return new KubeError('unreachable', redact(`Kubernetes API: ${what}: cannot connect (${code})`, secrets), { code });
  // node-fetch reports a dropped connection as a FetchError of type "system" with a message only.
  const text = err instanceof Error ? err.message : String(err);
  if (/socket hang up|premature close|other side closed/i.test(text)) return new KubeError('transient', redact(`Kubernetes API: ${what}: connection lost`, secrets));
  // Anything else (a malformed answer, a bug): say what kind of error it was, not its payload.
  return new KubeError('unreachable', redact(`Kubernetes API: ${what}: ${name}: ${text.split('\n')[0]?.slice(0, 300) ?? ''}`, secrets), code ? { code } : {});
}
