// Pulling builds out of a real filesystem mirror into a directory: selection, verification against
// SHA256SUMS and build.json, resume from a partial file, and refusal of anything that does not
// verify or would land outside the destination.
import { mkdir, readFile, readdir, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseBuildRecord, serialiseBuildRecord, type BuildRecord, type FileEntry } from '../../mirror/build-record.js';
import { parseSha256Sums, renderSha256Sums } from '../../mirror/generated.js';
import { blobKey, buildRecordKey } from '../../mirror/layout.js';
import { promote, setPin } from '../../mirror/lifecycle.js';
import { publishBuild } from '../../mirror/publish.js';
import { PullFailedError, PullSourceError, UnknownRockError, pullBuild, storeReader, type MirrorReader } from '../../mirror/pull.js';
import { NotFoundInMirrorError } from '../../mirror/query.js';
import { TS, metadata, recordingReader, rockFile, sha, stagedBuild, tempStore, type TempStore } from './helpers.js';

let t: TempStore;
beforeEach(async () => {
  t = await tempStore();
});
afterEach(() => t.cleanup());

const B1 = '20240501T120000Z';
const B2 = '20240502T120000Z';
const ROCK = 'rocks/keystone_2024.1_amd64.rock';

async function recordOf(buildId: string): Promise<BuildRecord> {
  return parseBuildRecord((await t.store.get(buildRecordKey(TS, buildId)))!, buildId);
}

/** Every regular file under dir, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

/** Checks every pulled file against the SHA256SUMS it came with, as `sha256sum -c` would. */
async function checkSums(dir: string): Promise<void> {
  const sums = parseSha256Sums(await readFile(join(dir, 'SHA256SUMS'), 'utf8'));
  for (const [path, digest] of sums) {
    const bytes = await readFile(join(dir, path)).catch(() => undefined);
    if (bytes) expect(sha(bytes), path).toBe(digest);
  }
}

