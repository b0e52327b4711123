// The behavioural contract every MirrorStore must meet. Each store's test file calls
// describeStoreContract with a factory that yields a fresh, empty store per test, so the mirror's
// layout, publish transaction and retention can rely on identical behaviour from fs and S3.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError, PreconditionFailedError, type MirrorStore, type ObjectInfo } from '../../../mirror/stores/store.js';

export interface StoreUnderTest {
  store: MirrorStore;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;
const LARGE_SIZE = 20 * MiB + 12_345; // not a multiple of any part size

export async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

export async function readStream(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function sha256Stream(stream: Readable): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

/** Writes `size` random bytes to a file in 1 MiB chunks; returns their sha256. */
export async function writeRandomFile(path: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  for (let left = size; left > 0; ) {
    const chunk = randomBytes(Math.min(MiB, left));
    hash.update(chunk);
    left -= chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  out.end();
  await finished(out);
  return hash.digest('hex');
}

const keysOf = (items: ObjectInfo[]) => items.map((i) => i.key);
const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Special but valid keys: characters that need escaping in URLs, XML or shells, non-ASCII text,
 * and names that look like numbers.
 */
export const SPECIAL_KEYS = [
  'special/with space/and  two',
  'special/plus+sign',
  'special/percent%2Fencoded%20',
  'special/amp&lt;gt>quote"apos\'',
  'special/query?hash#star*',
  'special/eq=comma,semi;colon:at@',
  'special/tilde~bang!paren(s)[b]{c}',
  'special/ünïcödé/日本語/файл',
  'special/emoji-🚀',
  'special/0123',
  'special/1e3',
  'special/-leading-dash',
  'special/.hidden',
  'special/trailing-dot.',
];

export function describeStoreContract(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`MirrorStore contract: ${name}`, () => {
    let subject: StoreUnderTest;
    let store: MirrorStore;
    let scratch: string;

    beforeAll(async () => {
      scratch = await mkdtemp(join(tmpdir(), 'heliostat-store-contract-'));
    });
    afterAll(async () => {
      await rm(scratch, { recursive: true, force: true });
    });
    beforeEach(async () => {
      subject = await makeStore();
      store = subject.store;
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    it('reports missing keys: get and stat give undefined, getStream rejects with NotFoundError', async () => {
      expect(await store.get('missing/key')).toBeUndefined();
      expect(await store.stat('missing/key')).toBeUndefined();
      const err: unknown = await store.getStream('missing/key').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as NotFoundError).key).toBe('missing/key');
      expect(await collect(store.list('missing/'))).toEqual([]);
      expect(await store.listPrefixes('missing/')).toEqual([]);
    });

    it('round-trips Buffers, strings and empty objects, and overwrites', async () => {
      const before = Date.now();
      await store.put('a/buffer.bin', Buffer.from([0, 1, 2, 255]));
      await store.put('a/text.txt', 'héllo\n', { contentType: 'text/plain; charset=utf-8' });
      await store.put('a/empty', '');
      expect(await store.get('a/buffer.bin')).toEqual(Buffer.from([0, 1, 2, 255]));
      expect((await store.get('a/text.txt'))?.toString('utf8')).toBe('héllo\n');
      expect(await store.get('a/empty')).toEqual(Buffer.alloc(0));
      expect(await readStream(await store.getStream('a/empty'))).toEqual(Buffer.alloc(0));

      const info = await store.stat('a/text.txt');
      expect(info?.key).toBe('a/text.txt');
      expect(info?.size).toBe(Buffer.byteLength('héllo\n'));
      expect(info?.modified).toBeInstanceOf(Date);
      // Whole-second timestamps and clock skew between client and server are allowed for.
      expect(Math.abs(info!.modified.getTime() - before)).toBeLessThan(10 * 60_000);
      expect((await store.stat('a/empty'))?.size).toBe(0);

      await store.put('a/text.txt', 'second version, longer');
      expect((await store.get('a/text.txt'))?.toString()).toBe('second version, longer');
      expect((await store.stat('a/text.txt'))?.size).toBe(22);
    });

    it('lists every key under a prefix in lexicographic order with sizes', async () => {
      // No key is also a "folder" of another: a filesystem store cannot hold both 'a/b' and 'a/b/c'.
      const keys = ['b/2', 'a/b/c', 'a-b', 'a/b1', 'a/c/d/e', 'a/b/a', 'z', 'a/Z', 'A'];
      for (const [i, key] of keys.entries()) await store.put(key, 'x'.repeat(i));
      const all = await collect(store.list(''));
      expect(keysOf(all)).toEqual([...keys].sort(byCodeUnits));
      for (const item of all) {
        expect(item.size).toBe(keys.indexOf(item.key));
        expect(item.modified).toBeInstanceOf(Date);
      }
      expect(keysOf(await collect(store.list('a/')))).toEqual(['a/Z', 'a/b/a', 'a/b/c', 'a/b1', 'a/c/d/e']);
      // A prefix need not end at a '/'.
      expect(keysOf(await collect(store.list('a/b')))).toEqual(['a/b/a', 'a/b/c', 'a/b1']);
      expect(keysOf(await collect(store.list('a/b/')))).toEqual(['a/b/a', 'a/b/c']);
      expect(keysOf(await collect(store.list('a')))).toEqual(['a-b', 'a/Z', 'a/b/a', 'a/b/c', 'a/b1', 'a/c/d/e']);
    });

    it('lists many keys in order (beyond one listing page of some stores)', async () => {
      const keys = Array.from({ length: 45 }, (_, i) => `many/${String(i).padStart(3, '0')}`);
      await Promise.all(keys.map((k) => store.put(k, k)));
      expect(keysOf(await collect(store.list('many/')))).toEqual(keys);
    });

    it('lists immediate sub-prefixes with a trailing slash', async () => {
      for (const key of ['t/r1/s/b1/build.json', 't/r1/s/b2/build.json', 't/r1/s/latest', 't/r2/x', 't/r10/y', 't/file', 'top']) {
        await store.put(key, key);
      }
      expect(await store.listPrefixes('t/')).toEqual(['t/r1/', 't/r10/', 't/r2/']);
      expect(await store.listPrefixes('t/r1/s/')).toEqual(['t/r1/s/b1/', 't/r1/s/b2/']);
      expect(await store.listPrefixes('t/r2/')).toEqual([]);
      expect(await store.listPrefixes('')).toEqual(['t/']);
      await expect(store.listPrefixes('t')).rejects.toThrow();
    });

    it('serves byte ranges (inclusive end, open end, end past the size)', async () => {
      const body = Buffer.from('0123456789abcdefghij');
      await store.put('r/obj', body);
      const range = async (start: number, end?: number) => (await readStream(await store.getStream('r/obj', { start, end }))).toString();
      expect(await range(0, 0)).toBe('0');
      expect(await range(3, 7)).toBe('34567');
      expect(await range(10)).toBe('abcdefghij');
      expect(await range(0)).toBe(body.toString());
      expect(await range(15, 1000)).toBe('fghij');
      expect(await range(19, 19)).toBe('j');
      await expect(store.getStream('r/obj', { start: 5, end: 2 })).rejects.toThrow();
    });

    it('ifAbsent creates once and then fails with PreconditionFailedError, leaving the content', async () => {
      await store.put('once/key', 'first', { ifAbsent: true });
      const err: unknown = await store.put('once/key', 'second', { ifAbsent: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PreconditionFailedError);
      expect((err as PreconditionFailedError).key).toBe('once/key');
      expect((await store.get('once/key'))?.toString()).toBe('first');

      const file = join(scratch, 'once.txt');
      await writeRandomFile(file, 1000);
      await expect(store.putFile('once/key', file, { ifAbsent: true })).rejects.toBeInstanceOf(PreconditionFailedError);
      expect((await store.get('once/key'))?.toString()).toBe('first');
      // A plain put still overwrites.
      await store.put('once/key', 'third');
      expect((await store.get('once/key'))?.toString()).toBe('third');
    });

    it('ifAbsent lets exactly one of many concurrent writers win', async () => {
      for (let round = 0; round < 3; round++) {
        const key = `race/${round}`;
        const writers = Array.from({ length: 8 }, (_, i) => `writer-${i}-${'x'.repeat(i * 100)}`);
        const results = await Promise.allSettled(writers.map((body) => store.put(key, body, { ifAbsent: true })));
        const winners = results.flatMap((r, i) => (r.status === 'fulfilled' ? [writers[i]] : []));
        expect(winners).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(PreconditionFailedError);
        expect((await store.get(key))?.toString()).toBe(winners[0]);
      }
    });

    it('deletes batches of keys; missing keys are not an error', async () => {
      const keys = Array.from({ length: 12 }, (_, i) => `d/${i}/obj`);
      await Promise.all(keys.map((k) => store.put(k, k)));
      await store.put('d-keep', 'keep');
      await store.delete([...keys.slice(0, 7), 'd/missing', 'never/was']);
      expect(keysOf(await collect(store.list('d')))).toEqual(['d-keep', ...keys.slice(7).sort(byCodeUnits)]);
      expect(await store.get('d/0/obj')).toBeUndefined();
      expect(await store.listPrefixes('d/')).toEqual(['d/10/', 'd/11/', 'd/7/', 'd/8/', 'd/9/']);
      await store.delete([]);
      await store.delete(keys);
      expect(keysOf(await collect(store.list('')))).toEqual(['d-keep']);
    });

    it('handles keys with special but valid characters', async () => {
      for (const key of SPECIAL_KEYS) await store.put(key, `body of ${key}`);
      await store.put('0123', 'top-level numeric-looking key');
      for (const key of SPECIAL_KEYS) {
        expect((await store.get(key))?.toString(), key).toBe(`body of ${key}`);
        expect((await store.stat(key))?.key).toBe(key);
      }
      expect(keysOf(await collect(store.list('special/')))).toEqual([...SPECIAL_KEYS].sort(byCodeUnits));
      expect(keysOf(await collect(store.list('0')))).toEqual(['0123']);
      expect((await store.get('0123'))?.toString()).toBe('top-level numeric-looking key');
      expect(await store.listPrefixes('special/')).toEqual(['special/with space/', 'special/ünïcödé/']);
      expect(await store.listPrefixes('special/ünïcödé/')).toEqual(['special/ünïcödé/日本語/']);
      expect(keysOf(await collect(store.list('special/ünïcödé/日本')))).toEqual(['special/ünïcödé/日本語/файл']);
      await store.delete(SPECIAL_KEYS);
      expect(await collect(store.list('special/'))).toEqual([]);
    });

    it('streams a large file in and out intact, with ranges anywhere in it', async () => {
      const file = join(scratch, 'large.bin');
      const sha256 = await writeRandomFile(file, LARGE_SIZE);
      await store.putFile('big/large.bin', file);
      expect((await store.stat('big/large.bin'))?.size).toBe(LARGE_SIZE);
      expect(await sha256Stream(await store.getStream('big/large.bin'))).toEqual({ sha256, size: LARGE_SIZE });

      const whole = await readFile(file);
      // Ranges straddling 5 MiB and 16 MiB, common multipart part boundaries, and the very end.
      for (const [start, end] of [
        [5 * MiB - 7, 5 * MiB + 7],
        [16 * MiB - 3, 16 * MiB + 2],
        [LARGE_SIZE - 10, undefined],
      ] as [number, number | undefined][]) {
        const got = await readStream(await store.getStream('big/large.bin', { start, end }));
        expect(got.equals(whole.subarray(start, end === undefined ? undefined : end + 1)), `range ${start}-${end ?? ''}`).toBe(true);
      }

      // A reader may stop early; the store stays usable.
      const early = await store.getStream('big/large.bin');
      for await (const chunk of early) {
        expect((chunk as Buffer).length).toBeGreaterThan(0);
        break;
      }
      expect(early.destroyed).toBe(true);
      expect((await store.stat('big/large.bin'))?.size).toBe(LARGE_SIZE);
    });

    it('streams a create-only file larger than a multipart part, atomically', async () => {
      const file = join(scratch, 'medium.bin');
      const sha256 = await writeRandomFile(file, 6 * MiB + 1);
      await store.putFile('big/medium.bin', file, { ifAbsent: true });
      expect(await sha256Stream(await store.getStream('big/medium.bin'))).toEqual({ sha256, size: 6 * MiB + 1 });
      await expect(store.putFile('big/medium.bin', file, { ifAbsent: true })).rejects.toBeInstanceOf(PreconditionFailedError);
    });
  });
}
