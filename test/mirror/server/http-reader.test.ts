// Pull and sync from a mirror served over HTTP: the HTTP MirrorReader and the read-only HTTP store
// against the real router on a socket, with the same verification and resume as from a store, a
// bearer token for a private mirror, and errors that read like the store's.
import { readFile, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBuildRecord, serialiseBuildRecord } from '../../../mirror/build-record.js';
import { HttpMirrorStore, MirrorHttpError, ReadOnlyMirrorError, httpReader, parseMirrorUrl } from '../../../mirror/http-reader.js';
import { aliasKey, blobKey, buildRecordKey, pinsKey } from '../../../mirror/layout.js';
import { PullFailedError, pullBuild } from '../../../mirror/pull.js';
import { NotFoundInMirrorError, listBuilds, listTrains, resolveRef } from '../../../mirror/query.js';
import { FsStore } from '../../../mirror/stores/fs.js';
import { SyncFailedError, syncMirror } from '../../../mirror/sync.js';
import { recordingReader, sha, type TempStore } from '../helpers.js';
import { B1, B2, B3, FIX, KEYSTONE_ROCK, SERIES, TS, cleanup, fixtureMirror, serve, type Served } from './fixtures.js';

const TOKEN = 'reader-token-0123456789';
let t: TempStore;
let s: Served;
let priv: Served;

beforeAll(async () => {
  t = await fixtureMirror();
  s = await serve(t.store);
  priv = await serve(t.store, { readAuth: { public: false, clients: [{ name: 'ci', token: TOKEN }] } });
});
afterAll(() => cleanup(t, s, priv));