describe('pullBuild', () => {
  beforeEach(async () => {
    await publishBuild(t.store, await stagedBuild(t.dir, B1, { rockSeed: 'one' }));
    await publishBuild(t.store, await stagedBuild(t.dir, B2, { rockSeed: 'two' }));
  });

  it('pulls every output of the build a ref names, verified, and skips them the second time', async () => {
    const dir = join(t.dir, 'out');
    const first = await pullBuild(storeReader(t.store), 'reference/2024.1/noble/latest', dir);
    const record = await recordOf(B2);
    expect(first).toMatchObject({ ...TS, buildId: B2, ref: 'reference/2024.1/noble/latest', files: 6, downloaded: 6, skipped: 0, resumed: 0, failed: 0 });
    expect(first.bytes).toBe(first.totalBytes);
    expect(await tree(dir)).toEqual(Object.keys(record.files).sort());
    for (const [path, file] of Object.entries(record.files)) expect(sha(await readFile(join(dir, path))), path).toBe(file.digest);
    await checkSums(dir);

    const second = await pullBuild(storeReader(t.store), `reference/2024.1/noble/${B2}`, dir);
    expect(second).toMatchObject({ downloaded: 0, skipped: 6, bytes: 0 });
    expect(await tree(dir)).toEqual(Object.keys(record.files).sort());
  });

  it('resolves stable, pins and as-of like any consumer ref', async () => {
    await promote(t.store, TS, B1);
    await setPin(t.store, TS, 'prod', B1);
    for (const ref of ['reference/2024.1/noble/stable', 'reference/2024.1/noble/stable_build', 'reference/2024.1/noble/pin:prod', 'reference/2024.1/noble/as-of:2024-05-01T13:00:00Z']) {
      const summary = await pullBuild(storeReader(t.store), ref, join(t.dir, ref.replace(/[^a-z0-9]/g, '_')));
      expect(summary.buildId, ref).toBe(B1);
    }
    await expect(pullBuild(storeReader(t.store), 'reference/2024.1/noble/pin:nope', join(t.dir, 'x'))).rejects.toThrow(NotFoundInMirrorError);
    await expect(pullBuild(storeReader(t.store), 'reference/2024.1/noble/20240101T000000Z', join(t.dir, 'x'))).rejects.toThrow(/no such build/);
    expect(await tree(join(t.dir, 'x'))).toEqual([]);
  });

  it('resumes a partial file with a byte range and still verifies the whole file', async () => {
    const dir = join(t.dir, 'out');
    await pullBuild(storeReader(t.store), 'reference/2024.1/noble/latest', dir);
    const full = await readFile(join(dir, ROCK));
    // What an interrupted pull leaves: a prefix under .part and no final file.
    await writeFile(join(dir, `${ROCK}.part`), full.subarray(0, 70_001));
    await unlink(join(dir, ROCK));

    const { reader, ranges } = recordingReader(storeReader(t.store));
    const summary = await pullBuild(reader, 'reference/2024.1/noble/latest', dir);
    expect(summary).toMatchObject({ resumed: 1, skipped: 5, downloaded: 0, bytes: full.length - 70_001 });
    expect(summary.results.find((r) => r.path === ROCK)).toMatchObject({ status: 'resumed', resumedFrom: 70_001 });
    expect(ranges.filter((r) => r.path === ROCK)).toEqual([{ path: ROCK, range: { start: 70_001 } }]);
    expect((await readFile(join(dir, ROCK))).equals(full)).toBe(true);
    expect(await tree(dir)).not.toContain(`${ROCK}.part`);
  });

  it('detects a corrupt partial file: deletes it, names the file, leaves nothing under the final name, pulls the rest', async () => {
    const dir = join(t.dir, 'out');
    await mkdir(join(dir, 'rocks'), { recursive: true });
    const record = await recordOf(B2);
    const good = (await t.store.get(blobKey(record.files[ROCK]!.digest)))!;
    const bad = Buffer.from(good.subarray(0, 50_000));
    bad[1234] = (bad[1234] ?? 0) ^ 0xff;
    await writeFile(join(dir, `${ROCK}.part`), bad);

    const err = await pullBuild(storeReader(t.store), 'reference/2024.1/noble/latest', dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PullFailedError);
    const summary = (err as PullFailedError).summary;
    expect((err as Error).message).toMatch(/1 of 6 files .* failed, first rocks\/keystone_2024\.1_amd64\.rock: .*content is sha256:.*resumed from a partial file of 50000 bytes/);
    expect(summary).toMatchObject({ failed: 1, downloaded: 5 });
    expect(await tree(dir)).toEqual(Object.keys(record.files).filter((p) => p !== ROCK).sort());

    // The part is gone, so the next run starts the file afresh and succeeds.
    const again = await pullBuild(storeReader(t.store), 'reference/2024.1/noble/latest', dir);
    expect(again).toMatchObject({ downloaded: 1, skipped: 5, failed: 0 });
    expect((await readFile(join(dir, ROCK))).equals(good)).toBe(true);
  });

  it('replaces a changed file, and discards a part longer than the file', async () => {
    const dir = join(t.dir, 'out');
    await pullBuild(storeReader(t.store), 'reference/2024.1/noble/latest', dir);
    await writeFile(join(dir, 'logs/keystone.log'), 'edited\n');
    await writeFile(join(dir, 'CONTEXT.part'), Buffer.alloc(100_000, 1));
    await unlink(join(dir, 'CONTEXT'));
    const summary = await pullBuild(storeReader(t.store), 'reference/2024.1/noble/latest', dir);
    expect(summary).toMatchObject({ downloaded: 2, skipped: 4, failed: 0 });
    expect(summary.results.find((r) => r.path === 'logs/keystone.log')).toMatchObject({ status: 'downloaded', replaced: true });
    await checkSums(dir);
    expect(await tree(dir)).toEqual(Object.keys((await recordOf(B2)).files).sort());
  });

  it('refuses a blob whose bytes are not what build.json says, leaving no file behind', async () => {
    const record = await recordOf(B2);
    await writeFile(t.store.pathOf(blobKey(record.files['logs/keystone.log']!.digest)), 'tampered\n');
    const dir = join(t.dir, 'out');
    const err = await pullBuild(storeReader(t.store), 'reference/2024.1/noble/latest', dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PullFailedError);
    expect((err as Error).message).toMatch(/logs\/keystone\.log: received 9 bytes, expected \d+; the partial file was deleted/);
    const files = await tree(dir);
    expect(files).not.toContain('logs/keystone.log');
    expect(files.filter((f) => f.endsWith('.part'))).toEqual([]);
  });

  it('downloads nothing when SHA256SUMS and build.json disagree', async () => {
    const record = await recordOf(B2);
    const other = record.files['CONTEXT']!;
    const tampered = { ...record, files: { ...record.files, 'logs/keystone.log': other } };
    await writeFile(t.store.pathOf(buildRecordKey(TS, B2)), serialiseBuildRecord(tampered));
    const dir = join(t.dir, 'out');
    await expect(pullBuild(storeReader(t.store), 'reference/2024.1/noble/latest', dir)).rejects.toThrow(PullSourceError);
    await expect(pullBuild(storeReader(t.store), 'reference/2024.1/noble/latest', dir)).rejects.toThrow(/SHA256SUMS of reference\/2024\.1\/noble\/20240502T120000Z gives sha256:[0-9a-f]+ logs\/keystone\.log; build\.json says/);
    expect(await tree(dir)).toEqual([]);
  });

  it('never writes outside the destination, even through a planted symlink or a crafted record', async () => {
    const dir = join(t.dir, 'out');
    const outside = join(t.dir, 'outside');
    await mkdir(dir, { recursive: true });
    await mkdir(outside, { recursive: true });
    await symlink(outside, join(dir, 'rocks'));
    const err = await pullBuild(storeReader(t.store), 'reference/2024.1/noble/latest', dir).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/rocks\/keystone_2024\.1_amd64\.rock.*outside the destination directory through a symbolic link/);
    expect(await readdir(outside)).toEqual([]);

    // A reader that is not a store (a future HTTP mirror) could hand over anything, consistently
    // signed: paths are validated again before anything is written.
    const inner = storeReader(t.store);
    const record = await recordOf(B1);
    const context = (await t.store.get(blobKey(record.files['CONTEXT']!.digest)))!;
    const files: Record<string, FileEntry> = { ...record.files, '../escape': record.files['CONTEXT']! };
    const sums = Buffer.from(renderSha256Sums(Object.entries(files).filter(([p]) => p !== 'SHA256SUMS').map(([path, f]) => ({ path, digest: f.digest }))));
    files['SHA256SUMS'] = { digest: sha(sums), size: sums.length };
    const evil: MirrorReader = {
      ...inner,
      readRecord: () => Promise.resolve({ ...record, files }),
      openOutput: (build, path, range) =>
        path === 'SHA256SUMS' ? Promise.resolve(Readable.from([sums])) : path === '../escape' ? Promise.resolve(Readable.from([context])) : inner.openOutput(build, path, range),
    };
    const dir2 = join(t.dir, 'out2');
    const failed = await pullBuild(evil, `reference/2024.1/noble/${B1}`, dir2).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(PullFailedError);
    expect((failed as PullFailedError).summary.results.find((r) => r.status === 'failed')).toMatchObject({ path: '../escape', error: 'invalid output path "../escape": ".." segment' });
    expect(await tree(t.dir)).not.toContain('escape');
    expect(await tree(dir2)).toEqual(Object.keys(record.files).sort());
  });
});

