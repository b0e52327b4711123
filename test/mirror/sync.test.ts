// Syncing committed builds between real stores: fs → fs (incremental, repeated, interrupted,
// refusing corrupt blobs and conflicting records) and, when the shared Ceph RGW is available,
// fs → S3 → fs.
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'minio';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { parseBuildRecord, serialiseBuildRecord } from '../../mirror/build-record.js';
import { aliasKey, blobKey, buildRecordKey, indexKey, outputKey } from '../../mirror/layout.js';
import { listPins, promote, setPin } from '../../mirror/lifecycle.js';
import { publishBuild } from '../../mirror/publish.js';
import { pullBuild, storeReader } from '../../mirror/pull.js';
import { NotFoundInMirrorError, listBuilds, openOutput, resolveRef } from '../../mirror/query.js';
import { FsStore } from '../../mirror/stores/fs.js';
import { S3Store } from '../../mirror/stores/s3.js';
import type { MirrorStore, PutOptions } from '../../mirror/stores/store.js';
import { SyncFailedError, syncMirror } from '../../mirror/sync.js';
import { RGW_SKIP_REASON } from '../setup/rgw.js';
import { TS, readAll, sha, snapshot, stagedBuild, tempStore, type TempStore } from './helpers.js';

const B1 = '20240501T120000Z';
const B2 = '20240502T120000Z';
const B3 = '20240503T120000Z';
const OTHER = { train: 'patched', release: 'caracal', series: 'jammy' };

let t: TempStore;
let dest: FsStore;
beforeEach(async () => {
  t = await tempStore();
  dest = new FsStore(join(t.dir, 'replica'));
  await publishBuild(t.store, await stagedBuild(t.dir, B1, { rockSeed: 'one' }));
  await publishBuild(t.store, await stagedBuild(t.dir, B2, { rockSeed: 'two' }));
  await publishBuild(t.store, await stagedBuild(t.dir, B1, { rockSeed: 'other', overrides: OTHER }));
  await promote(t.store, TS, B1);
  await setPin(t.store, TS, 'prod', B1, { note: 'what production runs' });
});
afterEach(() => t.cleanup());

/** Keys with content digests, minus the objects whose bytes legitimately differ between mirrors. */
async function content(store: MirrorStore): Promise<Map<string, string>> {
  const snap = await snapshot(store);
  for (const key of [...snap.keys()]) if (key.endsWith('/index.json') || key.startsWith('meta/')) snap.delete(key);
  return snap;
}

async function distinctBlobs(store: MirrorStore): Promise<number> {
  let n = 0;
  for await (const _ of store.list('blobs/')) n += 1;
  return n;
}

