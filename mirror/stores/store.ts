// The storage interface every mirror store implements. The mirror's layout, publish transaction,
// queries and retention are written against this interface only, so the embedded filesystem store
// and the S3 store behave identically and are tested by the same contract suite.
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  /** Key relative to the store's root/prefix, always '/'-separated, never starting with '/'. */
  key: string;
  size: number;
  /** Last modification time as the store reports it. */
  modified: Date;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive; open-ended when absent. */
  end?: number;
}

export interface PutOptions {
  /**
   * Create-only: fail with PreconditionFailedError if the key exists. Stores guarantee this
   * atomically where the backend allows it (fs: link/rename without overwrite; S3: If-None-Match: *).
   */
  ifAbsent?: boolean;
  contentType?: string;
}

export interface MirrorStore {
  /** Human-readable location, never containing credentials (e.g. "fs:/srv/mirror", "s3://bucket/prefix"). */
  readonly location: string;
  /** Whole small object, or undefined when the key does not exist. */
  get(key: string): Promise<Buffer | undefined>;
  /** Streams an object (optionally a byte range); rejects with NotFoundError when missing. */
  getStream(key: string, range?: ByteRange): Promise<Readable>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  put(key: string, body: Buffer | string, options?: PutOptions): Promise<void>;
  /** Streams a local file into the store; large files must not be read into memory. */
  putFile(key: string, path: string, options?: PutOptions): Promise<void>;
  /** Every object whose key starts with prefix, in lexicographic key order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  /** Immediate "sub-folders" of prefix (prefix must end with '/'), each returned with a trailing '/'. */
  listPrefixes(prefix: string): Promise<string[]>;
  /** Deletes keys; missing keys are not an error. */
  delete(keys: readonly string[]): Promise<void>;
}

export class NotFoundError extends Error {
  constructor(readonly key: string) {
    super(`not found: ${key}`);
    this.name = 'NotFoundError';
  }
}

export class PreconditionFailedError extends Error {
  constructor(readonly key: string) {
    super(`already exists: ${key}`);
    this.name = 'PreconditionFailedError';
  }
}
