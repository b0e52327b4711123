// pins.json: a consumer's named references to builds of one train/release/series, each with an
// optional expiry. A live pin protects its build from retention; an expired one protects nothing
// and no longer resolves.
import { z } from 'zod';
import { CorruptObjectError, decodeJson, describeZodError } from './build-record.js';
import { isBuildId, pinsKey, type TrainSeries } from './layout.js';
import type { MirrorStore } from './stores/store.js';

export const pinSchema = z.object({
  buildId: z.string().refine(isBuildId, 'expected a build id'),
  createdAt: z.iso.datetime({ offset: true }),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  note: z.string().max(1024).optional(),
});

export const pinsFileSchema = z.object({
  schema: z.literal(1),
  pins: z.record(z.string(), pinSchema),
});

export type Pin = z.infer<typeof pinSchema>;
export type PinsFile = z.infer<typeof pinsFileSchema>;

export function isPinLive(pin: Pin, now: Date): boolean {
  return pin.expiresAt === undefined || Date.parse(pin.expiresAt) > now.getTime();
}

/** The pins of a series; an absent file means no pins. A corrupt file is an error, not "no pins": it may be protecting builds. */
export async function readPins(store: MirrorStore, ts: TrainSeries): Promise<PinsFile> {
  const key = pinsKey(ts);
  const bytes = await store.get(key);
  if (!bytes) return { schema: 1, pins: {} };
  const parsed = pinsFileSchema.safeParse(decodeJson(bytes, key, 'pins.json'));
  if (!parsed.success) throw new CorruptObjectError(key, describeZodError(parsed.error), 'pins.json');
  return parsed.data;
}

export async function writePins(store: MirrorStore, ts: TrainSeries, file: PinsFile): Promise<void> {
  const pins = Object.fromEntries(Object.entries(file.pins).sort(([a], [b]) => (a < b ? -1 : 1)));
  await store.put(pinsKey(ts), `${JSON.stringify({ schema: 1, pins }, null, 2)}\n`, { contentType: 'application/json' });
}
