// A build of a fixture train published to a real S3 (Ceph RGW), checked from the outside with a
// plain S3 client: the mirror layout, every SHA256SUMS line matching its blob, latest_build, and a
// rebuild with nothing changed that uploads no rock bytes.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'minio';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { S3Store } from '../../mirror/stores/s3.js';
import { IndexFetcher } from '../../src/archive/fetch-index.js';
import { getRelease } from '../../src/catalog/releases.js';
import { runBuild, type BuildRequest } from '../../src/build/pipeline.js';
import { RockcraftBuilder } from '../../src/build/rockcraft-builder.js';
import { UpstreamRocksRepo } from '../../src/rocks/upstream.js';
import { startAptArchive, type AptArchiveFixture } from '../fixtures/apt-archive-server.js';
import { ROCKCRAFT_STANDIN, STANDIN_ENV, ensureRockcraftStandinBuilt } from '../fixtures/rockcraft/standin.js';
import { createRocksRepo } from '../fixtures/rocks-repo.js';
import { trainArchiveSpec, writeVersionsFile } from '../fixtures/train-archive.js';
import { RGW_SKIP_REASON } from '../setup/rgw.js';

const rgw = inject('rgw');
const bucket = `pipeline-${randomBytes(4).toString('hex')}`;
let root: string;
let apt: AptArchiveFixture;
let raw: Client;
let store: S3Store;
let clock = Date.parse('2026-11-02T08:00:00Z');

describe.skipIf(!rgw)(`a fixture train published to RGW${rgw ? '' : ` (${RGW_SKIP_REASON})`}`, () => {
  let services: () => Parameters<typeof runBuild>[1];
  const request: BuildRequest = {
    train: 'reference', release: getRelease('epoxy'), pocket: 'updates', ppas: [], packages: [],
    components: ['nova'], rocks: [], force: false, arch: 'amd64',
  };

  beforeAll(async () => {
    if (!rgw) return;
    ensureRockcraftStandinBuilt();
    root = await mkdtemp(join(tmpdir(), 'heliostat-pipeline-s3-'));
    const repo = await createRocksRepo(join(root, 'upstream'), { branches: ['stable/2025.1'] });
    const { spec, versions } = trainArchiveSpec({ branch: 'stable/2025.1', series: 'noble', clouds: [{ cloud: 'epoxy', pocket: 'updates' }] });
    apt = await startAptArchive(spec);
    const versionsFile = await writeVersionsFile(join(root, 'versions.json'), versions);
    const url = new URL(rgw.endpoint);
    raw = new Client({ endPoint: url.hostname, port: Number(url.port), useSSL: false, pathStyle: true, region: rgw.region, accessKey: rgw.accessKey, secretKey: rgw.secretKey });
    store = new S3Store({ endpoint: rgw.endpoint, region: rgw.region, bucket, prefix: 'mirror', accessKey: rgw.accessKey, secretKey: rgw.secretKey });
    await store.ensureBucket();
    const upstream = new UpstreamRocksRepo({ url: repo.url, cacheDir: join(root, 'cache') });
    services = () => ({
      upstream,
      fetcher: new IndexFetcher({ cacheDir: join(root, 'cache') }),
      archives: { ubuntu: apt.server.archiveUrl, cloud: apt.server.cloudUrl, ppa: apt.server.ppaUrl },
      builder: new RockcraftBuilder({ executable: ROCKCRAFT_STANDIN, workRoot: join(root, 'work'), env: { ...process.env, [STANDIN_ENV.aptVersions]: versionsFile } }),
      store,
      publish: true,
      workDir: join(root, `build-${clock}`),
      jobs: 2,
      timeoutMs: 30_000,
      now: () => new Date((clock += 1000)),
    });
  }, 60_000);

  afterAll(async () => {
    if (!rgw) return;
    await apt.server.close();
    store.close();
    await rm(root, { recursive: true, force: true });
  });

  async function get(key: string): Promise<Buffer> {
    const stream = await raw.getObject(bucket, key);
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it('lays the build out as the mirror protocol says, readable by any S3 client', async () => {
    const out = await runBuild(request, services());
    expect(out.result).toBe('success');
    expect(out.summary.built.sort()).toEqual(['nova-api', 'nova-conductor', 'nova-consolidated', 'nova-ironic', 'nova-scheduler', 'nova-spiceproxy']);
    const prefix = `mirror/reference/2025.1/noble`;
    expect((await get(`${prefix}/latest_build`)).toString('utf8').trim()).toBe(out.buildId);
    const record = JSON.parse((await get(`${prefix}/${out.buildId}/build.json`)).toString('utf8')) as { files: Record<string, { digest: string; size: number }> };
    const index = JSON.parse((await get(`${prefix}/index.json`)).toString('utf8')) as { builds: Array<{ buildId: string }> };
    expect(index.builds.map((b) => b.buildId)).toContain(out.buildId);
    const blobKey = (digest: string) => `mirror/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}`;
    const sums = (await get(blobKey(record.files['SHA256SUMS']?.digest ?? ''))).toString('utf8').trim().split('\n');
    expect(sums.length).toBe(Object.keys(record.files).length - 1);
    for (const line of sums) {
      const [hex, path] = line.split(/ [ *]/);
      const entry = record.files[path ?? ''];
      expect(entry?.digest, path).toBe(`sha256:${hex}`);
      const blob = await get(blobKey(entry?.digest ?? ''));
      expect(createHash('sha256').update(blob).digest('hex'), path).toBe(hex);
      expect(blob.length).toBe(entry?.size);
    }
  });

  it('reuses every rock on a rebuild with nothing changed and uploads no rock bytes', async () => {
    const out = await runBuild(request, services());
    expect(out.summary.reused).toHaveLength(6);
    expect(out.summary.built).toEqual([]);
    expect(out.published?.bytesUploaded).toBeLessThan(8192);
    expect(out.published?.latestMoved).toBe(true);
  });
});
