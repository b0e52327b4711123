// Registry failures, classified so callers can decide what to do without parsing text:
//   auth       credentials missing or refused: retrying cannot help, the operator must act;
//   not-found  the repository, tag or digest does not exist (a normal answer for probes);
//   transient  network trouble, 5xx, 429 or a timeout: worth retrying with backoff;
//   invalid    bad input or configuration (names, TLS mode, a corrupt archive, digest mismatch).
// skopeo reports everything as exit code 1 with a logrus line on stderr, so the class comes from
// the wording of that line. The patterns below match what skopeo 1.9 prints against distribution
// 2.8 (and what other registries answer with the same HTTP status codes).

export type RegistryErrorKind = 'auth' | 'not-found' | 'transient' | 'invalid';

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  constructor(
    readonly kind: RegistryErrorKind,
    message: string,
    /** How many times the operation ran before giving up (0 when no process ran). */
    readonly attempts = 0,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return this.kind === 'transient';
  }
}

// Status codes are matched with the reason phrase that follows them ("503 Service Unavailable",
// "404 (Not Found)") so that a port number or a digest in the same line cannot pass for one.
const AUTH = [
  /unauthorized/i,
  /authentication required/i,
  /invalid username\/password/i,
  /\bdenied\b/i,
  /\b40[13] \(?[A-Z]/,
  /getting username and password/i,
];
const NOT_FOUND = [/manifest unknown/i, /name unknown/i, /repository name not known/i, /blob unknown/i, /\b404 \(?[A-Z]/];
// Problems on our side of the wire that would look transient to the patterns further down
// ("unexpected EOF" from a truncated archive) but will fail the same way every time.
const LOCAL_INVALID = [
  /initializing source oci-archive/i,
  /untarring/i,
  /no such file or directory/i,
  /would not match destination reference/i,
  /http response to https client/i,
  /x509|certificate/i,
  /invalid reference format/i,
];
const TRANSIENT = [
  /connection refused/i,
  /connection reset/i,
  /broken pipe/i,
  /i\/o timeout/i,
  /timed? ?out/i,
  /TLS handshake timeout/i,
  /deadline exceeded/i,
  /temporary failure in name resolution/i,
  /too many requests/i,
  /\b429 \(?[A-Z]/,
  /\b5\d\d \(?[A-Z]/,
  /unexpected EOF/i,
  /: EOF\s*$/m,
];

/** The class of a skopeo failure message. */
export function classifyMessage(text: string): RegistryErrorKind {
  if (AUTH.some((re) => re.test(text))) return 'auth';
  if (NOT_FOUND.some((re) => re.test(text))) return 'not-found';
  if (LOCAL_INVALID.some((re) => re.test(text))) return 'invalid';
  if (TRANSIENT.some((re) => re.test(text))) return 'transient';
  return 'invalid';
}

/**
 * The useful part of skopeo's stderr: the `msg="…"` of its last logrus line, unquoted, or the last
 * non-empty line when the output has another shape (a wrapper, a crash).
 */
export function skopeoMessage(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /\bmsg="((?:[^"\\]|\\.)*)"/.exec(lines[i] ?? '');
    if (m?.[1] !== undefined) return unquote(m[1]);
  }
  return lines[lines.length - 1] ?? 'no output';
}

function unquote(text: string): string {
  return text
    .replace(/\\n\\t\* /g, '; ')
    .replace(/\\[nt]/g, ' ')
    .replace(/\\(["\\])/g, '$1')
    .replace(/\s+/g, ' ')
    .replace(/[\s;]+$/, '')
    .trim();
}

/**
 * Removes every form a secret could take in text we show: the value itself and, for a password,
 * the base64 `user:password` token of an auth file. Applied to all messages built from process
 * output, so a misbehaving executable that echoes its auth file still leaks nothing.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length === 0) continue;
    out = out.split(secret).join('***');
  }
  return out;
}
