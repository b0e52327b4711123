// A private Ceph RGW for one benchmark, started with the test fixture's scripts, and the few S3
// chores the benchmarks need around it: emptying a bucket, forcing RGW's garbage collection (so
// deleted bytes leave the memstore at once), and summing what a bucket stores.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from 'minio';
// The setup module augments vitest's types; this brings them into the build, which has no tests.
import type {} from 'vitest';
import { missingRgwPrograms, startRgw, type RgwInstance } from '../setup/rgw.js';
import { REPO_ROOT, type BenchContext } from './common.js';

const run = promisify(execFile);
export { missingRgwPrograms };

export const RGW_MISSING_NOTE = 'Ceph RGW is not installed; run `bash .ci/install-test-deps` first';

/**
 * The setup module finds its shell scripts next to itself. Compiled into dist/ it sits apart from
 * them (tsc copies no .sh files), so the scripts are copied to where it looks.
 */
async function ensureScripts(): Promise<void> {
  const source = join(REPO_ROOT, 'test/fixtures/rgw');
  const target = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/rgw');
  if (target === source) return;
  await mkdir(target, { recursive: true });
  for (const name of await readdir(source)) {
    if (!name.endsWith('.sh')) continue;
    const to = join(target, name);
    if (existsSync(to) && readFileSync(to).equals(readFileSync(join(source, name)))) continue;
    await copyFile(join(source, name), to);
    await chmod(to, 0o755);
  }
}

export interface BenchRgw extends RgwInstance {
  /** A plain minio client on the instance (path style, no TLS). */
  client(options?: { partSize?: number }): Client;
  /** Runs RGW's garbage collection now, so deleted objects free their memory at once. */
  collectGarbage(): Promise<void>;
  objectStore: 'memstore' | 'bluestore';
}

export interface BenchRgwOptions {
  memstoreBytes?: number;
  /** `memstore` (default, data in RAM) or `bluestore` (a sparse file on disk). */
  objectStore?: 'memstore' | 'bluestore';
}

/** Starts a private RGW that the context stops when the benchmark ends, whatever happens. */
export async function startBenchRgw(ctx: BenchContext, options: BenchRgwOptions = {}): Promise<BenchRgw> {
  const missing = missingRgwPrograms();
  if (missing.length > 0) throw new Error(`${RGW_MISSING_NOTE} (missing ${missing.join(', ')})`);
  await ensureScripts();
  const objectStore = options.objectStore ?? 'memstore';
  const saved = process.env.RGW_OBJECTSTORE;
  process.env.RGW_OBJECTSTORE = objectStore;
  let rgw: RgwInstance;
  const began = Date.now();
  try {
    rgw = await startRgw({ memstoreBytes: options.memstoreBytes, preferDefaultPorts: false });
  } finally {
    if (saved === undefined) delete process.env.RGW_OBJECTSTORE;
    else process.env.RGW_OBJECTSTORE = saved;
  }
  ctx.defer('stop RGW', () => rgw.stop());
  ctx.log(`RGW (${objectStore}) up on ${rgw.endpoint} in ${((Date.now() - began) / 1000).toFixed(1)} s`);
  const url = new URL(rgw.endpoint);
  const conf = join(rgw.base, 'cluster', 'ceph.conf');
  return Object.assign(rgw, {
    objectStore,
    client: (o: { partSize?: number } = {}) =>
      new Client({
        endPoint: url.hostname,
        port: Number(url.port),
        useSSL: false,
        pathStyle: true,
        region: rgw.region,
        accessKey: rgw.accessKey,
        secretKey: rgw.secretKey,
        ...(o.partSize ? { partSize: o.partSize } : {}),
      }),
    collectGarbage: async () => {
      await run('radosgw-admin', ['-c', conf, 'gc', 'process', '--include-all'], { env: { ...process.env, CEPH_CONF: conf }, timeout: 120_000 });
    },
  });
}

export interface BucketUsage {
  objects: number;
  bytes: number;
}

/** Objects and bytes under a prefix of a bucket, from a full listing. */
export async function bucketUsage(client: Client, bucket: string, prefix = ''): Promise<BucketUsage> {
  const usage: BucketUsage = { objects: 0, bytes: 0 };
  for await (const item of client.listObjects(bucket, prefix, true) as AsyncIterable<{ name?: string; size?: number }>) {
    if (item.name === undefined) continue;
    usage.objects += 1;
    usage.bytes += item.size ?? 0;
  }
  return usage;
}

/** Deletes every object of a bucket (the bucket stays). */
export async function emptyBucket(client: Client, bucket: string): Promise<number> {
  const names: string[] = [];
  for await (const item of client.listObjects(bucket, '', true) as AsyncIterable<{ name?: string }>) if (item.name !== undefined) names.push(item.name);
  for (let i = 0; i < names.length; i += 1000) await client.removeObjects(bucket, names.slice(i, i + 1000));
  return names.length;
}
