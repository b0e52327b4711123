// The embedded filesystem store: one directory tree, one file per key. Every write goes to a
// temporary file in the destination directory, is fsynced, then renamed (or, for create-only
// writes, hard-linked, which fails atomically when the name exists), so readers only ever see whole
// objects and a crash leaves at most a temporary file behind. It can also hard-link one key to
// another, which is how the mirror materialises the browsable consumer view without copying bytes.
import { randomBytes } from 'node:crypto';
import { constants as fsc, createReadStream } from 'node:fs';
import { mkdir, open, readFile, readdir, rename, rmdir, stat, unlink, link, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { InvalidKeyError, TEMP_PREFIX, compareKeys, errno, keyPath } from './fs-keys.js';
import type { LinkingStore } from './linking.js';
import { NotFoundError, PreconditionFailedError, type ByteRange, type ObjectInfo, type PutOptions } from './store.js';

export { InvalidKeyError } from './fs-keys.js';
export { canLink, type LinkingStore } from './linking.js';

export interface FsStoreOptions {
  /** fsync files and directories on write (default true). Tests on tmpfs may turn it off for speed. */
  fsync?: boolean;
}

export class FsStore implements LinkingStore {
  readonly root: string;
  readonly location: string;
  private readonly fsync: boolean;

  constructor(root: string, options: FsStoreOptions = {}) {
    this.root = resolve(root);
    this.location = `fs:${this.root}`;
    this.fsync = options.fsync ?? true;
  }

  /** The absolute path of a key, refusing any key that could name something outside the root. */
  pathOf(key: string): string {
    return keyPath(this.root, key);
  }

  /** A listing prefix may be '' or end anywhere; only its folder part must be a valid key path. */
  private dirOfPrefix(prefix: string): { dir: string; dirKey: string } {
    const cut = prefix.lastIndexOf('/');
    if (cut < 0) return { dir: this.root, dirKey: '' };
    const dirKey = prefix.slice(0, cut + 1);
    return { dir: this.pathOf(dirKey.slice(0, -1)), dirKey };
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if (['ENOENT', 'EISDIR', 'ENOTDIR'].includes(errno(err) ?? '')) return undefined;
      throw err;
    }
  }

  async getStream(key: string, range?: ByteRange): Promise<Readable> {
    let handle: FileHandle;
    try {
      handle = await open(this.pathOf(key), 'r');
    } catch (err) {
      if (['ENOENT', 'ENOTDIR'].includes(errno(err) ?? '')) throw new NotFoundError(key);
      throw err;
    }
    const info = await handle.stat();
    if (!info.isFile()) {
      await handle.close();
      throw new NotFoundError(key);
    }
    if (range && (range.start < 0 || (range.end !== undefined && range.end < range.start) || (range.start >= info.size && info.size > 0))) {
      await handle.close();
      throw new RangeError(`range ${range.start}-${range.end ?? ''} not satisfiable for ${key} (size ${info.size})`);
    }
    const end = range?.end === undefined ? undefined : Math.min(range.end, info.size - 1);
    if (end !== undefined && end < (range?.start ?? 0)) {
      await handle.close();
      return Readable.from([]); // a bounded range of an empty object
    }
    // The stream owns the handle from here and closes it when done or destroyed.
    // Large reads: a .rock is hundreds of MiB and 64 KiB chunks cost a syscall and a socket write each.
    return handle.createReadStream({ start: range?.start ?? 0, end, autoClose: true, highWaterMark: 1024 * 1024 });
  }

  async stat(key: string): Promise<ObjectInfo | undefined> {
    try {
      const info = await stat(this.pathOf(key));
      if (!info.isFile()) return undefined;
      return { key, size: info.size, modified: info.mtime };
    } catch (err) {
      if (['ENOENT', 'ENOTDIR'].includes(errno(err) ?? '')) return undefined;
      throw err;
    }
  }

  async put(key: string, body: Buffer | string, options: PutOptions = {}): Promise<void> {
    await this.writeAtomically(key, options, async (handle) => {
      await handle.writeFile(body);
    });
  }

  async putFile(key: string, path: string, options: PutOptions = {}): Promise<void> {
    await this.writeAtomically(key, options, async (handle) => {
      // Plain writes rather than handle.createWriteStream(): a stream that does not own the handle
      // keeps a reference on it and makes handle.close() wait forever.
      for await (const chunk of createReadStream(path)) await handle.write(chunk as Buffer);
    });
  }

  /** Hard-links `fromKey` to `toKey`, replacing whatever `toKey` was (atomically, via rename). */
  async linkObject(fromKey: string, toKey: string): Promise<void> {
    const from = this.pathOf(fromKey);
    const to = this.pathOf(toKey);
    await this.inDirectory(to, async (tmp) => {
      try {
        await link(from, tmp);
      } catch (err) {
        if (errno(err) === 'ENOENT') throw new NotFoundError(fromKey);
        throw err;
      }
      await rename(tmp, to);
    });
    if (this.fsync) await this.syncDir(dirname(to));
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    const { dir, dirKey } = this.dirOfPrefix(prefix);
    yield* this.walk(dir, dirKey, prefix);
  }

  async listPrefixes(prefix: string): Promise<string[]> {
    if (prefix !== '' && !prefix.endsWith('/')) throw new InvalidKeyError(prefix, 'a prefix listing needs a trailing "/"');
    const dir = prefix === '' ? this.root : this.pathOf(prefix.slice(0, -1));
    const entries = await this.readDir(dir);
    return entries
      .filter((e) => e.isDirectory() && !e.name.startsWith(TEMP_PREFIX))
      .map((e) => `${prefix}${e.name}/`)
      .sort(compareKeys);
  }

  async delete(keys: readonly string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const key of keys) {
      const path = this.pathOf(key);
      try {
        await unlink(path);
        dirs.add(dirname(path));
      } catch (err) {
        // Missing keys are not an error; a directory is not an object, so there is nothing to delete.
        if (!['ENOENT', 'ENOTDIR', 'EISDIR', 'EPERM'].includes(errno(err) ?? '')) throw err;
      }
    }
    for (const dir of dirs) await this.pruneEmpty(dir);
  }

  /**
   * Deletes temporary files a crashed writer left behind, if last modified before `olderThan`
   * (so writes in progress are untouched). Returns how many were removed.
   */
  async removeStaleTemp(olderThan: Date): Promise<number> {
    let removed = 0;
    const visit = async (dir: string): Promise<void> => {
      for (const entry of await this.readDir(dir)) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await visit(path);
        else if (entry.name.startsWith(TEMP_PREFIX)) {
          const info = await stat(path).catch(() => undefined);
          if (info && info.mtime < olderThan) {
            await unlink(path).catch(() => undefined);
            removed += 1;
          }
        }
      }
    };
    await visit(this.root);
    return removed;
  }

  // ---- internals ------------------------------------------------------------------------------

  private async writeAtomically(key: string, options: PutOptions, fill: (handle: FileHandle) => Promise<void>): Promise<void> {
    const final = this.pathOf(key);
    await this.inDirectory(final, async (tmp) => {
      const handle = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
      try {
        await fill(handle);
        if (this.fsync) await handle.sync();
      } finally {
        await handle.close();
      }
      if (options.ifAbsent) {
        // link() never replaces an existing name, so exactly one of several racing writers wins.
        try {
          await link(tmp, final);
        } catch (err) {
          if (errno(err) === 'EEXIST') throw new PreconditionFailedError(key);
          throw err;
        }
      } else {
        await rename(tmp, final);
      }
    });
    if (this.fsync) await this.syncDir(dirname(final));
  }

  /**
   * Runs `work` with a fresh temporary name next to `target` and removes the temporary name
   * afterwards. Retries once when the directory vanished in between (a concurrent delete pruned it).
   */
  private async inDirectory(target: string, work: (tmp: string) => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      await mkdir(dirname(target), { recursive: true });
      const tmp = join(dirname(target), `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
      try {
        await work(tmp);
        return;
      } catch (err) {
        if (errno(err) === 'ENOENT' && attempt < 2 && !(err instanceof NotFoundError)) continue;
        throw err;
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
    }
  }

  private async syncDir(dir: string): Promise<void> {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } catch (err) {
      // Some filesystems refuse fsync on directories; the rename is still atomic there.
      if (!['EINVAL', 'EISDIR', 'EBADF'].includes(errno(err) ?? '')) throw err;
    } finally {
      await handle.close();
    }
  }

  private async readDir(dir: string) {
    try {
      return await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (['ENOENT', 'ENOTDIR'].includes(errno(err) ?? '')) return [];
      throw err;
    }
  }

  /**
   * Depth-first walk in key order. Sorting a directory's entries by `name` for files and `name/`
   * for directories makes the walk's output exactly the lexicographic order of the full keys
   * (e.g. `a-b` sorts before `a/c` because '-' < '/').
   */
  private async *walk(dir: string, dirKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const entries = (await this.readDir(dir))
      .filter((e) => !e.name.startsWith(TEMP_PREFIX) && (e.isFile() || e.isDirectory()))
      .map((e) => ({ entry: e, sortKey: e.isDirectory() ? `${e.name}/` : e.name }))
      .sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const { entry, sortKey } of entries) {
      const key = dirKey + sortKey;
      if (entry.isDirectory()) {
        // Descend only where some key below could still start with the prefix.
        if (key.startsWith(prefix) || prefix.startsWith(key)) yield* this.walk(join(dir, entry.name), key, prefix);
        continue;
      }
      if (!key.startsWith(prefix)) continue;
      try {
        const info = await stat(join(dir, entry.name));
        yield { key, size: info.size, modified: info.mtime };
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err; // deleted while listing
      }
    }
  }

  /** Removes directories left empty by deletes, up to (not including) the root. */
  private async pruneEmpty(dir: string): Promise<void> {
    let current = dir;
    while (current.startsWith(this.root + sep)) {
      try {
        await rmdir(current);
      } catch {
        return; // not empty (or already gone, or in use): stop climbing
      }
      current = dirname(current);
    }
  }
}