describe('syncMirror fs → fs', () => {
  it('copies every committed build with its blobs, view, aliases, pins and index', async () => {
    const report = await syncMirror(t.store, dest);
    expect(report).toMatchObject({ from: t.store.location, to: dest.location, buildsCopied: 3, buildsPresent: 0, failures: [] });
    expect(report.blobsCopied).toBe(await distinctBlobs(t.store));
    // Blobs the two trains share (same log text, same rockcraft.yaml) travel once.
    expect(report.blobsSkipped).toBe(2);
    expect(report.series.find((s) => s.train === 'reference')?.moved.sort()).toEqual([`latest → ${B2}`, `pin:prod → ${B1}`, `stable → ${B1}`]);

    // Identical objects everywhere, except index.json, which the destination wrote itself.
    expect(await content(dest)).toEqual(await content(t.store));
    expect((await listBuilds(dest, TS)).builds.map((b) => b.buildId)).toEqual([B1, B2]);
    expect((await listBuilds(dest, TS)).source).toBe('index');
    expect((await resolveRef(dest, 'reference/2024.1/noble/stable')).buildId).toBe(B1);
    expect((await listPins(dest, TS)).map((p) => [p.name, p.pin.note])).toEqual([['prod', 'what production runs']]);
    // The consumer view is materialised as hard links to the destination's own blobs.
    const record = parseBuildRecord((await dest.get(buildRecordKey(TS, B2)))!, B2);
    for (const [path, file] of Object.entries(record.files)) {
      const [view, blob] = [await stat(dest.pathOf(outputKey(TS, B2, path))), await stat(dest.pathOf(blobKey(file.digest)))];
      expect(view.ino, path).toBe(blob.ino);
    }
    const opened = await openOutput(dest, TS, B2, 'rocks/keystone_2024.1_amd64.rock');
    expect(sha(await readAll(opened.stream))).toBe(record.files['rocks/keystone_2024.1_amd64.rock']?.digest);
  });

  it('copies nothing and writes nothing the second time, and only what is new after a publish', async () => {
    await syncMirror(t.store, dest);
    const before = await snapshot(dest);
    const again = await syncMirror(t.store, dest);
    expect(again).toMatchObject({ buildsCopied: 0, buildsPresent: 3, blobsCopied: 0, blobsSkipped: 0, bytesCopied: 0 });
    expect(again.series.every((s) => s.moved.length === 0 && s.viewLinks === 0)).toBe(true);
    expect(await snapshot(dest)).toEqual(before); // not even index.json was rewritten

    // B3 shares its rockcraft.yaml with earlier builds; only its new blobs travel.
    await publishBuild(t.store, await stagedBuild(t.dir, B3, { rockSeed: 'three' }));
    const third = await syncMirror(t.store, dest);
    expect(third).toMatchObject({ buildsCopied: 1, buildsPresent: 3, blobsSkipped: 1 });
    expect(third.blobsCopied).toBe(5);
    expect((await resolveRef(dest, 'reference/2024.1/noble/latest')).buildId).toBe(B3);
    expect(await content(dest)).toEqual(await content(t.store));
  });

  it('syncs one train only, and refuses an unknown one before touching anything', async () => {
    const report = await syncMirror(t.store, dest, { train: 'patched' });
    expect(report.series.map((s) => `${s.train}/${s.release}/${s.series}`)).toEqual(['patched/caracal/jammy']);
    expect(await dest.stat(buildRecordKey(TS, B1))).toBeUndefined();
    const before = await snapshot(dest);
    const err = await syncMirror(t.store, dest, { train: 'nosuch' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundInMirrorError);
    expect((err as Error).message).toMatch(/no train nosuch in fs:.*; trains: patched, reference/);
    expect(await snapshot(dest)).toEqual(before);
  });

  it('refuses a source blob whose bytes do not match its digest, and commits no build that needs it', async () => {
    const record = parseBuildRecord((await t.store.get(buildRecordKey(TS, B2)))!, B2);
    const rock = record.files['rocks/keystone_2024.1_amd64.rock']!;
    await writeFile(t.store.pathOf(blobKey(rock.digest)), randomBytes(rock.size)); // same size, other bytes
    const err = await syncMirror(t.store, dest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncFailedError);
    const report = (err as SyncFailedError).report;
    expect(report.failures).toEqual([
      { series: 'reference/2024.1/noble', buildId: B2, error: expect.stringMatching(/^not copied: rocks\/keystone_2024\.1_amd64\.rock: source blob blobs\/sha256\/.* \(refused\): content is sha256:[0-9a-f]{64}, expected sha256:/) as unknown },
    ]);
    expect(await dest.stat(blobKey(rock.digest))).toBeUndefined();
    expect(await dest.stat(buildRecordKey(TS, B2))).toBeUndefined();
    // B1 made it, and no alias points at the build that did not.
    expect(await dest.stat(buildRecordKey(TS, B1))).toBeDefined();
    expect(await dest.get(aliasKey(TS, 'latest'))).toBeUndefined();
    expect((await resolveRef(dest, 'reference/2024.1/noble/stable')).buildId).toBe(B1);
    expect((await listBuilds(dest, TS)).builds.map((b) => b.buildId)).toEqual([B1]);
  });

  it('never overwrites a different build.json with the same id', async () => {
    const theirs = parseBuildRecord((await t.store.get(buildRecordKey(TS, B1)))!, B1);
    const different = serialiseBuildRecord({ ...theirs, context: { ...theirs.context, builderVersion: 'rockcraft 9' } });
    await dest.put(buildRecordKey(TS, B1), different);
    const err = await syncMirror(t.store, dest).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyncFailedError);
    expect((err as Error).message).toMatch(/reference\/2024\.1\/noble\/20240501T120000Z: a different build\.json with this id exists in the destination; not overwritten/);
    expect((await dest.get(buildRecordKey(TS, B1)))?.toString()).toBe(different);
    expect(await dest.stat(buildRecordKey(TS, B2))).toBeDefined();
    // The rest is synced, but stable and the pin name B1, whose destination record is another build.
    expect((await resolveRef(dest, 'reference/2024.1/noble/latest')).buildId).toBe(B2);
    expect(await dest.stat(aliasKey(TS, 'stable'))).toBeUndefined();
    expect(await listPins(dest, TS)).toEqual([]);
  });

  it('completes when rerun after being interrupted while copying blobs or moving aliases', async () => {
    // Interrupted mid-blobs: the destination dies after three uploads.
    let uploads = 0;
    const flaky = wrap(dest, {
      putFile: (key) => {
        if (key.startsWith('blobs/') && ++uploads > 3) throw new Error('connection lost');
      },
    });
    await expect(syncMirror(t.store, flaky)).rejects.toThrow(/connection lost/);
    for (const ts of [TS, OTHER]) expect((await listBuilds(dest, ts)).builds).toEqual([]);

    // Interrupted after the records, before the aliases: builds are committed but not yet latest.
    const noAliases = wrap(dest, {
      put: (key) => {
        if (key.endsWith('_build')) throw new Error('killed');
      },
    });
    await expect(syncMirror(t.store, noAliases)).rejects.toThrow(/killed/);
    expect(await dest.stat(buildRecordKey(OTHER, B1))).toBeDefined();
    expect(await dest.stat(aliasKey(OTHER, 'latest'))).toBeUndefined();

    const report = await syncMirror(t.store, dest);
    expect(report.failures).toEqual([]);
    expect(await content(dest)).toEqual(await content(t.store));
    expect((await resolveRef(dest, 'reference/2024.1/noble/latest')).buildId).toBe(B2);
    expect((await listBuilds(dest, TS)).builds.map((b) => b.buildId)).toEqual([B1, B2]);
    // No lock or intent was left behind by the failed runs.
    expect([...(await snapshot(dest)).keys()].filter((k) => k.startsWith('meta/') || k.endsWith('.lock'))).toEqual([]);
  });
});

