// A store wrapper that counts the bytes written through it, so a benchmark can say exactly what a
// publish sent to the store (blobs, build.json, index.json, aliases, locks and intents alike).
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { canLink } from '../../mirror/stores/linking.js';
import type { ByteRange, MirrorStore, ObjectInfo, PutOptions } from '../../mirror/stores/store.js';

export class CountingStore implements MirrorStore {
  readonly location: string;
  bytesWritten = 0;
  writes = 0;
  /** Present only when the wrapped store can link, so the mirror still materialises its view. */
  readonly linkObject?: (fromKey: string, toKey: string) => Promise<void>;

  constructor(readonly inner: MirrorStore) {
    this.location = inner.location;
    if (canLink(inner)) this.linkObject = (fromKey, toKey) => inner.linkObject(fromKey, toKey);
  }

  reset(): { bytesWritten: number; writes: number } {
    const counted = { bytesWritten: this.bytesWritten, writes: this.writes };
    this.bytesWritten = 0;
    this.writes = 0;
    return counted;
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.inner.get(key);
  }

  getStream(key: string, range?: ByteRange): Promise<Readable> {
    return this.inner.getStream(key, range);
  }

  stat(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.stat(key);
  }

  async put(key: string, body: Buffer | string, options?: PutOptions): Promise<void> {
    await this.inner.put(key, body, options);
    this.writes += 1;
    this.bytesWritten += typeof body === 'string' ? Buffer.byteLength(body) : body.length;
  }

  async putFile(key: string, path: string, options?: PutOptions): Promise<void> {
    await this.inner.putFile(key, path, options);
    // Size first, then add: `x += await …` would read x before the await and lose concurrent adds.
    const { size } = await stat(path);
    this.writes += 1;
    this.bytesWritten += size;
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }

  listPrefixes(prefix: string): Promise<string[]> {
    return this.inner.listPrefixes(prefix);
  }

  delete(keys: readonly string[]): Promise<void> {
    return this.inner.delete(keys);
  }
}
