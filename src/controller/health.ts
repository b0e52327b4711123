// Whether the tools the controller drives are there: rockcraft (builds) and juju (attachments).
// A missing tool is a status, not a crash: the answer is cached for a while so /status stays
// cheap, and re-checked so that installing the snap later is noticed without a restart.

export interface ToolStatus {
  available: boolean;
  version?: string;
  error?: string;
}

export class ToolProbe {
  private cached: { at: number; status: ToolStatus } | undefined;
  private pending: Promise<ToolStatus> | undefined;

  constructor(
    private readonly version: () => Promise<string>,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = 60_000,
  ) {}

  /** The cached answer, if any (never blocks). */
  peek(): ToolStatus | undefined {
    return this.cached?.status;
  }

  async check(force = false): Promise<ToolStatus> {
    if (!force && this.cached && this.now() - this.cached.at < this.ttlMs) return this.cached.status;
    this.pending ??= this.version()
      .then(
        (version): ToolStatus => ({ available: true, version: version.split('\n')[0]?.trim() ?? version }),
        (error: unknown): ToolStatus => ({ available: false, error: firstLine(error) }),
      )
      .then((status) => {
        this.cached = { at: this.now(), status };
        return status;
      })
      .finally(() => (this.pending = undefined));
    return this.pending;
  }
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}
