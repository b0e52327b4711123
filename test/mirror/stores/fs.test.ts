import { readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FsStore, InvalidKeyError, canLink } from '../../../mirror/stores/fs.js';
import { NotFoundError, PreconditionFailedError } from '../../../mirror/stores/store.js';
import { readAll, tempStore, type TempStore } from '../helpers.js';
import { describeStoreContract } from './contract.js';

// The same behavioural contract the S3 store meets.
describeStoreContract('filesystem', async () => {
  const t = await tempStore();
  return { store: t.store, cleanup: t.cleanup };
});

let t: TempStore;
let store: FsStore;
beforeEach(async () => {
  t = await tempStore();
  store = t.store;
});
afterEach(() => t.cleanup());

async function keys(prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out;
}

describe('FsStore', () => {
  it('puts, gets, stats and reports location', async () => {
    await store.put('a/b/c.txt', 'hello');
    expect((await store.get('a/b/c.txt'))?.toString()).toBe('hello');
    expect((await store.stat('a/b/c.txt'))?.size).toBe(5);
    expect(await store.get('a/b/missing')).toBeUndefined();
    expect(await store.stat('a/b')).toBeUndefined(); // a folder is not an object
    expect(store.location).toBe(`fs:${store.root}`);
  });

  it('replaces atomically and leaves no temporary files', async () => {
    await store.put('k', 'one');
    await store.put('k', 'two');
    expect((await store.get('k'))?.toString()).toBe('two');
    expect(await readdir(store.root)).toEqual(['k']);
  });

  it('create-only writes fail cleanly when the key exists, and exactly one racer wins', async () => {
    await store.put('x', 'first', { ifAbsent: true });
    await expect(store.put('x', 'second', { ifAbsent: true })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await store.get('x'))?.toString()).toBe('first');
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => store.put('race', `w${i}`, { ifAbsent: true })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => r.reason instanceof PreconditionFailedError)).toBe(true);
    expect((await readdir(store.root)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('streams local files in and ranges out', async () => {
    const src = join(t.dir, 'src.bin');
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));
    await writeFile(src, bytes);
    await store.putFile('blob', src);
    expect(await readAll(await store.getStream('blob'))).toEqual(bytes);
    expect(await readAll(await store.getStream('blob', { start: 10, end: 19 }))).toEqual(bytes.subarray(10, 20));
    expect(await readAll(await store.getStream('blob', { start: 990 }))).toEqual(bytes.subarray(990));
    expect(await readAll(await store.getStream('blob', { start: 995, end: 5000 }))).toEqual(bytes.subarray(995));
    await expect(store.getStream('blob', { start: 1000 })).rejects.toBeInstanceOf(RangeError);
    await expect(store.getStream('nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.putFile('k2', join(t.dir, 'missing'), { ifAbsent: true })).rejects.toThrow(/ENOENT/);
    expect(await store.stat('k2')).toBeUndefined();
  });

  it('lists in lexicographic key order, by any prefix, hiding temporary files', async () => {
    for (const k of ['a/c', 'a-b', 'a/b/z', 'a/b/a', 'b', 'a0', 'ab/x']) await store.put(k, k);
    await writeFile(join(store.root, 'a', '.tmp-leftover'), 'x');
    const all = await keys('');
    expect(all).toEqual([...all].sort());
    expect(all).toEqual(['a-b', 'a/b/a', 'a/b/z', 'a/c', 'a0', 'ab/x', 'b']);
    expect(await keys('a/')).toEqual(['a/b/a', 'a/b/z', 'a/c']);
    expect(await keys('a/b')).toEqual(['a/b/a', 'a/b/z']);
    expect(await keys('a')).toEqual(['a-b', 'a/b/a', 'a/b/z', 'a/c', 'a0', 'ab/x']);
    expect(await keys('zz/')).toEqual([]);
    expect(await store.listPrefixes('')).toEqual(['a/', 'ab/']);
    expect(await store.listPrefixes('a/')).toEqual(['a/b/']);
    await expect(store.listPrefixes('a')).rejects.toBeInstanceOf(InvalidKeyError);
  });

  it('deletes keys, ignores missing ones and prunes emptied folders', async () => {
    await store.put('s/t/u/v', '1');
    await store.put('s/w', '2');
    await store.delete(['s/t/u/v', 'nope', 's/t']);
    expect(await store.listPrefixes('s/')).toEqual([]);
    expect(await keys('')).toEqual(['s/w']);
  });

  const badKeys = ['', '/etc/passwd', '../x', 'a/../../x', 'a//b', 'a/./b', 'a\\b', 'a\0b', 'a/.tmp-x', 'a/'];
  it.each(badKeys)('refuses key %j before touching the disk', async (key) => {
    await expect(store.put(key, 'x')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(store.delete([key])).rejects.toBeInstanceOf(InvalidKeyError);
  });

  it('hard-links objects (same inode), replacing the target', async () => {
    expect(canLink(store)).toBe(true);
    await store.put('blobs/one', 'content');
    await store.put('view/file', 'old');
    await store.linkObject('blobs/one', 'view/file');
    const [a, b] = [await stat(store.pathOf('blobs/one')), await stat(store.pathOf('view/file'))];
    expect(b.ino).toBe(a.ino);
    expect((await store.get('view/file'))?.toString()).toBe('content');
    await expect(store.linkObject('blobs/none', 'view/x')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('removes stale temporary files of crashed writers, not fresh ones', async () => {
    await store.put('a/b', 'x');
    await writeFile(join(store.root, 'a', '.tmp-crashed'), 'partial');
    expect(await store.removeStaleTemp(new Date(Date.now() - 60_000))).toBe(0);
    expect(await store.removeStaleTemp(new Date(Date.now() + 60_000))).toBe(1);
    expect(await readdir(join(store.root, 'a'))).toEqual(['b']);
  });

  it('works with fsync disabled', async () => {
    const quick = new FsStore(join(t.dir, 'quick'), { fsync: false });
    await quick.put('a', 'b', { ifAbsent: true });
    expect((await quick.get('a'))?.toString()).toBe('b');
  });
});
