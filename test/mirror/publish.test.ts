import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobVerificationError, DigestMismatchError, MissingBlobError } from '../../mirror/blobs.js';
import { parseBuildRecord } from '../../mirror/build-record.js';
import { parseSha256Sums } from '../../mirror/generated.js';
import { LayoutError, aliasKey, blobKey, buildRecordKey, indexKey, seriesLockKey } from '../../mirror/layout.js';
import { DuplicateBuildError, publishBuild } from '../../mirror/publish.js';
import { listBuilds, openOutput, resolveRef } from '../../mirror/query.js';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { TS, metadata, readAll, sha, snapshot, stagedBuild, tempStore, type TempStore } from './helpers.js';

let t: TempStore;
beforeEach(async () => {
  t = await tempStore();
});
afterEach(() => t.cleanup());

const B1 = '20240501T120000Z';
const B2 = '20240502T120000Z';
const B3 = '20240503T120000Z';

describe('publishBuild', () => {
  it('publishes a complete build: blobs, generated files, record, view, latest, index', async () => {
    const staged = await stagedBuild(t.dir, B1);
    const summary = await publishBuild(t.store, staged);
    expect(summary).toMatchObject({ ...TS, buildId: B1, result: 'success', files: 6, blobsSkipped: 0, latestMoved: true, viewLinks: 6 });
    expect(summary.blobsUploaded).toBe(6);
    expect(summary.bytesUploaded).toBe(summary.totalBytes);

    const record = parseBuildRecord((await t.store.get(buildRecordKey(TS, B1)))!, 'build.json');
    expect(Object.keys(record.files).sort()).toEqual(
      ['BUILD_RESULT', 'CONTEXT', 'SHA256SUMS', 'logs/keystone.log', 'rockcraft/keystone/rockcraft.yaml', 'rocks/keystone_2024.1_amd64.rock'].sort(),
    );

    // SHA256SUMS covers every other output file and matches the bytes served through build.json.
    const sums = parseSha256Sums((await readAll((await openOutput(t.store, TS, B1, 'SHA256SUMS')).stream)).toString());
    expect([...sums.keys()].sort()).toEqual(Object.keys(record.files).filter((p) => p !== 'SHA256SUMS').sort());
    for (const [path, digest] of sums) {
      const opened = await openOutput(t.store, TS, B1, path);
      expect(sha(await readAll(opened.stream)), path).toBe(digest);
      expect(record.files[path]?.digest).toBe(digest);
    }

    // The materialised StarlingX view is plain files a web server can serve, sharing inodes with blobs.
    const outputs = join(t.store.root, 'reference/2024.1/noble', B1, 'outputs');
    const rockBytes = await readFile(join(outputs, 'rocks/keystone_2024.1_amd64.rock'));
    expect(rockBytes.equals(await readFile(staged.files[0]!.source as string))).toBe(true);
    for (const [path, file] of Object.entries(record.files)) {
      const [view, blob] = [await stat(join(outputs, path)), await stat(t.store.pathOf(blobKey(file.digest)))];
      expect(view.ino, path).toBe(blob.ino);
      expect(view.size).toBe(file.size);
    }
    const sumsOnDisk = parseSha256Sums(await readFile(join(outputs, 'SHA256SUMS'), 'utf8'));
    for (const [path, digest] of sumsOnDisk) expect(sha(await readFile(join(outputs, path)))).toBe(digest);

    expect(await readFile(join(t.store.root, aliasKey(TS, 'latest')), 'utf8')).toBe(`${B1}\n`);
    expect((await resolveRef(t.store, 'reference/2024.1/noble/latest')).buildId).toBe(B1);
    const listing = await listBuilds(t.store, TS);
    expect(listing.source).toBe('index');
    expect(listing.builds.map((b) => [b.buildId, b.result, b.size, b.rocks[0]?.digest])).toEqual([[B1, 'success', summary.totalBytes, sha('image-keystone')]]);
    expect(await t.store.stat(seriesLockKey(TS))).toBeUndefined();
    expect(await t.store.listPrefixes('meta/')).toEqual([]); // intent removed

    const result = (await readAll((await openOutput(t.store, TS, B1, 'BUILD_RESULT')).stream)).toString();
    expect(result).toMatch(/^result: success\nbuild-id: 20240501T120000Z\n/);
    const context = (await readAll((await openOutput(t.store, TS, B1, 'CONTEXT')).stream)).toString();
    expect(context).toContain('upstream-commit: ' + 'a'.repeat(40) + '\n');
    expect(context).toContain('package: keystone=2:25.0.0-0ubuntu1\n');
  });

  it('uploads no rock bytes when a second build has an identical rock', async () => {
    const first = await publishBuild(t.store, await stagedBuild(t.dir, B1));
    const second = await publishBuild(t.store, await stagedBuild(t.dir, B2));
    const rockSize = 200_000;
    expect(second.blobsSkipped).toBe(2); // the rock and the identical rockcraft.yaml
    expect(second.bytesSkipped).toBeGreaterThanOrEqual(rockSize);
    expect(second.bytesUploaded).toBeLessThan(first.bytesUploaded - rockSize + 1);
    expect(second.latestMoved).toBe(true);
    expect(second.previousLatest).toBe(B1);
    const [r1, r2] = [parseBuildRecord((await t.store.get(buildRecordKey(TS, B1)))!, 'b1'), parseBuildRecord((await t.store.get(buildRecordKey(TS, B2)))!, 'b2')];
    expect(r2.files['rocks/keystone_2024.1_amd64.rock']).toEqual(r1.files['rocks/keystone_2024.1_amd64.rock']);
  });

  it('references reused blobs by digest without uploading them, and refuses missing ones', async () => {
    await publishBuild(t.store, await stagedBuild(t.dir, B1));
    const r1 = parseBuildRecord((await t.store.get(buildRecordKey(TS, B1)))!, 'b1');
    const rock = r1.files['rocks/keystone_2024.1_amd64.rock']!;
    const reused = { path: 'rocks/keystone_2024.1_amd64.rock', ...rock };
    const staged = { metadata: metadata(B2, {}, [{ name: 'keystone', outcome: 'reused', reusedFrom: B1 }]), files: [], reused: [reused] };
    const summary = await publishBuild(t.store, staged);
    expect(summary.bytesReused).toBe(rock.size);
    expect(summary.bytesUploaded).toBeLessThan(5000);
    expect((await openOutput(t.store, TS, B2, reused.path)).digest).toBe(rock.digest);

    const before = await snapshot(t.store);
    const missing = { metadata: metadata(B3), files: [], reused: [{ ...reused, digest: sha('nope') }] };
    await expect(publishBuild(t.store, missing)).rejects.toBeInstanceOf(MissingBlobError);
    const wrongSize = { metadata: metadata(B3), files: [], reused: [{ ...reused, size: 1 }] };
    await expect(publishBuild(t.store, wrongSize)).rejects.toThrow(/size 200000, expected 1/);
    expect(await snapshot(t.store)).toEqual(before);
  });

  it('records a failed build without moving latest', async () => {
    await publishBuild(t.store, await stagedBuild(t.dir, B1));
    const failed = await stagedBuild(t.dir, B2, { overrides: { result: 'fail', rocks: [{ ...metadata(B2).rocks[0]!, outcome: 'failed', failureClass: 'rockcraft', image: undefined }] } });
    const summary = await publishBuild(t.store, failed);
    expect(summary).toMatchObject({ result: 'fail', latestMoved: false, previousLatest: B1 });
    expect((await resolveRef(t.store, 'reference/2024.1/noble/latest')).buildId).toBe(B1);
    expect((await listBuilds(t.store, TS)).builds.map((b) => `${b.buildId}:${b.result}`)).toEqual([`${B1}:success`, `${B2}:fail`]);
    const result = (await readAll((await openOutput(t.store, TS, B2, 'BUILD_RESULT')).stream)).toString();
    expect(result).toContain('result: fail\n');
    expect(result).toContain('rock keystone_2024.1_amd64: failed rockcraft\n');
  });

  it('does not move latest back when an older build is published late', async () => {
    await publishBuild(t.store, await stagedBuild(t.dir, B2));
    const late = await publishBuild(t.store, await stagedBuild(t.dir, B1, { rockSeed: 'older' }));
    expect(late.latestMoved).toBe(false);
    expect((await resolveRef(t.store, 'reference/2024.1/noble/latest')).buildId).toBe(B2);
    expect((await listBuilds(t.store, TS)).builds.map((b) => b.buildId)).toEqual([B1, B2]);
  });

  it('refuses the same build id twice and changes nothing', async () => {
    await publishBuild(t.store, await stagedBuild(t.dir, B1));
    const before = await snapshot(t.store);
    const again = await stagedBuild(t.dir, B1, { rockSeed: 'different-bytes', log: 'another log' });
    await expect(publishBuild(t.store, again)).rejects.toBeInstanceOf(DuplicateBuildError);
    expect(await snapshot(t.store)).toEqual(before);
  });

  it('lets exactly one of two racing publishes of one build id commit', async () => {
    const [a, b] = [await stagedBuild(t.dir, B1, { log: 'writer a' }), await stagedBuild(t.dir, B1, { log: 'writer b' })];
    const results = await Promise.allSettled([publishBuild(t.store, a), publishBuild(t.store, b)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const loser = results.find((r) => r.status === 'rejected');
    expect(loser?.reason).toBeInstanceOf(DuplicateBuildError);
    const log = (await readAll((await openOutput(t.store, TS, B1, 'logs/keystone.log')).stream)).toString();
    const winner = results[0]?.status === 'fulfilled' ? 'writer a' : 'writer b';
    expect(log).toBe(winner);
  });

  it('serialises concurrent publishes of one series; both commit and the newer is latest', async () => {
    const [a, b, c] = [await stagedBuild(t.dir, B1), await stagedBuild(t.dir, B2, { rockSeed: 'two' }), await stagedBuild(t.dir, B3, { rockSeed: 'three' })];
    const summaries = await Promise.all([publishBuild(t.store, b), publishBuild(t.store, c), publishBuild(t.store, a)]);
    expect(summaries.map((s) => s.buildId)).toEqual([B2, B3, B1]);
    expect((await resolveRef(t.store, 'reference/2024.1/noble/latest')).buildId).toBe(B3);
    const index = JSON.parse((await t.store.get(indexKey(TS)))!.toString()) as { builds: { buildId: string }[] };
    expect(index.builds.map((x) => x.buildId)).toEqual([B1, B2, B3]);
    expect(await t.store.stat(seriesLockKey(TS))).toBeUndefined();
  });

  it('keeps different series independent', async () => {
    const other = { release: '2025.1', series: 'noble' };
    await publishBuild(t.store, await stagedBuild(t.dir, B1));
    await publishBuild(t.store, await stagedBuild(t.dir, B2, { overrides: other }));
    expect((await resolveRef(t.store, 'reference/2024.1/noble/latest')).buildId).toBe(B1);
    expect((await resolveRef(t.store, 'reference/2025.1/noble/latest')).buildId).toBe(B2);
  });

  describe('refuses bad input before writing anything', () => {
    const cases: [string, (dir: string) => Promise<Parameters<typeof publishBuild>[1]>, unknown][] = [
      ['a generated path staged', async (dir) => ({ ...(await stagedBuild(dir, B1)), files: [{ path: 'SHA256SUMS', source: Buffer.from('x') }] }), LayoutError],
      ['an escaping path', async (dir) => ({ ...(await stagedBuild(dir, B1)), files: [{ path: '../x', source: Buffer.from('x') }] }), LayoutError],
      ['a path staged twice', async (dir) => ({ ...(await stagedBuild(dir, B1)), files: [{ path: 'a', source: Buffer.from('x') }, { path: 'a', source: Buffer.from('y') }] }), LayoutError],
      ['invalid metadata', async (dir) => ({ ...(await stagedBuild(dir, B1)), metadata: { ...metadata(B1), buildId: '20241301T000000Z' } }), /invalid build\.json at staged build/],
      ['a claimed digest that does not match', async (dir) => ({ ...(await stagedBuild(dir, B1)), files: [{ path: 'a', source: Buffer.from('x'), digest: sha('y') }] }), DigestMismatchError],
    ];
    it.each(cases)('%s', async (_name, make, error) => {
      const staged = await make(t.dir);
      const attempt = publishBuild(t.store, staged);
      if (error instanceof RegExp) await expect(attempt).rejects.toThrow(error);
      else await expect(attempt).rejects.toBeInstanceOf(error);
      expect(await snapshot(t.store)).toEqual(new Map());
    });
  });

  it('rejects a blob whose stored bytes do not match its digest (verify: digest)', async () => {
    // A store that corrupts what it is given, like a faulty disk or proxy would.
    const base = t.store;
    const corrupting: MirrorStore = Object.assign(Object.create(base) as MirrorStore, {
      put: (key: string, body: Buffer | string) => base.put(key, key.startsWith('blobs/') ? Buffer.from(String(body).replace(/./, '#')) : body),
      putFile: async (key: string, path: string) => base.put(key, Buffer.from((await readFile(path)).fill(0, 0, 1))),
    });
    await expect(publishBuild(corrupting, await stagedBuild(t.dir, B1), { verify: 'digest' })).rejects.toBeInstanceOf(BlobVerificationError);
    expect(await t.store.stat(buildRecordKey(TS, B1))).toBeUndefined();
    for await (const info of t.store.list('blobs/')) throw new Error(`corrupt blob left behind: ${info.key}`);
  });
});

describe('re-running a publish', () => {
  let r: TempStore;
  beforeEach(async () => {
    r = await tempStore();
  });
  afterEach(() => r.cleanup());

  it('finishes a build whose earlier publish died after the commit', async () => {
    const staged = await stagedBuild(r.dir, B1);
    await expect(publishBuild(r.store, staged, { afterStep: (s) => { if (s === 'record') throw new Error('killed'); } })).rejects.toThrow('killed');
    await expect(resolveRef(r.store, 'reference/2024.1/noble/latest')).rejects.toThrow();
    const summary = await publishBuild(r.store, staged);
    expect(summary.latestMoved).toBe(true);
    expect((await resolveRef(r.store, 'reference/2024.1/noble/latest')).buildId).toBe(B1);
  });
});