/** A store that runs `hooks` before delegating, to fail chosen writes. */
function wrap(store: FsStore, hooks: { put?: (key: string) => void; putFile?: (key: string) => void }): MirrorStore {
  return {
    location: store.location,
    get: (key) => store.get(key),
    getStream: (key, range) => store.getStream(key, range),
    stat: (key) => store.stat(key),
    list: (prefix) => store.list(prefix),
    listPrefixes: (prefix) => store.listPrefixes(prefix),
    delete: (keys) => store.delete(keys),
    put: async (key: string, body: Buffer | string, options?: PutOptions) => {
      hooks.put?.(key);
      return store.put(key, body, options);
    },
    putFile: async (key: string, path: string, options?: PutOptions) => {
      hooks.putFile?.(key);
      return store.putFile(key, path, options);
    },
  };
}

const rgw = inject('rgw');

describe.skipIf(!rgw)(rgw ? 'syncMirror with S3 (Ceph RGW)' : `syncMirror with S3 — ${RGW_SKIP_REASON}`, () => {
  it('syncs fs → S3 incrementally, pulls from S3 with resume, and syncs back S3 → fs', async () => {
    const conn = rgw!;
    const bucket = `heliostat-sync-${randomBytes(5).toString('hex')}`;
    const s3 = new S3Store({ endpoint: conn.endpoint, region: conn.region, bucket, prefix: 'mirror', accessKey: conn.accessKey, secretKey: conn.secretKey, retryBaseDelayMs: 20 });
    await s3.ensureBucket();
    try {
      const first = await syncMirror(t.store, s3);
      expect(first).toMatchObject({ buildsCopied: 3, blobsSkipped: 2, failures: [] });
      const again = await syncMirror(t.store, s3);
      expect(again).toMatchObject({ buildsCopied: 0, blobsCopied: 0, buildsPresent: 3 });
      // S3 has no hard links: it holds blobs, records, aliases, pins and index, and no view.
      const local = await content(t.store);
      for (const key of local.keys()) if (key.includes('/outputs/')) local.delete(key);
      expect(await content(s3)).toEqual(local);
      expect(await s3.stat(indexKey(TS))).toBeDefined();

      const dir = join(t.dir, 'pulled');
      const pulled = await pullBuild(storeReader(s3), 'reference/2024.1/noble/stable', dir);
      expect(pulled).toMatchObject({ buildId: B1, downloaded: 6 });
      const rock = join(dir, 'rocks/keystone_2024.1_amd64.rock');
      const full = await readFile(rock);
      await writeFile(`${rock}.part`, full.subarray(0, 12_345));
      await writeFile(rock, ''); // a wrong file under the final name is replaced, from the part onwards
      const resumed = await pullBuild(storeReader(s3), 'reference/2024.1/noble/stable', dir);
      expect(resumed).toMatchObject({ resumed: 1, skipped: 5, bytes: full.length - 12_345 });
      expect((await readFile(rock)).equals(full)).toBe(true);

      const back = new FsStore(join(t.dir, 'back'));
      await syncMirror(s3, back);
      expect(await content(back)).toEqual(await content(t.store));
    } finally {
      const keys: string[] = [];
      for await (const info of s3.list('')) keys.push(info.key);
      await s3.delete(keys);
      const url = new URL(conn.endpoint);
      await new Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false, pathStyle: true, region: conn.region, accessKey: conn.accessKey, secretKey: conn.secretKey }).removeBucket(bucket);
      s3.close();
    }
  });
});
