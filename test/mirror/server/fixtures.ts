// A small real mirror for the HTTP server tests, and the server on a real socket:
//   reference/2024.1/noble  B1 success (stable, pin:prod), B2 fail, B3 success (latest)
//                           rocks keystone and glance, each with resolved package versions that
//                           change from build to build (what the package diff shows)
//   fix-1234/caracal/jammy  one build
import { rm } from 'node:fs/promises';
import { request } from 'node:http';
import type { BuildMetadata, StagedBuild } from '../../../mirror/publish.js';
import { promote, setPin } from '../../../mirror/lifecycle.js';
import { publishBuild } from '../../../mirror/publish.js';
import { createMirrorApp, listenMirror, type MirrorRouterOptions, type RunningServer } from '../../../mirror/server/index.js';
import type { MirrorStore } from '../../../mirror/stores/store.js';
import { TS, metadata, rockFile, sha, tempStore, type TempStore } from '../helpers.js';

export const B1 = '20240501T120000Z';
export const B2 = '20240502T120000Z';
export const B3 = '20240503T120000Z';
export const SERIES = 'reference/2024.1/noble';
export const KEYSTONE_ROCK = 'rocks/keystone_2024.1_amd64.rock';
export const FIX = { train: 'fix-1234', release: 'caracal', series: 'jammy' };

/** Package versions of each rock in each build: B3 upgrades keystone, adds one package and drops another. */
const PACKAGES: Record<string, Record<string, Record<string, string>>> = {
  [B1]: {
    keystone: { keystone: '2:25.0.0-0ubuntu1', 'python3-keystone': '2:25.0.0-0ubuntu1', 'python3-ldap': '3.4.0-1' },
    glance: { glance: '2:28.0.0-0ubuntu1', 'python3-glance': '2:28.0.0-0ubuntu1' },
  },
  [B2]: {
    keystone: { keystone: '2:25.0.1-0ubuntu1', 'python3-keystone': '2:25.0.1-0ubuntu1', 'python3-ldap': '3.4.0-1' },
    glance: { glance: '2:28.0.0-0ubuntu1', 'python3-glance': '2:28.0.0-0ubuntu1' },
  },
  [B3]: {
    keystone: { keystone: '2:25.0.1-0ubuntu1', 'python3-keystone': '2:25.0.1-0ubuntu1', 'python3-oslo.cache': '3.7.0-0ubuntu1' },
    glance: { glance: '2:28.0.0-0ubuntu1', 'python3-glance': '2:28.0.0-0ubuntu1' },
  },
};

export function imageDigest(rock: string, buildId: string): string {
  return sha(`image-${rock}-${buildId}`);
}

function fixtureMetadata(buildId: string, overrides: Partial<BuildMetadata> = {}, failed = false): BuildMetadata {
  const base = metadata(buildId, overrides, [{ name: 'keystone' }, { name: 'glance', ...(failed ? { outcome: 'failed' as const } : {}) }]);
  const packages = PACKAGES[buildId] ?? PACKAGES[B1] ?? {};
  return {
    ...base,
    ...(failed ? { result: 'fail' as const } : {}),
    rocks: base.rocks.map((r) => ({
      ...r,
      packages: packages[r.name] ?? {},
      ...(r.image ? { image: { ref: `localhost:5000/${r.name}:2024.1-${base.train}-${buildId}`, digest: imageDigest(r.name, buildId) } } : {}),
    })),
  };
}

async function staged(dir: string, buildId: string, overrides: Partial<BuildMetadata> = {}, failed = false): Promise<StagedBuild> {
  const meta = fixtureMetadata(buildId, overrides, failed);
  return {
    metadata: meta,
    files: [
      { path: KEYSTONE_ROCK, source: await rockFile(dir, `keystone-${meta.train}-${buildId}`, 300_000) },
      ...(failed ? [] : [{ path: 'rocks/glance_2024.1_amd64.rock', source: await rockFile(dir, `glance-${meta.train}-${buildId}`, 120_000) }]),
      { path: 'logs/keystone.log', source: Buffer.from(`keystone build log of ${buildId}\n<script>alert(1)</script>\n`) },
      { path: 'logs/glance.log', source: Buffer.from(`glance build log of ${buildId}\n`) },
      { path: 'rockcraft/keystone/rockcraft.yaml', source: Buffer.from('name: keystone\nversion: "2024.1"\nbase: ubuntu@24.04\n') },
      { path: 'rockcraft/glance/rockcraft.yaml', source: Buffer.from('name: glance\nversion: "2024.1"\nbase: ubuntu@24.04\n') },
      { path: 'empty.txt', source: Buffer.alloc(0) },
    ],
  };
}

export async function fixtureMirror(): Promise<TempStore> {
  const t = await tempStore();
  await publishBuild(t.store, await staged(t.dir, B1));
  await publishBuild(t.store, await staged(t.dir, B2, {}, true));
  await publishBuild(t.store, await staged(t.dir, B3));
  await publishBuild(t.store, await staged(t.dir, B1, FIX));
  await promote(t.store, TS, B1);
  await setPin(t.store, TS, 'prod', B1, { note: 'what production runs' });
  return t;
}

export interface Served {
  url: string;
  running: RunningServer;
  close(): Promise<void>;
}

/** The standalone app on 127.0.0.1 and an ephemeral port. */
export async function serve(store: MirrorStore, options: MirrorRouterOptions = {}): Promise<Served> {
  const running = await listenMirror(createMirrorApp(store, options), '127.0.0.1', 0);
  return { url: running.url, running, close: () => running.close(100) };
}

export async function cleanup(t: TempStore | undefined, ...servers: (Served | undefined)[]): Promise<void> {
  for (const s of servers) await s?.close();
  if (t) await rm(t.dir, { recursive: true, force: true });
}

export { TS };

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  text: string;
}

/** A request with the path sent exactly as given (fetch would normalise `..` and re-encode). */
export function raw(base: string, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
