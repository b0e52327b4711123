// heliostat's record of the attachments it made in one model: for each application resource the
// original image, the current attachment and any failed rollout, plus an append-only history.
// One JSON file, written atomically (temp file + rename), validated on read.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { AttachmentRecord } from './reconcile.js';

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const imageAt = z.object({ ref: z.string().min(1), digest });

const recordSchema = z.object({
  app: z.string().min(1),
  resource: z.string().min(1),
  containers: z.array(z.string()),
  original: imageAt,
  current: imageAt.extend({ train: z.string(), buildId: z.string(), rock: z.string(), at: z.string() }).optional(),
  failed: z.object({ digest, at: z.string(), why: z.string() }).optional(),
});

const historySchema = z.object({
  at: z.string(),
  action: z.enum(['attach', 'restore', 'rollback', 'verified', 'hold']),
  app: z.string(),
  resource: z.string(),
  from: z.string().optional(),
  to: z.string().optional(),
  why: z.string(),
});

const stateSchema = z.object({
  schema: z.literal(1),
  model: z.string(),
  records: z.array(recordSchema),
  history: z.array(historySchema),
});

export type HistoryEntry = z.infer<typeof historySchema>;
export interface AttachmentState {
  model: string;
  records: AttachmentRecord[];
  history: HistoryEntry[];
}

/** The most history entries kept per model; older ones are dropped first. */
const HISTORY_LIMIT = 1000;

export class AttachmentStateFile {
  constructor(
    readonly path: string,
    private readonly model: string,
  ) {}

  async load(): Promise<AttachmentState> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { model: this.model, records: [], history: [] };
      throw error;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new Error(`attachment state ${this.path} is not JSON; move it aside to start over`);
    }
    const parsed = stateSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`attachment state ${this.path}: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
    }
    return { model: parsed.data.model, records: parsed.data.records, history: parsed.data.history };
  }

  async save(state: AttachmentState): Promise<void> {
    const body = { schema: 1, model: state.model, records: state.records, history: state.history.slice(-HISTORY_LIMIT) };
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    await writeFile(tmp, JSON.stringify(body, null, 2) + '\n', { mode: 0o600 });
    await rename(tmp, this.path);
  }
}

/** Replaces (or adds) the record of one application resource. */
export function upsertRecord(state: AttachmentState, record: AttachmentRecord): void {
  const index = state.records.findIndex((r) => r.app === record.app && r.resource === record.resource);
  if (index >= 0) state.records[index] = record;
  else state.records.push(record);
}

export function findRecord(state: AttachmentState, app: string, resource: string): AttachmentRecord | undefined {
  return state.records.find((r) => r.app === app && r.resource === resource);
}
