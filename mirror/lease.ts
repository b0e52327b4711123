// A mutual-exclusion lease built only from the store interface, so the same code serialises
// publishes on a local disk and on S3. Acquiring = a create-only put of the lock object (link() on
// fs, If-None-Match on S3). The body says who holds it and until when; the holder refreshes it
// while working, so a holder that died (crash, SIGKILL, lost machine) is recognised as stale either
// by its expiry or, on the same host, because its process no longer exists.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { PreconditionFailedError, type MirrorStore } from './stores/store.js';

export interface LeaseOptions {
  /** A holder that has not refreshed for this long is presumed dead (default 5 minutes). */
  ttlMs?: number;
  /** Give up acquiring after this long (default 10 minutes). */
  waitMs?: number;
  /** First poll interval while waiting; doubles up to 1 s (default 50 ms). */
  pollMs?: number;
  /** What the holder is doing, for operators reading the lock object. */
  purpose?: string;
  now?: () => Date;
}

const leaseBodySchema = z.object({
  token: z.string().regex(/^[0-9a-f]{32}$/),
  host: z.string(),
  pid: z.number().int(),
  purpose: z.string(),
  acquiredAt: z.string(),
  expiresAt: z.string(),
});

export type LeaseBody = z.infer<typeof leaseBodySchema>;

export class LockTimeoutError extends Error {
  constructor(
    readonly key: string,
    readonly holder: LeaseBody | undefined,
  ) {
    super(`timed out waiting for lock ${key}${holder ? ` held by ${holder.host}:${holder.pid} (${holder.purpose}) until ${holder.expiresAt}` : ''}`);
    this.name = 'LockTimeoutError';
  }
}

export class LeaseLostError extends Error {
  constructor(readonly key: string) {
    super(`lock ${key} was taken over by another process (this holder was presumed dead)`);
    this.name = 'LeaseLostError';
  }
}

export interface Lease {
  readonly key: string;
  readonly token: string;
  /** Throws LeaseLostError unless the lock object still carries this lease's token. */
  assertHeld(): Promise<void>;
  /** Stops refreshing and deletes the lock object if it is still ours. */
  release(): Promise<void>;
}

export async function readLease(store: MirrorStore, key: string): Promise<LeaseBody | undefined> {
  const bytes = await store.get(key);
  if (!bytes) return undefined;
  try {
    return leaseBodySchema.parse(JSON.parse(bytes.toString('utf8')));
  } catch {
    return undefined;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as { code?: string }).code === 'EPERM';
  }
}

/** True when `host`/`pid` names a process on this machine that no longer runs (so it holds nothing). */
export function holderGone(host: string, pid: number): boolean {
  return host === hostname() && pid !== process.pid && !processExists(pid);
}

/** Whether a lease body still protects its holder at `now`. */
export function isLeaseLive(body: LeaseBody, now: Date): boolean {
  return Date.parse(body.expiresAt) > now.getTime() && !holderGone(body.host, body.pid);
}

/** True when a live lease is held at `key` by anyone. */
export async function isLocked(store: MirrorStore, key: string, now = new Date()): Promise<boolean> {
  const body = await readLease(store, key);
  return body !== undefined && isLeaseLive(body, now);
}

export async function acquireLease(store: MirrorStore, key: string, options: LeaseOptions = {}): Promise<Lease> {
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  const waitMs = options.waitMs ?? 10 * 60_000;
  const now = options.now ?? (() => new Date());
  const token = randomBytes(16).toString('hex');
  const bodyAt = (at: Date): string =>
    JSON.stringify({
      token,
      host: hostname(),
      pid: process.pid,
      purpose: options.purpose ?? 'mirror',
      acquiredAt: at.toISOString(),
      expiresAt: new Date(at.getTime() + ttlMs).toISOString(),
    } satisfies LeaseBody);

  const deadline = Date.now() + waitMs;
  let poll = options.pollMs ?? 50;
  let holder: LeaseBody | undefined;
  for (;;) {
    try {
      await store.put(key, bodyAt(now()), { ifAbsent: true, contentType: 'application/json' });
      break;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
    }
    holder = await readLease(store, key);
    if (holder && !isLeaseLive(holder, now())) {
      await breakStale(store, key, holder);
      continue;
    }
    if (!holder) await breakUnreadable(store, key, ttlMs, now());
    if (Date.now() >= deadline) throw new LockTimeoutError(key, holder);
    await sleep(poll);
    poll = Math.min(poll * 2, 1000);
  }
  await cleanBreakMarkers(store, key, ttlMs, now());

  let lost = false;
  const check = async (): Promise<void> => {
    const current = await readLease(store, key);
    if (current?.token !== token) lost = true;
  };
  // Refresh well before expiry; unref'd so a forgotten lease never keeps the process alive.
  const timer = setInterval(() => {
    void (async () => {
      await check();
      if (!lost) await store.put(key, bodyAt(now()), { contentType: 'application/json' });
    })().catch(() => undefined);
  }, Math.max(ttlMs / 3, 10));
  timer.unref();

  return {
    key,
    token,
    async assertHeld() {
      await check();
      if (lost) throw new LeaseLostError(key);
    },
    async release() {
      clearInterval(timer);
      await check();
      if (!lost) await store.delete([key]);
    },
  };
}

export async function withLease<T>(store: MirrorStore, key: string, options: LeaseOptions, work: (lease: Lease) => Promise<T>): Promise<T> {
  const lease = await acquireLease(store, key, options);
  try {
    return await work(lease);
  } finally {
    await lease.release();
  }
}

/**
 * Removes a dead holder's lock. Two waiters may both see the same dead holder; only the one that
 * creates the break marker for that holder's token may delete, so neither can delete the fresh lock
 * the other has meanwhile taken.
 */
async function breakStale(store: MirrorStore, key: string, stale: LeaseBody): Promise<void> {
  try {
    await store.put(`${key}.break-${stale.token}`, JSON.stringify({ brokenAt: new Date().toISOString(), host: hostname(), pid: process.pid }), {
      ifAbsent: true,
    });
  } catch (err) {
    if (err instanceof PreconditionFailedError) return; // someone else is breaking it
    throw err;
  }
  const current = await readLease(store, key);
  if (current?.token === stale.token) await store.delete([key]);
}

/** A lock object that cannot be parsed (torn by a foreign writer) is removed once it is older than the ttl. */
async function breakUnreadable(store: MirrorStore, key: string, ttlMs: number, now: Date): Promise<void> {
  const info = await store.stat(key);
  if (info && now.getTime() - info.modified.getTime() > ttlMs && (await readLease(store, key)) === undefined) {
    await store.delete([key]);
  }
}

/** Break markers only matter while a breaker could still be acting on the same stale token. */
async function cleanBreakMarkers(store: MirrorStore, key: string, ttlMs: number, now: Date): Promise<void> {
  const old: string[] = [];
  for await (const info of store.list(`${key}.break-`)) {
    if (now.getTime() - info.modified.getTime() > 10 * ttlMs) old.push(info.key);
  }
  if (old.length > 0) await store.delete(old);
}
