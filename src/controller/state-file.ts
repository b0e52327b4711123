// A JSON state file written atomically (temp file, fsync, rename), so a crash leaves either the old
// or the new content, never a torn one. Writes are coalesced: many changes in a burst cost one
// write of the latest snapshot, and flush() waits until what was asked is on disk.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

export async function writeJsonAtomic(path: string, value: unknown, mode = 0o600): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(tmp, 'w', mode);
    try {
      await handle.writeFile(`${JSON.stringify(value, null, 2)}\n`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/** The parsed file, or undefined when it does not exist. JSON errors propagate. */
export async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return JSON.parse(text) as unknown;
}

export class CoalescingWriter {
  private dirty = false;
  private running: Promise<void> | undefined;
  private lastError: Error | undefined;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => unknown,
    private readonly onError: (error: unknown) => void = () => undefined,
  ) {}

  /** Asks for a write of the current snapshot; returns when it (or a later one) is on disk. */
  save(): Promise<void> {
    this.dirty = true;
    this.running ??= this.loop().finally(() => (this.running = undefined));
    return this.running;
  }

  /** Waits for pending writes; rejects if the last one failed. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.lastError) throw this.lastError;
  }

  private async loop(): Promise<void> {
    while (this.dirty) {
      this.dirty = false;
      try {
        await writeJsonAtomic(this.path, this.snapshot());
        this.lastError = undefined;
      } catch (error) {
        this.lastError = error instanceof Error ? error : new Error(String(error));
        this.onError(error);
      }
    }
  }
}
