// Failures of the juju CLI, classified from what Juju prints so callers can decide: retry
// (transient), report a missing application/resource/model (not-found), ask for access
// (permission), fix the request (invalid) or install/point at juju (unavailable).

export type JujuErrorKind = 'not-found' | 'permission' | 'transient' | 'invalid' | 'unavailable';

export interface JujuErrorDetails {
  /** The juju arguments of the failing call (no secrets are ever passed as arguments). */
  args?: readonly string[];
  exitCode?: number;
  /** Juju's stderr, trimmed to its last lines. */
  stderr?: string;
  /** The process was killed because it ran past the timeout. */
  timedOut?: boolean;
  /** How many times the command was run before giving up (0 when it never ran). */
  attempts?: number;
  cause?: unknown;
}

export class JujuError extends Error {
  readonly kind: JujuErrorKind;
  readonly args: readonly string[];
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly timedOut: boolean;
  attempts: number;

  constructor(kind: JujuErrorKind, message: string, details: JujuErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'JujuError';
    this.kind = kind;
    this.args = details.args ?? [];
    this.exitCode = details.exitCode;
    this.stderr = details.stderr ?? '';
    this.timedOut = details.timedOut ?? false;
    this.attempts = details.attempts ?? 0;
  }

  get retryable(): boolean {
    return this.kind === 'transient';
  }
}

// Wording of Juju 3.6 (juju/errors suffixes, apiserver error codes, rpc and websocket failures).
const PERMISSION = /permission denied|unauthorized access|not authorized|access denied|no credentials provided|cannot log into controller/i;
const TRANSIENT = [
  /connection is shut down/i,
  /connection (refused|reset|closed)/i,
  /cannot connect to (API|controller)/i,
  /unable to connect to API/i,
  /\bi\/o timeout\b/i,
  /broken pipe/i,
  /unexpected EOF|\bEOF\b/,
  /context deadline exceeded/i,
  /TLS handshake timeout/i,
  /server is (shutting down|not ready)/i,
  /upgrade in progress/i,
  /try again/i,
  /no reachable servers/i,
  /dial tcp/i,
  /\b(request|operation|dial) timed out\b/i,
];
// An unknown resource name makes attach-resource treat the value as a local file path (Juju
// defaults the type to `file`), so a missing file there means "no such oci-image resource".
const NOT_FOUND = /not found|no such file or directory|No controllers registered|unrecognized resource|does not exist/i;
const INVALID = /not valid|invalid|option provided but not defined|flag needs an argument|unrecognized args|is not a juju command|bad resource arg|missing|expected name=path format|cannot specify|must be/i;

/** The meaningful part of Juju's stderr: its `ERROR …` lines, or the last non-empty lines. */
export function errorSummary(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const errors = lines.filter((l) => l.startsWith('ERROR '));
  const chosen = errors.length > 0 ? errors : lines.slice(-3);
  return chosen.map((l) => l.replace(/^ERROR\s+/, '')).join('; ').slice(0, 1000) || 'no error output';
}

/** Classifies a non-zero exit from Juju's stderr; usage errors (exit 2) are always `invalid`. */
export function classifyJujuFailure(stderr: string, exitCode: number | undefined): JujuErrorKind {
  if (exitCode === 2) return 'invalid';
  const text = errorSummary(stderr);
  if (PERMISSION.test(text)) return 'permission';
  if (TRANSIENT.some((re) => re.test(text))) return 'transient';
  if (NOT_FOUND.test(text)) return 'not-found';
  if (INVALID.test(text)) return 'invalid';
  // Unknown wording: do not retry blindly; the message carries Juju's own words.
  return 'invalid';
}
