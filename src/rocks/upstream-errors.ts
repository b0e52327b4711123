// Typed errors of the upstream rocks repository adapter, so callers (CLI, controller) can tell a
// bad argument from a missing branch, an offline cache miss or a failing remote.

export type UpstreamErrorCode =
  | 'INVALID_URL'
  | 'INVALID_ARGUMENT'
  | 'UNKNOWN_BRANCH'
  | 'NOT_CACHED'
  | 'NOT_FOUND'
  | 'BAD_CONTENT'
  | 'CACHE_CONFLICT'
  | 'GIT_FAILED'
  | 'LOCK_TIMEOUT';

export class UpstreamError extends Error {
  readonly code: UpstreamErrorCode;

  constructor(code: UpstreamErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The repository URL/path given by the user is unusable. */
export class InvalidUpstreamUrlError extends UpstreamError {
  /** Bad input from the caller (the CLI exits 2). */
  readonly usage = true;
  readonly value: string;

  constructor(value: string, reason: string) {
    super('INVALID_URL', `invalid upstream rocks repository ${JSON.stringify(value)}: ${reason}`);
    this.value = value;
  }
}

/** A branch, commit, rock or path argument is malformed. */
export class InvalidUpstreamArgumentError extends UpstreamError {
  /** Bad input from the caller (the CLI exits 2). */
  readonly usage = true;
  constructor(kind: 'branch' | 'commit' | 'rock' | 'path', value: string, reason: string) {
    super('INVALID_ARGUMENT', `invalid ${kind} ${JSON.stringify(value)}: ${reason}`);
  }
}

export class UnknownBranchError extends UpstreamError {
  /** Bad input from the caller (the CLI exits 2). */
  readonly usage = true;
  readonly branch: string;
  readonly available: readonly string[];

  constructor(branch: string, available: readonly string[], where: string) {
    const list = available.length > 0 ? available.join(', ') : '(none)';
    super('UNKNOWN_BRANCH', `branch ${JSON.stringify(branch)} does not exist in ${where}; branches: ${list}`);
    this.branch = branch;
    this.available = available;
  }
}

/** Offline mode was asked for something the cache does not hold. */
export class NotCachedError extends UpstreamError {
  constructor(message: string) {
    super('NOT_CACHED', message);
  }
}

/** A commit, rock or file does not exist. */
export class UpstreamNotFoundError extends UpstreamError {
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/** A file's bytes are not what the caller needs (e.g. not UTF-8 text). */
export class UpstreamContentError extends UpstreamError {
  constructor(message: string) {
    super('BAD_CONTENT', message);
  }
}

/** The cache directory for this URL belongs to another URL (hash collision or foreign repo). */
export class CacheConflictError extends UpstreamError {
  constructor(dir: string, url: string, recorded: string) {
    super(
      'CACHE_CONFLICT',
      `cache ${dir} was made for ${JSON.stringify(recorded)}, not ${JSON.stringify(url)}; remove it or use another cache directory`,
    );
  }
}

export class UpstreamGitError extends UpstreamError {
  readonly op: string;

  constructor(op: string, target: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message.trim().split('\n').slice(-5).join(' | ') : String(cause);
    super('GIT_FAILED', `git ${op} failed for ${target}: ${detail}`, { cause });
    this.op = op;
  }
}

export class LockTimeoutError extends UpstreamError {
  constructor(lockPath: string, waitedMs: number, holder: string) {
    super('LOCK_TIMEOUT', `timed out after ${waitedMs} ms waiting for lock ${lockPath} (held by ${holder})`);
  }
}
