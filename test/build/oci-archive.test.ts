import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { OciArchiveError, readOciArchive, readOciArchiveStream, type OciArchiveErrorKind } from '../../src/build/oci-archive.js';
import {
  buildOciArchive,
  MEDIA_TYPES,
  ociArchiveLayout,
  sha256Digest,
  tar,
  tarHeader,
  writeOciArchive,
  type OciImageSpec,
  type TarEntry,
} from '../fixtures/oci/write-oci-archive.js';

const hasSkopeo = (() => {
  try {
    execFileSync('sh', ['-c', 'command -v skopeo'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const spec: OciImageSpec = {
  refName: '2026.1',
  architecture: 'amd64',
  labels: { 'org.opencontainers.image.title': 'keystone' },
  files: [
    { path: '/etc/keystone/keystone.conf', content: '[DEFAULT]\n' },
    { path: 'usr/bin/keystone-manage', content: '#!/bin/sh\n', mode: 0o755 },
  ],
};

const tmp = mkdtempSync(join(tmpdir(), 'oci-archive-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function chunks(data: Buffer, size: number): Readable {
  function* pieces(): Generator<Buffer> {
    for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
  }
  return Readable.from(pieces());
}

const read = (data: Buffer, refName?: string) => readOciArchiveStream(chunks(data, 4096), 'test.rock', refName === undefined ? {} : { refName });

async function expectError(data: Buffer, kind: OciArchiveErrorKind, message: RegExp, refName?: string): Promise<void> {
  const err: unknown = await read(data, refName).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OciArchiveError);
  expect((err as OciArchiveError).kind).toBe(kind);
  expect((err as OciArchiveError).message).toMatch(message);
}

/** Rewrites an archive's entries, e.g. to drop or alter one. */
function rewrite(edit: (entries: TarEntry[]) => TarEntry[]): Buffer {
  return tar(edit(ociArchiveLayout(spec).entries));
}

function blob(json: unknown): TarEntry {
  const data = Buffer.from(JSON.stringify(json));
  return { name: `blobs/sha256/${sha256Digest(data).slice(7)}`, data };
}

/** A header with another typeflag (pax 'x', GNU 'L'), checksum recomputed. */
function rawEntry(type: string, name: string, data: Buffer): Buffer {
  const header = tarHeader({ name, data });
  header.write(type, 156, 1, 'ascii');
  header.fill(0x20, 148, 156);
  const sum = header.reduce((a, b) => a + b, 0);
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  const pad = Buffer.alloc((512 - (data.length % 512)) % 512);
  return Buffer.concat([header, data, pad]);
}

describe('readOciArchive', () => {
  it('returns the manifest digest, manifest, config, ref name and size', async () => {
    const built = buildOciArchive(spec);
    const info = await read(built.archive);
    expect(info.manifestDigest).toBe(built.manifestDigest);
    expect(info.manifest.layers).toEqual([expect.objectContaining({ digest: built.layerDigest, mediaType: MEDIA_TYPES.layerGzip })]);
    expect(info.config.rootfs.diff_ids).toEqual([built.diffId]);
    expect(info.config.config?.Labels).toEqual({ 'org.opencontainers.image.title': 'keystone' });
    expect(info.config.architecture).toBe('amd64');
    expect(info.refName).toBe('2026.1');
    expect(info.size).toBe(built.archive.length);
    expect(info.archiveDigest).toBe(sha256Digest(built.archive));
    // The manifest digest is the hash of the manifest blob as stored.
    const manifestBytes = Buffer.from(JSON.stringify(built.manifest));
    expect(createHash('sha256').update(manifestBytes).digest('hex')).toBe(info.manifestDigest.slice(7));
  });

  it('reads a file written by the fixture writer', async () => {
    const file = join(tmp, 'keystone_2026.1_amd64.rock');
    const written = writeOciArchive(file, spec);
    const info = await readOciArchive(file);
    expect(info.manifestDigest).toBe(written.manifestDigest);
    expect(info.size).toBe(statSync(file).size);
    expect(info.archiveDigest).toBe(sha256Digest(readFileSync(file)));
  });

  it('does not depend on how the stream is chunked', async () => {
    const { archive, manifestDigest } = buildOciArchive(spec);
    for (const size of [1, 7, 511, 513, 1 << 16]) {
      const info = await readOciArchiveStream(chunks(archive, size), 'x');
      expect(info.manifestDigest).toBe(manifestDigest);
    }
  });

  it('gives stable digests: same content same bytes, any change a new digest', () => {
    const a = buildOciArchive(spec);
    const b = buildOciArchive({ ...spec, files: [...spec.files].reverse(), labels: { ...spec.labels } });
    expect(b.archive.equals(a.archive)).toBe(true);
    const changedFile = buildOciArchive({ ...spec, files: [...spec.files, { path: 'etc/x', content: 'y' }] });
    const changedLabel = buildOciArchive({ ...spec, labels: { 'org.opencontainers.image.title': 'glance' } });
    const changedArch = buildOciArchive({ ...spec, architecture: 'arm64' });
    const digests = new Set([a, changedFile, changedLabel, changedArch].map((x) => x.manifestDigest));
    expect(digests.size).toBe(4);
  });

  it('accepts index.json after the blobs, ./-prefixed names and pax path headers', async () => {
    const { entries, manifestDigest } = ociArchiveLayout(spec);
    const reordered = tar([...entries.slice(2).map((e) => ({ ...e, name: `./${e.name}` })), ...entries.slice(0, 2)]);
    expect((await read(reordered)).manifestDigest).toBe(manifestDigest);

    const [layout, index, ...rest] = entries;
    if (!layout || !index) throw new Error('unexpected layout');
    const record = (text: string): string => {
      let len = text.length + 3;
      if (String(len).length + text.length + 2 !== len) len += 1;
      return `${len} ${text}\n`;
    };
    const paxData = Buffer.from(record('path=index.json'));
    const withPax = Buffer.concat([
      rawEntry('x', 'PaxHeaders/idx', paxData),
      tar([{ ...index, name: 'placeholder-name' }, layout, ...rest]),
    ]);
    expect((await read(withPax)).manifestDigest).toBe(manifestDigest);
    const withLongName = Buffer.concat([rawEntry('L', '././@LongLink', Buffer.from('index.json\0')), tar([{ ...index, name: 'short' }, layout, ...rest])]);
    expect((await read(withLongName)).manifestDigest).toBe(manifestDigest);
  });

  it('reads base-256 size fields', async () => {
    const { entries, manifestDigest } = ociArchiveLayout(spec);
    const [layout, ...rest] = entries;
    if (!layout?.data) throw new Error('unexpected layout');
    const header = tarHeader(layout);
    header.fill(0, 124, 136);
    header[124] = 0x80;
    header.writeUInt32BE(layout.data.length, 132);
    header.fill(0x20, 148, 156);
    const sum = header.reduce((a, b) => a + b, 0);
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
    const archive = Buffer.concat([header, layout.data, Buffer.alloc(512 - layout.data.length), tar(rest)]);
    expect((await read(archive)).manifestDigest).toBe(manifestDigest);
  });

  it('rejects truncated archives wherever they are cut', async () => {
    const { archive } = buildOciArchive(spec);
    const end = archive.length - 1024;
    for (const cut of [0, 100, 512, 700, 1536, Math.floor(end / 2), end - 1, end]) {
      await expectError(archive.subarray(0, cut), 'truncated', /truncated archive/);
    }
    // One zero block is a valid end marker; many tar readers stop there too.
    expect((await read(archive.subarray(0, end + 512))).size).toBe(end + 512);
  });

  it('rejects a corrupt header', async () => {
    const archive = Buffer.from(buildOciArchive(spec).archive);
    // The second header (index.json) follows oci-layout's header and its one data block.
    archive[1024 + 3] = (archive[1024 + 3] ?? 0) ^ 0x01;
    await expectError(archive, 'corrupt', /header at offset 1024 .*checksum mismatch/);
    archive[3] = (archive[3] ?? 0) ^ 0x01;
    await expectError(archive, 'corrupt', /not a tar archive/);
    await expectError(Buffer.from('root:x:0:0:root:/root:/bin/bash\n'.repeat(40)), 'corrupt', /not a tar archive/);
  });

  it('rejects a blob whose content does not match its digest', async () => {
    const built = buildOciArchive(spec);
    const archive = Buffer.from(built.archive);
    const at = archive.lastIndexOf(Buffer.from('"architecture"'));
    expect(at).toBeGreaterThan(0);
    archive[at + 1] = 'A'.charCodeAt(0);
    await expectError(archive, 'digest-mismatch', /does not match its content/);
  });

  it('reports missing blobs and descriptor size mismatches', async () => {
    const { configDigest, layerDigest, manifestDigest } = ociArchiveLayout(spec);
    for (const digest of [manifestDigest, configDigest, layerDigest]) {
      const archive = rewrite((entries) => entries.filter((e) => e.name !== `blobs/sha256/${digest.slice(7)}`));
      await expectError(archive, 'missing-blob', new RegExp(`${digest} is missing`));
    }
    const wrongSize = rewrite((entries) =>
      entries.map((e) => (e.name === 'index.json' ? { ...e, data: Buffer.from(String(e.data?.toString()).replace(/"size":\d+/, '"size":1')) } : e)),
    );
    await expectError(wrongSize, 'digest-mismatch', /descriptor says 1/);
  });

  it('rejects archives that are not OCI image layouts', async () => {
    await expectError(rewrite((e) => e.filter((x) => x.name !== 'oci-layout')), 'invalid', /no oci-layout/);
    await expectError(rewrite((e) => e.filter((x) => x.name !== 'index.json')), 'invalid', /no index.json/);
    await expectError(tar([{ name: 'hello.txt', data: Buffer.from('hi') }]), 'invalid', /no oci-layout/);
    const badIndex = rewrite((e) => e.map((x) => (x.name === 'index.json' ? { ...x, data: Buffer.from('{"schemaVersion":2,') } : x)));
    await expectError(badIndex, 'invalid', /index.json is not valid JSON/);
  });

  it('validates the manifest and config it finds', async () => {
    const { entries } = ociArchiveLayout(spec);
    const config = blob({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } });
    const configData = config.data ?? Buffer.alloc(0);
    const manifest = blob({
      schemaVersion: 2,
      config: { mediaType: MEDIA_TYPES.config, digest: sha256Digest(configData), size: configData.length },
      layers: [ociArchiveLayout(spec).manifest.layers[0]],
    });
    const manifestData = manifest.data ?? Buffer.alloc(0);
    const index = { schemaVersion: 2, manifests: [{ mediaType: MEDIA_TYPES.manifest, digest: sha256Digest(manifestData), size: manifestData.length }] };
    const archive = tar([...entries.filter((e) => e.name !== 'index.json'), config, manifest, { name: 'index.json', data: Buffer.from(JSON.stringify(index)) }]);
    await expectError(archive, 'invalid', /0 diff_ids for 1 layers/);

    const notManifest = blob({ hello: 'world' });
    const d = notManifest.data ?? Buffer.alloc(0);
    const index2 = { schemaVersion: 2, manifests: [{ mediaType: MEDIA_TYPES.manifest, digest: sha256Digest(d), size: d.length }] };
    const archive2 = tar([...entries.filter((e) => e.name !== 'index.json'), notManifest, { name: 'index.json', data: Buffer.from(JSON.stringify(index2)) }]);
    await expectError(archive2, 'invalid', /invalid manifest .*schemaVersion/);
  });

  it('chooses among several images by ref name', async () => {
    const a = ociArchiveLayout(spec);
    const b = ociArchiveLayout({ ...spec, refName: 'other', architecture: 'arm64' });
    const indexOf = (l: typeof a) => JSON.parse(String(l.entries.find((e) => e.name === 'index.json')?.data)) as { manifests: unknown[] };
    const index = { schemaVersion: 2, manifests: [...indexOf(a).manifests, ...indexOf(b).manifests] };
    const blobs = [...a.entries, ...b.entries].filter((e) => e.name.startsWith('blobs/sha256/'));
    const archive = tar([a.entries[0] as TarEntry, { name: 'index.json', data: Buffer.from(JSON.stringify(index)) }, ...blobs]);
    await expectError(archive, 'ambiguous', /holds 2 images \(2026.1, other\)/);
    expect((await read(archive, 'other')).manifestDigest).toBe(b.manifestDigest);
    expect((await read(archive, '2026.1')).config.architecture).toBe('amd64');
    await expectError(archive, 'invalid', /no image named 'missing'/, 'missing');
  });
});

describe.skipIf(!hasSkopeo)('skopeo interoperability', () => {
  it('accepts the archive and keeps its manifest digest when copying', async () => {
    const file = join(tmp, 'skopeo.rock');
    writeOciArchive(file, spec);
    const info = await readOciArchive(file);
    const raw = execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${file}`]);
    expect(sha256Digest(raw)).toBe(info.manifestDigest);
    const inspected = JSON.parse(execFileSync('skopeo', ['inspect', `oci-archive:${file}`]).toString()) as { Digest: string; Architecture: string };
    expect(inspected.Digest).toBe(info.manifestDigest);
    const dir = join(tmp, 'copied');
    execFileSync('skopeo', ['--insecure-policy', 'copy', '--quiet', `oci-archive:${file}`, `dir:${dir}`]);
    expect(sha256Digest(readFileSync(join(dir, 'manifest.json')))).toBe(info.manifestDigest);
  });
});
