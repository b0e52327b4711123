// Shared fixtures for mirror tests: temp stores, build metadata and staged outputs.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIdToDate, type TrainSeries } from '../../mirror/layout.js';
import type { BuildMetadata, StagedBuild, StagedFile } from '../../mirror/publish.js';
import { FsStore } from '../../mirror/stores/fs.js';
import type { MirrorReader } from '../../mirror/pull.js';
import type { ByteRange, MirrorStore } from '../../mirror/stores/store.js';

export const TS: TrainSeries = { train: 'reference', release: '2024.1', series: 'noble' };

export interface TempStore {
  dir: string;
  store: FsStore;
  cleanup: () => Promise<void>;
}

export async function tempStore(): Promise<TempStore> {
  const dir = await mkdtemp(join(tmpdir(), 'heliostat-mirror-'));
  const store = new FsStore(join(dir, 'mirror'));
  return { dir, store, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function sha(text: string | Buffer): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

export interface RockSpec {
  name: string;
  outcome?: 'built' | 'reused' | 'failed' | 'skipped';
  reusedFrom?: string;
}

export function metadata(buildId: string, overrides: Partial<BuildMetadata> = {}, rocks: RockSpec[] = [{ name: 'keystone' }]): BuildMetadata {
  const started = buildIdToDate(buildId);
  const ts = { ...TS, ...overrides };
  return {
    train: ts.train,
    release: ts.release,
    series: ts.series,
    buildId,
    result: 'success',
    startedAt: started.toISOString(),
    finishedAt: new Date(started.getTime() + 30 * 60_000).toISOString(),
    context: {
      upstream: { repo: 'https://github.com/canonical/ubuntu-openstack-rocks', commit: 'a'.repeat(40) },
      branch: 'stable/2024.1',
      patches: [],
      ppas: [],
      pocket: 'updates',
      packages: { keystone: '2:25.0.0-0ubuntu1', 'python3-keystone': '2:25.0.0-0ubuntu1' },
      builderVersion: 'rockcraft 1.5.3',
      arch: 'amd64',
    },
    rocks: rocks.map((r) => ({
      name: r.name,
      imageName: r.name,
      version: '2024.1',
      arch: 'amd64',
      outcome: r.outcome ?? 'built',
      buildKey: sha(`key-${r.name}`),
      ...(r.reusedFrom ? { reusedFrom: r.reusedFrom } : {}),
      ...(r.outcome === 'failed' || r.outcome === 'skipped' ? {} : { image: { ref: `localhost:5000/${r.name}:2024.1-reference-${buildId}`, digest: sha(`image-${r.name}`) } }),
    })),
    ...overrides,
  };
}

/** Writes a rock file of `size` pseudo-random bytes derived from `seed` and returns its path. */
export async function rockFile(dir: string, seed: string, size = 200_000): Promise<string> {
  const chunks: Buffer[] = [];
  let block = createHash('sha256').update(seed).digest();
  let total = 0;
  while (total < size) {
    chunks.push(block);
    total += block.length;
    block = createHash('sha256').update(block).digest();
  }
  const path = join(dir, `${seed.replace(/[^a-z0-9]/gi, '_')}.rock`);
  await writeFile(path, Buffer.concat(chunks).subarray(0, size));
  return path;
}

/** A staged build with one rock (from a file), its log and rockcraft.yaml (from memory). */
export async function stagedBuild(dir: string, buildId: string, options: { rockSeed?: string; overrides?: Partial<BuildMetadata>; log?: string } = {}): Promise<StagedBuild> {
  const rock = await rockFile(dir, options.rockSeed ?? 'keystone-v1');
  const files: StagedFile[] = [
    { path: 'rocks/keystone_2024.1_amd64.rock', source: rock },
    { path: 'logs/keystone.log', source: Buffer.from(options.log ?? `build log of ${buildId}\n`) },
    { path: 'rockcraft/keystone/rockcraft.yaml', source: Buffer.from('name: keystone\nversion: "2024.1"\nbase: ubuntu@24.04\n') },
  ];
  return { metadata: metadata(buildId, options.overrides), files };
}

/** Every key in the store with a digest of its bytes: a snapshot to compare before/after. */
export async function snapshot(store: MirrorStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const info of store.list('')) {
    const bytes = await store.get(info.key);
    out.set(info.key, bytes ? sha(bytes) : 'missing');
  }
  return out;
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/**
 * A staged build written out as a JSON spec for the publisher process of the crash tests (JSON
 * carries only file sources, so in-memory sources are written to files first).
 */
export async function stagedBuildSpec(dir: string, buildId: string, seed: string): Promise<string> {
  const staged = await stagedBuild(dir, buildId, { rockSeed: seed });
  const files = await Promise.all(
    staged.files.map(async (f, i) => {
      if (typeof f.source === 'string') return f;
      const path = join(dir, `${buildId}-${i}`);
      await writeFile(path, f.source);
      return { ...f, source: path };
    }),
  );
  const spec = join(dir, `${buildId}.json`);
  await writeFile(spec, JSON.stringify({ ...staged, files }));
  return spec;
}

/** A reader that records the byte ranges it is asked for. */
export function recordingReader(inner: MirrorReader): { reader: MirrorReader; ranges: { path: string; range?: ByteRange }[] } {
  const ranges: { path: string; range?: ByteRange }[] = [];
  return {
    ranges,
    reader: {
      ...inner,
      openOutput: (build, path, range) => {
        ranges.push({ path, ...(range ? { range } : {}) });
        return inner.openOutput(build, path, range);
      },
    },
  };
}
