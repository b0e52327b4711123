// Follows the log files of the rocks being built and hands out their new lines in batches, so a
// client watching a job sees rockcraft's output while it runs. Polling (not fs.watch) because it
// behaves the same on every filesystem and costs one small read per rock per interval.
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

const MAX_BATCH = 200;
const MAX_READ = 256 * 1024;

interface Followed {
  offset: number;
  partial: string;
  /** Keeps a character split across two reads whole. */
  decoder: StringDecoder;
}

export class LogTailer {
  private readonly followed = new Map<string, Followed>();
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(
    private readonly logsDir: string,
    private readonly emit: (rock: string, lines: string[]) => void,
    private readonly intervalMs = 500,
  ) {}

  follow(rock: string): void {
    if (!this.followed.has(rock)) this.followed.set(rock, { offset: 0, partial: '', decoder: new StringDecoder('utf8') });
    this.timer ??= setInterval(() => void this.poll(), this.intervalMs);
    this.timer.unref();
  }

  /** Reads what is left of the rock's log (the last line even without a newline), then stops following it. */
  async finish(rock: string): Promise<void> {
    await this.poll();
    const f = this.followed.get(rock);
    this.followed.delete(rock);
    if (f?.partial) this.emit(rock, [f.partial]);
    if (this.followed.size === 0) this.stopTimer();
  }

  async stop(): Promise<void> {
    this.stopTimer();
    await this.reading;
    this.followed.clear();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private poll(): Promise<void> {
    this.reading = this.reading.then(async () => {
      for (const [rock, f] of this.followed) await this.readNew(rock, f);
    });
    return this.reading;
  }

  private async readNew(rock: string, f: Followed): Promise<void> {
    let handle;
    try {
      handle = await open(join(this.logsDir, `${rock}.log`), 'r');
    } catch {
      return; // not created yet
    }
    try {
      const buffer = Buffer.alloc(MAX_READ);
      const { bytesRead } = await handle.read(buffer, 0, MAX_READ, f.offset);
      if (bytesRead === 0) return;
      f.offset += bytesRead;
      const lines = (f.partial + f.decoder.write(buffer.subarray(0, bytesRead))).split('\n');
      f.partial = lines.pop() ?? '';
      for (let i = 0; i < lines.length; i += MAX_BATCH) this.emit(rock, lines.slice(i, i + MAX_BATCH));
    } finally {
      await handle.close();
    }
  }
}