describe('pullBuild --rock', () => {
  it("fetches only the chosen rocks' files plus the build-wide ones", async () => {
    const rocks = ['nova', 'nova-api', 'keystone'];
    const files = await Promise.all(
      rocks.map(async (name) => [
        { path: `rocks/${name}_2024.1_amd64.rock`, source: await rockFile(t.dir, `rock-${name}`, 30_000) },
        { path: `logs/${name}.log`, source: Buffer.from(`log of ${name}\n`) },
        { path: `rockcraft/${name}/rockcraft.yaml`, source: Buffer.from(`name: ${name}\n`) },
        { path: `rockcraft/${name}/patches/fix.patch`, source: Buffer.from(`patch for ${name}\n`) },
      ]),
    );
    const meta = metadata(B1, {}, rocks.map((name) => ({ name })));
    await publishBuild(t.store, { metadata: meta, files: [...files.flat(), { path: 'manifest.yaml', source: Buffer.from('software: {}\n') }] });

    const dir = join(t.dir, 'out');
    const summary = await pullBuild(storeReader(t.store), 'reference/2024.1/noble/latest', dir, { rocks: ['nova'] });
    const expected = ['BUILD_RESULT', 'CONTEXT', 'SHA256SUMS', 'logs/nova.log', 'manifest.yaml', 'rockcraft/nova/patches/fix.patch', 'rockcraft/nova/rockcraft.yaml', 'rocks/nova_2024.1_amd64.rock'];
    expect(await tree(dir)).toEqual(expected);
    expect(summary.files).toBe(expected.length);
    await checkSums(dir);

    const two = await pullBuild(storeReader(t.store), 'reference/2024.1/noble/latest', join(t.dir, 'two'), { rocks: ['nova-api', 'keystone'] });
    expect(two.results.map((r) => r.path).filter((p) => p.startsWith('rocks/'))).toEqual(['rocks/keystone_2024.1_amd64.rock', 'rocks/nova-api_2024.1_amd64.rock']);

    const err = await pullBuild(storeReader(t.store), 'reference/2024.1/noble/latest', join(t.dir, 'bad'), { rocks: ['cinder'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnknownRockError);
    expect((err as UnknownRockError).usage).toBe(true);
    expect((err as Error).message).toBe('build reference/2024.1/noble/20240501T120000Z has no rock cinder; its rocks: keystone, nova, nova-api');
    await expect(stat(join(t.dir, 'bad'))).rejects.toThrow(/ENOENT/);
  });
});
