// The trains an operator attached from the CLI, per model: the CLI's desired state. (The
// controller derives the same list from its configuration instead.)
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { AttachTrain } from './desired.js';

const fileSchema = z.object({
  schema: z.literal(1),
  trains: z.array(
    z.object({
      train: z.string().min(1),
      release: z.string().min(1),
      series: z.string().min(1),
      pin: z.string().min(1),
      apps: z.array(z.string()).optional(),
    }),
  ),
});

export class DesiredTrainsFile {
  constructor(readonly path: string) {}

  async load(): Promise<AttachTrain[]> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const parsed = fileSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new Error(`desired trains file ${this.path} is invalid: ${parsed.error.issues[0]?.message ?? ''}`);
    return parsed.data.trains;
  }

  async save(trains: readonly AttachTrain[]): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify({ schema: 1, trains }, null, 2) + '\n');
    await rename(tmp, this.path);
  }
}

/** The list with `train` set to `entry` (one entry per train). */
export function withTrain(trains: readonly AttachTrain[], entry: AttachTrain): AttachTrain[] {
  return [...trains.filter((t) => t.train !== entry.train), entry];
}
