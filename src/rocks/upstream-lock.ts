// A lock file so that several heliostat processes sharing one cache directory never clone or
// fetch into the same repository at once. O_EXCL creation is atomic on local file systems; a
// lock whose holder died (same host, pid gone) or that stopped being refreshed is broken.
import { randomUUID } from 'node:crypto';
import { open, readFile, rm, stat, utimes } from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { LockTimeoutError } from './upstream-errors.js';

export interface FileLockOptions {
  /** Give up waiting after this long (default 10 minutes). */
  timeoutMs?: number;
  /** A lock not refreshed for this long is stale (default 2 minutes); holders refresh it every third of it. */
  staleMs?: number;
  /** Delay between attempts (default 50 ms, with jitter). */
  pollMs?: number;
}

interface LockRecord {
  pid: number;
  host: string;
  token: string;
  since: string;
}

/** Runs `fn` while holding the lock file `lockPath`. */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const release = await acquireFileLock(lockPath, options);
  try {
    return await fn();
  } finally {
    await release();
  }
}

export async function acquireFileLock(lockPath: string, options: FileLockOptions = {}): Promise<() => Promise<void>> {
  const timeoutMs = options.timeoutMs ?? 10 * 60_000;
  const staleMs = options.staleMs ?? 2 * 60_000;
  const pollMs = options.pollMs ?? 50;
  const record: LockRecord = { pid: process.pid, host: os.hostname(), token: randomUUID(), since: new Date().toISOString() };
  const started = Date.now();
  for (;;) {
    if (await tryCreate(lockPath, record)) break;
    const current = await readLock(lockPath);
    if (current !== undefined && (await isStale(lockPath, current, staleMs))) {
      // Re-read just before removing so a lock taken over in between is left alone.
      if ((await readLock(lockPath))?.raw === current.raw) await rm(lockPath, { force: true });
      continue;
    }
    if (Date.now() - started >= timeoutMs) {
      throw new LockTimeoutError(lockPath, Date.now() - started, describe(current?.record));
    }
    await sleep(pollMs / 2 + Math.random() * pollMs);
  }

  // Refresh the mtime while held so a long clone is not mistaken for a dead holder.
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(lockPath, now, now).catch(() => undefined);
  }, Math.max(10, Math.floor(staleMs / 3)));
  heartbeat.unref();

  return async () => {
    clearInterval(heartbeat);
    const current = await readLock(lockPath);
    if (current?.record?.token === record.token) await rm(lockPath, { force: true });
  };
}

async function tryCreate(lockPath: string, record: LockRecord): Promise<boolean> {
  let handle;
  try {
    handle = await open(lockPath, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await handle.writeFile(JSON.stringify(record));
  } finally {
    await handle.close();
  }
  return true;
}

interface ReadLock {
  raw: string;
  /** Undefined while the holder has created the file but not written it yet, or if it is garbage. */
  record: LockRecord | undefined;
}

async function readLock(lockPath: string): Promise<ReadLock | undefined> {
  let raw: string;
  try {
    raw = await readFile(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const parsed = JSON.parse(raw) as Partial<LockRecord>;
    const ok = typeof parsed.pid === 'number' && typeof parsed.host === 'string' && typeof parsed.token === 'string';
    return { raw, record: ok ? (parsed as LockRecord) : undefined };
  } catch {
    return { raw, record: undefined };
  }
}

async function isStale(lockPath: string, lock: ReadLock, staleMs: number): Promise<boolean> {
  const { record } = lock;
  if (record && record.host === os.hostname() && record.pid !== process.pid && !processAlive(record.pid)) return true;
  try {
    return Date.now() - (await stat(lockPath)).mtimeMs > staleMs;
  } catch {
    return false; // gone already: the next attempt will take it
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describe(record: LockRecord | undefined): string {
  return record ? `pid ${record.pid} on ${record.host} since ${record.since}` : 'an unknown holder';
}
