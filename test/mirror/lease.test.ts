import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LeaseLostError, LockTimeoutError, acquireLease, isLocked, readLease, withLease } from '../../mirror/lease.js';
import { tempStore, type TempStore } from './helpers.js';

let t: TempStore;
beforeEach(async () => {
  t = await tempStore();
});
afterEach(() => t.cleanup());

const KEY = 'reference/2024.1/noble/publish.lock';

function staleBody(): string {
  return JSON.stringify({
    token: 'e'.repeat(32),
    host: 'gone-host',
    pid: 1,
    purpose: 'crashed',
    acquiredAt: '2024-01-01T00:00:00.000Z',
    expiresAt: '2024-01-01T00:05:00.000Z',
  });
}

describe('lease', () => {
  it('excludes: concurrent holders never overlap, even when they all start by breaking a stale lock', async () => {
    await t.store.put(KEY, staleBody());
    let inside = 0;
    let maxInside = 0;
    const order: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        withLease(t.store, KEY, { pollMs: 5, waitMs: 20_000 }, async () => {
          inside += 1;
          maxInside = Math.max(maxInside, inside);
          await sleep(20);
          order.push(i);
          inside -= 1;
        }),
      ),
    );
    expect(maxInside).toBe(1);
    expect(order.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await t.store.stat(KEY)).toBeUndefined();
  });

  it('refreshes while held, so a slow holder is not presumed dead', async () => {
    // Refreshes every ttl/3; a generous ttl keeps a loaded machine from missing two in a row.
    const lease = await acquireLease(t.store, KEY, { ttlMs: 1500, purpose: 'slow publish' });
    await sleep(3200);
    expect(await isLocked(t.store, KEY)).toBe(true);
    await expect(acquireLease(t.store, KEY, { waitMs: 200 })).rejects.toBeInstanceOf(LockTimeoutError);
    await lease.assertHeld();
    await lease.release();
    expect(await isLocked(t.store, KEY)).toBe(false);
  });

  it('notices when its lock was taken over and does not delete the new holder', async () => {
    const lease = await acquireLease(t.store, KEY, { ttlMs: 60_000 });
    await t.store.put(KEY, staleBody().replace('2024-01-01T00:05:00.000Z', '2999-01-01T00:00:00.000Z'));
    await expect(lease.assertHeld()).rejects.toBeInstanceOf(LeaseLostError);
    await lease.release();
    expect((await readLease(t.store, KEY))?.host).toBe('gone-host');
  });

  it('removes an unreadable lock only once it is older than the ttl', async () => {
    await t.store.put(KEY, 'garbage');
    await expect(acquireLease(t.store, KEY, { waitMs: 150, ttlMs: 60_000 })).rejects.toBeInstanceOf(LockTimeoutError);
    const later = () => new Date(Date.now() + 120_000);
    const lease = await acquireLease(t.store, KEY, { waitMs: 2000, ttlMs: 60_000, now: later });
    await lease.release();
  });
});