async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('pull over HTTP', () => {
  it('pulls a build by any ref, verified, and skips it the second time', async () => {
    const out = join(t.dir, 'pull-latest');
    const reader = httpReader(`${s.url}/`);
    const summary = await pullBuild(reader, `${SERIES}/latest`, out);
    expect(summary).toMatchObject({ ...TS, buildId: B3, ref: `${SERIES}/latest`, source: `${s.url}/`, downloaded: 10, failed: 0 });
    const record = parseBuildRecord((await t.store.get(buildRecordKey(TS, B3)))!, B3);
    expect(await tree(out)).toEqual(Object.keys(record.files).sort());
    for (const [path, file] of Object.entries(record.files)) expect(sha(await readFile(join(out, path))), path).toBe(file.digest);
    expect(await pullBuild(reader, `${SERIES}/${B3}`, out)).toMatchObject({ skipped: 10, bytes: 0 });
    expect((await pullBuild(httpReader(s.url), `${SERIES}/as-of:2024-05-02T23:00:00Z`, join(t.dir, 'as-of'), { rocks: ['keystone'] })).buildId).toBe(B1);
    expect((await pullBuild(httpReader(s.url), `${SERIES}/pin:prod`, join(t.dir, 'pinned'))).buildId).toBe(B1);
  });

  it('resumes a partial file with a byte range and verifies the whole of it', async () => {
    const out = join(t.dir, 'pull-resume');
    await pullBuild(httpReader(s.url), `${SERIES}/${B3}`, out);
    const full = await readFile(join(out, KEYSTONE_ROCK));
    await unlink(join(out, KEYSTONE_ROCK));
    await writeFile(join(out, `${KEYSTONE_ROCK}.part`), full.subarray(0, 12_345));
    const { reader, ranges } = recordingReader(httpReader(s.url));
    const resumed = await pullBuild(reader, `${SERIES}/${B3}`, out);
    expect(resumed).toMatchObject({ resumed: 1, skipped: 9, bytes: full.length - 12_345 });
    expect(ranges.filter((r) => r.path === KEYSTONE_ROCK)).toEqual([{ path: KEYSTONE_ROCK, range: { start: 12_345 } }]);
    expect((await readFile(join(out, KEYSTONE_ROCK))).equals(full)).toBe(true);

    // A partial file whose bytes are not the file's: detected on the whole, removed, reported.
    const bad = Buffer.from(full.subarray(0, 5000));
    bad[100] = (bad[100] ?? 0) ^ 0xff;
    await unlink(join(out, KEYSTONE_ROCK));
    await writeFile(join(out, `${KEYSTONE_ROCK}.part`), bad);
    const failed = await pullBuild(httpReader(s.url), `${SERIES}/${B3}`, out).catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(PullFailedError);
    expect((failed as PullFailedError).message).toMatch(/content is sha256:.*resumed from a partial file of 5000 bytes/);
    expect(await tree(join(out, 'rocks'))).toEqual(['glance_2024.1_amd64.rock']);
    // …and the rerun fetches it whole.
    expect(await pullBuild(httpReader(s.url), `${SERIES}/${B3}`, out)).toMatchObject({ downloaded: 1, skipped: 9 });
  });

  it('refuses bytes the server serves that do not match build.json', async () => {
    const scratch = await fixtureMirror();
    const served = await serve(scratch.store);
    try {
      const record = parseBuildRecord((await scratch.store.get(buildRecordKey(TS, B1)))!, B1);
      await writeFile(scratch.store.pathOf(blobKey(record.files['logs/keystone.log']!.digest)), 'tampered\n');
      const out = join(scratch.dir, 'out');
      const err = await pullBuild(httpReader(served.url), `${SERIES}/${B1}`, out).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PullFailedError);
      // The server cuts the connection rather than send less than it promised.
      expect((err as Error).message).toMatch(/first transfer of \S+\/outputs\/logs\/keystone\.log from http:\/\/127\.0\.0\.1:\d+\/ broke off: other side closed/);
      expect(await tree(join(out, 'logs'))).not.toContain('keystone.log');
      expect(await tree(join(out, 'logs'))).toContain('glance.log');
    } finally {
      await cleanup(scratch, served);
    }
  });

  it('fails like a store would for what the mirror does not have, and never sends a malformed ref', async () => {
    const reader = httpReader(s.url);
    await expect(reader.resolve(`${SERIES}/20200101T000000Z`)).rejects.toBeInstanceOf(NotFoundInMirrorError);
    await expect(reader.resolve(`${SERIES}/20200101T000000Z`)).rejects.toThrow(/no such build in http:\/\/127\.0\.0\.1:\d+\//);
    await expect(reader.resolve('nosuch/2024.1/noble/latest')).rejects.toThrow(/no train nosuch; trains: fix-1234, reference/);
    await expect(reader.resolve('../2024.1/noble/latest')).rejects.toThrow(/invalid build reference/);
    await expect(pullBuild(reader, `${SERIES}/latest`, join(t.dir, 'x'), { rocks: ['nova'] })).rejects.toThrow(/has no rock nova; its rocks: glance, keystone/);
    const unreachable = await httpReader('http://127.0.0.1:9/').resolve(`${SERIES}/latest`).catch((e: unknown) => e);
    expect(unreachable).toBeInstanceOf(MirrorHttpError);
    expect((unreachable as MirrorHttpError).message).toMatch(/^cannot reach mirror http:\/\/127\.0\.0\.1:9\/: /);
    expect((unreachable as MirrorHttpError).usage).toBe(false);
  });

  it('sends a bearer token to a private mirror, and says when one is needed', async () => {
    const none = await httpReader(priv.url).resolve(`${SERIES}/latest`).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(MirrorHttpError);
    expect((none as MirrorHttpError).message).toMatch(/requires credentials: set HELIOSTAT_MIRROR_TOKEN to a read token/);
    expect((none as MirrorHttpError).usage).toBe(true);
    const wrong = await httpReader(priv.url, { token: 'wrong-token' }).resolve(`${SERIES}/latest`).catch((e: unknown) => e);
    expect((wrong as Error).message).toMatch(/the token was not accepted/);
    expect((wrong as Error).message).not.toContain('wrong-token');
    const pulled = await pullBuild(httpReader(priv.url, { token: TOKEN }), `${SERIES}/stable`, join(t.dir, 'private'));
    expect(pulled).toMatchObject({ buildId: B1, downloaded: 10 });
  });

  it('takes only plain http(s) base URLs', () => {
    expect(parseMirrorUrl('https://mirror.example/rocks').href).toBe('https://mirror.example/rocks/');
    expect(() => parseMirrorUrl('https://user:pw@mirror.example/')).toThrow(/must not contain credentials; put a token in HELIOSTAT_MIRROR_TOKEN/);
    expect(() => parseMirrorUrl('ftp://mirror.example/')).toThrow(/expected http\(s\):\/\//);
    expect(() => parseMirrorUrl('https://mirror.example/?x=1')).toThrow(/must not have a query/);
  });
});

describe('sync from HTTP', () => {
  it('copies every build, alias and pin into a store, verified, and nothing the second time', async () => {
    const from = new HttpMirrorStore(s.url);
    const dest = new FsStore(join(t.dir, 'replica'));
    const first = await syncMirror(from, dest);
    expect(first).toMatchObject({ from: `${s.url}/`, to: dest.location, buildsCopied: 4, failures: [] });
    for (const id of [B1, B2, B3]) expect((await dest.get(buildRecordKey(TS, id)))?.equals((await t.store.get(buildRecordKey(TS, id)))!)).toBe(true);
    expect((await dest.get(aliasKey(TS, 'latest')))?.toString()).toBe(`${B3}\n`);
    expect((await dest.get(aliasKey(TS, 'stable')))?.toString()).toBe(`${B1}\n`);
    expect(JSON.parse((await dest.get(pinsKey(TS)))!.toString())).toEqual(JSON.parse((await t.store.get(pinsKey(TS)))!.toString()));
    expect((await listBuilds(dest, TS)).builds.map((b) => b.buildId)).toEqual([B1, B2, B3]);
    expect((await resolveRef(dest, 'fix-1234/caracal/jammy/latest')).buildId).toBe(B1);
    const again = await syncMirror(from, dest);
    expect(again).toMatchObject({ buildsCopied: 0, blobsCopied: 0, buildsPresent: 4 });
    // One train only.
    const one = await syncMirror(from, new FsStore(join(t.dir, 'fix-only')), { train: FIX.train });
    expect(one.series.map((x) => x.train)).toEqual([FIX.train]);
  });

  it('completes an interrupted sync when rerun', async () => {
    const dest = new FsStore(join(t.dir, 'interrupted'));
    // An earlier run died after committing B1's record (before its view, aliases and index) and
    // after copying a few of B3's blobs.
    const [r1, r3] = [B1, B3].map(async (id) => parseBuildRecord((await t.store.get(buildRecordKey(TS, id)))!, id));
    const copy = async (digest: string) => dest.put(blobKey(digest), (await t.store.get(blobKey(digest)))!);
    for (const f of Object.values((await r1)!.files)) await copy(f.digest);
    for (const f of Object.values((await r3)!.files).slice(0, 3)) await copy(f.digest);
    await dest.put(buildRecordKey(TS, B1), serialiseBuildRecord((await r1)!));
    const report = await syncMirror(new HttpMirrorStore(s.url), dest);
    expect(report).toMatchObject({ buildsCopied: 3, buildsPresent: 1, failures: [] });
    expect(report.blobsSkipped).toBeGreaterThanOrEqual(3);
    expect((await pullBuild(httpReader(s.url), `${SERIES}/${B2}`, join(t.dir, 'check'))).failed).toBe(0);
  });

  it('refuses a blob whose bytes do not match its digest, and copies the rest', async () => {
    const scratch = await fixtureMirror();
    const served = await serve(scratch.store);
    try {
      const record = parseBuildRecord((await scratch.store.get(buildRecordKey(TS, B2)))!, B2);
      await writeFile(scratch.store.pathOf(blobKey(record.files['logs/keystone.log']!.digest)), 'tampered\n');
      const dest = new FsStore(join(scratch.dir, 'replica'));
      const err = await syncMirror(new HttpMirrorStore(served.url), dest).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SyncFailedError);
      const report = (err as SyncFailedError).report;
      expect(report.failures).toEqual([expect.objectContaining({ series: SERIES, buildId: B2, error: expect.stringMatching(/not copied: logs\/keystone\.log/) as unknown })]);
      expect(report.buildsCopied).toBe(3);
      expect(await dest.stat(buildRecordKey(TS, B2))).toBeUndefined();
    } finally {
      await cleanup(scratch, served);
    }
  });

  it('lists like a store and refuses writes', async () => {
    const from = new HttpMirrorStore(priv.url, { token: TOKEN });
    expect(await listTrains(from)).toEqual(['fix-1234', 'reference']);
    expect(await from.listPrefixes(`${SERIES}/`)).toEqual([B1, B2, B3].map((id) => `${SERIES}/${id}/`));
    expect(await from.stat(buildRecordKey(TS, B2))).toMatchObject({ size: (await t.store.stat(buildRecordKey(TS, B2)))!.size });
    expect(await from.get(buildRecordKey(TS, '20200101T000000Z'))).toBeUndefined();
    expect(await from.get('meta/gc.lock')).toBeUndefined();
    await expect(from.put()).rejects.toBeInstanceOf(ReadOnlyMirrorError);
    await expect(from.delete()).rejects.toThrow(/is read-only/);
  });
});
