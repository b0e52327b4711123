// Error classes shared by every layer. The CLI maps UsageError to exit code 2 and any other error
// to exit code 1, printing only the message: one clear line, never a stack trace.

/** The caller asked for something invalid (unknown release, bad flag value, malformed name). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}
