// The audit log: one JSON line per thing the controller did or was asked to do (builds, publishes,
// promotions, pins, attachments, rollbacks, reloads), appended to a file in the data dir and never
// rewritten. The newest entries are also kept in memory so history() answers without reading disk.
// Text is scrubbed of configured secrets before it is written.
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AuditEntry } from './types.js';

const MEMORY = 5000;

export class AuditLog {
  private entries: AuditEntry[] = [];
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly now: () => Date,
    private readonly scrub: (text: string) => string,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** Reads the newest entries of an existing log; unreadable lines are skipped. */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const lines = text.split('\n').filter(Boolean).slice(-MEMORY);
    this.entries = lines.flatMap((line) => {
      try {
        return [JSON.parse(line) as AuditEntry];
      } catch {
        return [];
      }
    });
  }

  /** Appends an entry; writes are serialised so lines never interleave. */
  record(actor: string, action: string, target: string, detail?: Record<string, unknown>): Promise<void> {
    const entry: AuditEntry = JSON.parse(
      this.scrub(JSON.stringify({ at: this.now().toISOString(), actor, action, target, ...(detail ? { detail } : {}) })),
    ) as AuditEntry;
    this.entries.push(entry);
    if (this.entries.length > MEMORY) this.entries.splice(0, this.entries.length - MEMORY);
    this.chain = this.chain
      .then(async () => {
        await mkdir(dirname(this.path), { recursive: true });
        await appendFile(this.path, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
      })
      .catch((error: unknown) => this.onError(error));
    return this.chain;
  }

  /** Newest first. `action` matches exactly or as a prefix ending in a dot (`build.` → every build action). */
  history(filter: { limit?: number; action?: string } = {}): AuditEntry[] {
    const limit = Math.max(1, Math.min(filter.limit ?? 100, MEMORY));
    const wanted = filter.action;
    const out: AuditEntry[] = [];
    for (let i = this.entries.length - 1; i >= 0 && out.length < limit; i--) {
      const e = this.entries[i];
      if (!e) continue;
      if (wanted && e.action !== wanted && !(wanted.endsWith('.') && e.action.startsWith(wanted))) continue;
      out.push(e);
    }
    return out;
  }

  flush(): Promise<void> {
    return this.chain;
  }
}
