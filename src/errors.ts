// Error classes shared by every layer. The CLI maps UsageError to exit code 2 and any other error
// to exit code 1, printing only the message: one clear line, never a stack trace.

/** A value quoted in an error message, cut short so that a giant input still gives a short line. */
export function quoteInput(value: string, max = 64): string {
  return JSON.stringify(value.length > max ? `${value.slice(0, max)}…` : value) + (value.length > max ? ` (${value.length} characters)` : '');
}

/** The caller asked for something invalid (unknown release, bad flag value, malformed name). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Whether an error is the caller's fault. Error classes of other modules that describe bad input
 * (an unknown branch, a malformed PPA) mark themselves with `usage = true` instead of inheriting
 * from UsageError, so modules stay free of each other's hierarchies.
 */
export function isUsageError(error: unknown): boolean {
  if (error instanceof UsageError) return true;
  return typeof error === 'object' && error !== null && (error as { usage?: unknown }).usage === true;
}

/** A command that has already reported its failure (e.g. a build summary) and only sets the exit code. */
export class ReportedFailure extends Error {
  constructor(readonly exitCode = 1) {
    super('reported failure');
    this.name = 'ReportedFailure';
  }
}
