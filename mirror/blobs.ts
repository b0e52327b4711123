// Content-addressed blobs: upload (skipping digests already present), verification, and the
// publish intents that keep GC away from blobs an unfinished publish is about to reference.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { z } from 'zod';
import { digestStream } from './hash.js';
import { GC_LOCK_KEY, INTENTS_PREFIX, blobKey, intentKey } from './layout.js';
import { LockTimeoutError, holderGone, isLocked, readLease } from './lease.js';
import type { MirrorStore } from './stores/store.js';

export interface BlobSource {
  digest: string;
  size: number;
  /** A local file path (streamed) or the bytes themselves. */
  source: string | Buffer;
}

export interface UploadStats {
  uploaded: number;
  skipped: number;
  bytesUploaded: number;
  bytesSkipped: number;
}

/** `size` trusts the store's length after upload; `digest` reads the blob back and hashes it. */
export type VerifyMode = 'size' | 'digest';

export class DigestMismatchError extends Error {
  constructor(
    readonly what: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${what}: content is ${actual}, expected ${expected}`);
    this.name = 'DigestMismatchError';
  }
}

export class BlobVerificationError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`blob ${key} failed verification after upload: ${reason}`);
    this.name = 'BlobVerificationError';
  }
}

export class MissingBlobError extends Error {
  constructor(
    readonly digest: string,
    readonly path: string,
    reason: string,
  ) {
    super(`reused blob ${digest} for ${path}: ${reason}`);
    this.name = 'MissingBlobError';
  }
}

export interface UploadOptions {
  concurrency?: number;
  verify?: VerifyMode;
}

/** Uploads each distinct digest once; a blob present with the right size is not uploaded again. */
export async function uploadBlobs(store: MirrorStore, blobs: readonly BlobSource[], options: UploadOptions = {}): Promise<UploadStats> {
  const unique = new Map<string, BlobSource>();
  for (const b of blobs) unique.set(b.digest, b);
  const stats: UploadStats = { uploaded: 0, skipped: 0, bytesUploaded: 0, bytesSkipped: 0 };
  const limit = pLimit(options.concurrency ?? 4);
  await Promise.all(
    [...unique.values()].map((blob) =>
      limit(async () => {
        const key = blobKey(blob.digest);
        const existing = await store.stat(key);
        // A present blob of the wrong size is a torn or corrupt object: it is replaced, not trusted.
        if (existing?.size === blob.size) {
          stats.skipped += 1;
          stats.bytesSkipped += blob.size;
          return;
        }
        if (typeof blob.source === 'string') await store.putFile(key, blob.source);
        else await store.put(key, blob.source);
        await verifyBlob(store, blob, options.verify ?? 'size');
        stats.uploaded += 1;
        stats.bytesUploaded += blob.size;
      }),
    ),
  );
  return stats;
}

async function verifyBlob(store: MirrorStore, blob: BlobSource, mode: VerifyMode): Promise<void> {
  const key = blobKey(blob.digest);
  const info = await store.stat(key);
  let problem: string | undefined;
  if (!info) problem = 'missing after upload';
  else if (info.size !== blob.size) problem = `size ${info.size}, expected ${blob.size}`;
  else if (mode === 'digest') {
    const actual = await digestStream(await store.getStream(key));
    if (actual.digest !== blob.digest) problem = `content is ${actual.digest}`;
  }
  if (problem) {
    // Bytes that do not match their name must never be served; nothing references them yet.
    await store.delete([key]);
    throw new BlobVerificationError(key, problem);
  }
}

/** Checks that blobs reused from earlier builds are still there, with the size the caller expects. */
export async function ensureBlobsPresent(store: MirrorStore, refs: readonly { path: string; digest: string; size: number }[]): Promise<number> {
  let bytes = 0;
  for (const ref of refs) {
    const info = await store.stat(blobKey(ref.digest));
    if (!info) throw new MissingBlobError(ref.digest, ref.path, 'not in the store');
    if (info.size !== ref.size) throw new MissingBlobError(ref.digest, ref.path, `size ${info.size}, expected ${ref.size}`);
    bytes += ref.size;
  }
  return bytes;
}

// ---- publish intents -------------------------------------------------------------------------

const intentSchema = z.object({
  label: z.string(),
  host: z.string(),
  pid: z.number(),
  createdAt: z.string(),
  expiresAt: z.string(),
  digests: z.array(z.string()),
});

export interface Intent {
  key: string;
  release(): Promise<void>;
}

/**
 * Declares the digests a publish is about to reference. Written before the publish looks at which
 * blobs already exist; GC, holding its lock, treats every digest of a live intent as referenced.
 */
export async function writeIntent(store: MirrorStore, label: string, digests: readonly string[], ttlMs: number, now: Date): Promise<Intent> {
  const key = intentKey(`${now.getTime()}-${randomBytes(8).toString('hex')}`);
  const body = {
    label,
    host: hostname(),
    pid: process.pid,
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + ttlMs).toISOString(),
    digests: [...new Set(digests)].sort(),
  };
  await store.put(key, JSON.stringify(body), { ifAbsent: true, contentType: 'application/json' });
  return { key, release: () => store.delete([key]) };
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined; // a torn intent protects nothing; it is cleaned up like an expired one
  }
}

/** Digests protected by unexpired intents; expired intents are returned separately for cleanup. */
export async function readIntents(store: MirrorStore, now: Date): Promise<{ digests: Set<string>; expired: string[] }> {
  const digests = new Set<string>();
  const expired: string[] = [];
  for await (const info of store.list(INTENTS_PREFIX)) {
    const bytes = await store.get(info.key);
    if (!bytes) continue;
    const parsed = intentSchema.safeParse(parseJson(bytes));
    // An intent protects nothing once expired or once its publisher is known to be dead.
    if (!parsed.success || Date.parse(parsed.data.expiresAt) <= now.getTime() || holderGone(parsed.data.host, parsed.data.pid)) {
      expired.push(info.key);
      continue;
    }
    for (const d of parsed.data.digests) digests.add(d);
  }
  return { digests, expired };
}

/** Waits while a GC holds its lock, so no blob is looked up while GC may be deleting it. */
export async function waitForGc(store: MirrorStore, waitMs: number, now: () => Date): Promise<void> {
  const deadline = Date.now() + waitMs;
  let poll = 50;
  while (await isLocked(store, GC_LOCK_KEY, now())) {
    if (Date.now() >= deadline) throw new LockTimeoutError(GC_LOCK_KEY, await readLease(store, GC_LOCK_KEY));
    await sleep(poll);
    poll = Math.min(poll * 2, 1000);
  }
}
