// The fault table: `heliostat serve` as a real process building a train with attach on, its S3
// mirror (Ceph RGW), registry (docker-registry) and Kubernetes API stand-in each behind a fault
// proxy, and the juju stand-in with its failure knobs. Each case kills the controller at one
// phase of a build → push → publish → attach → verify run, or makes one dependency fail or hang,
// then lets it recover and checks what users see: the mirror holds the previous state or complete
// builds (every object build.json lists, with its digest; aliases only on complete builds; no
// stray keys), registry tags name only complete pushes, the model runs the originals or a
// committed build's digests, the interrupted or failed job says so, and a new run completes.
//
// Synchronisation is on events, never on sleeps: the controller's JSON log, the stand-ins' logs,
// and the proxies reporting the request a step makes (e.g. the PUT of build.json).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import type { BuildRecord } from '../../mirror/build-record.js';
import { aliasKey, blobKey, seriesLockKey, seriesPrefix, type TrainSeries } from '../../mirror/layout.js';
import { listBuilds, listReleases, listSeries } from '../../mirror/query.js';
import { listBuildIds, readAlias, readBuildRecord } from '../../mirror/series.js';
import { S3Store } from '../../mirror/stores/s3.js';
import type { ControllerConfigInput } from '../../src/controller/config-schema.js';
import type { AuditEntry, Job } from '../../src/controller/types.js';
import { pinnedDigest, runningDigests, toPodInfo } from '../../src/deploy/kube-pods.js';
import type { V1Pod } from '@kubernetes/client-node';
import { configDoc, startFixtures, TOKEN, waitFor, type Fixtures } from '../controller/harness.js';
import { ensureServeEntryBuilt, ServeProcess } from '../controller/serve-process.js';
import { FaultProxy, request, type RequestMatch } from '../fixtures/fault-proxy.js';
import { JUJU_ENV, JUJU_STANDIN, ensureJujuStandinBuilt, readJujuInvocations } from '../fixtures/juju/standin.js';
import { writeState } from '../fixtures/juju/state.js';
import { SUNBEAM_CONTROLLER, SUNBEAM_MODEL, sunbeamState } from '../fixtures/juju/sunbeam.js';
import { appState, kubeFixture, type KubeFixture } from '../fixtures/kube/harness.js';
import { writeKubeconfig } from '../fixtures/kube/kubeconfig.js';
import { manifestDigestOverHttp, registryAvailability, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { STANDIN_ENV } from '../fixtures/rockcraft/standin.js';
import { RGW_SKIP_REASON } from '../setup/rgw.js';

const rgw = inject('rgw');
const registryCheck = registryAvailability();
const skipReason = !rgw ? RGW_SKIP_REASON : registryCheck.reason;

const APP = 'cinder';
const RESOURCES = ['cinder-api-image', 'cinder-scheduler-image'];
const TRAIN = { name: 'fix', release: 'caracal', components: ['cinder'], ppas: ['ppa:team/fix'], suffix: 'fix1', attach: true };
const RUN = [{ release: 'caracal', train: 'fix', attach: true }];
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const bucket = `faults-${randomBytes(4).toString('hex')}`;

let f: Fixtures;
let registry: TestRegistry;
let kube: KubeFixture;
let s3Proxy: FaultProxy;
let registryProxy: FaultProxy;
let kubeProxy: FaultProxy;
let kubeconfig: string;
/** The model as deployed: image of each resource, and the digests its pods run. */
let originalImages: Record<string, string | undefined>;
let originalDigests: Set<string>;
const running: ServeProcess[] = [];
const stores: S3Store[] = [];

/** One case's world: its own data dir, mirror prefix and a freshly deployed model. */
interface World {
  name: string;
  config: string;
  env: NodeJS.ProcessEnv;
  /** The mirror read directly from RGW, past the proxy. */
  store: S3Store;
}

describe.skipIf(!rgw || !registryCheck.available)(`fault table${skipReason ? ` (${skipReason})` : ''}`, { timeout: 90_000 }, () => {
  beforeAll(async () => {
    if (!rgw) return;
    ensureJujuStandinBuilt();
    ensureServeEntryBuilt();
    f = await startFixtures({ archive: { ppas: [{ owner: 'team', name: 'fix', sources: { cinder: '2:24.0.1-0ubuntu1~fix1' } }] } });
    registry = await startRegistry();
    kube = await kubeFixture({ rolloutDelayMs: 200 });
    [s3Proxy, registryProxy, kubeProxy] = await Promise.all([FaultProxy.start(rgw.endpoint), FaultProxy.start(registry.url), FaultProxy.start(kube.server.url)]);
    kubeconfig = writeKubeconfig(join(f.root, 'kubeconfig'), { server: kubeProxy.url });
    const direct = directStore('');
    await direct.ensureBucket();
    originalImages = Object.fromEntries(RESOURCES.map((r) => [r, appState(kube.state, APP)?.resources[r]?.image]));
    originalDigests = new Set(podDigests());
  }, 120_000);

  afterEach(async () => {
    await stopAll();
    await Promise.all([s3Proxy.reset(), registryProxy.reset(), kubeProxy.reset()]);
  });

  afterAll(async () => {
    await stopAll();
    for (const s of stores) s.close();
    await Promise.all([s3Proxy?.close(), registryProxy?.close(), kubeProxy?.close()]);
    await kube?.close();
    await registry?.stop();
    await f?.close();
  });

  describe('SIGKILL of the controller, then a restart', () => {
    it('while building: the job is interrupted, nothing is published, a new run completes', async () => {
      const w = await world('kill-build', { [STANDIN_ENV.sleepMs]: '3000' });
      const c = await start(w);
      const id = await submit(c.base);
      await c.p.waitForLog((l) => l.msg === 'build started' && l['jobId'] === id);
      await waitFor('rockcraft pack to start', () => standinPacks(w) > 0);
      await kill(c.p);
      await expectInterruptedThenRecovered(w, id, { published: false });
    });

    it('while pushing to the registry: no tag names the half push, a new run completes', async () => {
      const w = await world('kill-push');
      // The orphaned skopeo sees its connection reset (on release) and exits.
      const id = await killAtRequest(w, registryProxy, request('*', /^\/v2\/.+\/(blobs|manifests)\//));
      await expectInterruptedThenRecovered(w, id, { published: false });
    });

    it('while publishing, before the commit: no half build, a new run completes', async () => {
      const w = await world('kill-precommit');
      const id = await killAtRequest(w, s3Proxy, request('PUT', /\/build\.json(\?|$)/));
      await expectInterruptedThenRecovered(w, id, { published: false });
    });

    it('while publishing, after the commit: the interrupted job names its complete build, latest is brought up to it, a new run completes', async () => {
      const w = await world('kill-postcommit');
      const id = await killAtRequest(w, s3Proxy, request('PUT', /\/latest_build(\?|$)/));
      await expectInterruptedThenRecovered(w, id, { published: true });
    });

    it('after attach-resource, before the rollout is verified: the model runs the new build once reconciled', async () => {
      const w = await world('kill-attach');
      const c = await start(w);
      const id = await submit(c.base);
      await c.p.waitForLog((l) => l.msg.startsWith(`attach ${APP} `));
      // The pod list that follows the attach log line is the first rollout poll: the attach is done.
      kubeProxy.addRule({ match: podList, action: 'hang' });
      await kubeProxy.nextRequest(podList);
      expect(readJujuInvocations(jujuLog(w)).filter((i) => i.command === 'attach-resource').length).toBeGreaterThan(0);
      await kill(c.p);
      kubeProxy.release();
      await expectAttachRecovered(w, id);
    });

    it('while verifying the rollout: the model runs the new build once reconciled', async () => {
      const w = await world('kill-verify');
      const c = await start(w);
      const id = await submit(c.base);
      await c.p.waitForLog((l) => l.msg.startsWith(`attach ${APP} `));
      await kubeProxy.nextRequest(podList);
      // The second poll: the first one answered and the rollout is being watched.
      kubeProxy.addRule({ match: podList, action: 'hang' });
      await kubeProxy.nextRequest(podList);
      await kill(c.p);
      kubeProxy.release();
      await expectAttachRecovered(w, id);
    });
  });

  describe('a dependency fails or hangs mid-run', () => {
    it('S3 answering 503 mid-publish: retried, the run completes', async () => {
      const w = await world('s3-503');
      s3Proxy.addRule({ match: blobPut, action: 'http503', times: 2 });
      const c = await start(w);
      const job = await runToEnd(c);
      expect(job.state, job.error).toBe('succeeded');
      expect(s3Proxy.requests.filter((r) => r.action === 'http503')).toHaveLength(2);
      await expectAttached(w, job);
    });

    it('S3 resetting every connection mid-publish: the job fails naming S3, nothing half-visible; after recovery a new run completes', async () => {
      const w = await world('s3-down');
      const c = await start(w);
      // Down from the first blob upload on, for every request.
      const down = s3Proxy.nextRequest(blobPut).then(() => s3Proxy.setMode('reset'));
      s3Proxy.addRule({ match: blobPut, action: 'reset' });
      const job = await runToEnd(c);
      await down;
      expect(job.state).toBe('failed');
      expect(job.error).toMatch(/S3 .* failed after \d+ attempts/);
      await s3Proxy.reset();
      const state = await checkInvariants(w);
      expect(state.committed).toEqual([]);
      await expectNewRunCompletes(w, c);
    });

    it('S3 hanging mid-publish: the request times out, is retried, and the run completes', async () => {
      const w = await world('s3-hang');
      s3Proxy.addRule({ match: blobPut, action: 'hang' });
      const hung = s3Proxy.nextRequest(blobPut);
      const c = await start(w);
      const id = await submit(c.base);
      await hung;
      expect((await job(c.base, id)).state).toBe('running');
      // The store's request timeout (3 s in this configuration) ends the wait; the retry passes.
      const done = await finished(c, id, 60_000);
      expect(done.state, done.error).toBe('succeeded');
      await expectAttached(w, done);
    }, 120_000);

    it('the registry answering 503 mid-push: retried, the run completes', async () => {
      const w = await world('registry-503');
      registryProxy.addRule({ match: request('*', /^\/v2\/.+\/blobs\//), action: 'http503', times: 1 });
      const c = await start(w);
      const job = await runToEnd(c);
      expect(job.state, job.error).toBe('succeeded');
      expect(registryProxy.requests.some((r) => r.action === 'http503')).toBe(true);
      await expectAttached(w, job);
    });

    it('the registry hanging mid-push: the push times out, the job fails naming the registry; after recovery a new run completes', async () => {
      const w = await world('registry-hang');
      const c = await start(w);
      const hang = registryProxy.nextRequest(request('*', /^\/v2\/.+\/blobs\//)).then(() => registryProxy.setMode('hang'));
      const job = await runToEnd(c);
      await hang;
      expect(job.state).toBe('failed');
      expect(job.error).toMatch(/registry|skopeo/i);
      expect(job.error).toMatch(/timed out/);
      await registryProxy.reset();
      const state = await checkInvariants(w);
      expect(state.committed.filter((r) => r.result === 'success')).toEqual([]);
      await expectNewRunCompletes(w, c);
    });

    it('juju failing transiently on attach-resource: retried, the model runs the new build', async () => {
      const w = await world('juju-transient', { [JUJU_ENV.fail]: 'attach-resource:1:transient' });
      const c = await start(w);
      const job = await runToEnd(c);
      expect(job.state, job.error).toBe('succeeded');
      await expectAttached(w, job);
      expect(readJujuInvocations(jujuLog(w)).filter((i) => i.command === 'attach-resource')).toHaveLength(RESOURCES.length + 1);
    });

    it('juju refusing attach-resource: rolled back with the cause recorded; after recovery the next reconcile attaches', async () => {
      const w = await world('juju-refuses', { [JUJU_ENV.fail]: 'attach-resource:1:permission' });
      const c = await start(w);
      const job = await runToEnd(c);
      expect(job.state, job.error).toBe('succeeded');
      const rollback = await waitFor('the rollback to be recorded', async () => (await history(c.base, 'rollback'))[0]);
      expect(JSON.stringify(rollback)).toMatch(/permission denied/);
      await checkInvariants(w);
      expect(modelDigests()).toEqual(originalDigestList());
      // Nothing is held: juju refused the attach, the build itself is fine.
      await api(c.base, '/reconcile', { method: 'POST', body: {} });
      await expectAttached(w, job);
    });

    it('juju hanging on attach-resource: each call is cut at the configured juju timeout and rolled back with the cause; after recovery a reconcile attaches', async () => {
      const w = await world('juju-hang', { [JUJU_ENV.hang]: 'attach-resource' });
      const c = await start(w);
      const job = await runToEnd(c);
      expect(job.state, job.error).toBe('succeeded');
      const rollback = await waitFor('the rollback to be recorded', async () => (await history(c.base, 'rollback'))[0], 60_000);
      expect(JSON.stringify(rollback)).toMatch(/timed out/);
      await checkInvariants(w);
      expect(modelDigests()).toEqual(originalDigestList());
      await kill(c.p);
      const recovered = await start({ ...w, env: { ...w.env, [JUJU_ENV.hang]: '' } });
      await api(recovered.base, '/reconcile', { method: 'POST', body: {} });
      await expectAttached(w, job);
    }, 120_000);

    it('the Kubernetes API answering 503 while verifying: retried, the rollout is verified', async () => {
      const w = await world('kube-503');
      const c = await start(w);
      const id = await submit(c.base);
      await c.p.waitForLog((l) => l.msg.startsWith(`attach ${APP} `));
      kubeProxy.addRule({ match: podList, action: 'http503', times: 2 });
      const done = await finished(c, id);
      expect(done.state, done.error).toBe('succeeded');
      await expectAttached(w, done);
      expect(kubeProxy.requests.filter((r) => r.action === 'http503')).toHaveLength(2);
      expect(await history(c.base, 'rollback')).toEqual([]);
    });

    it('the Kubernetes API hanging while verifying: rolled back at the rollout deadline with the cause; after recovery a forced reconcile attaches', async () => {
      const w = await world('kube-hang');
      const c = await start(w);
      const id = await submit(c.base);
      await c.p.waitForLog((l) => l.msg.startsWith(`attach ${APP} `));
      await kubeProxy.setMode('hang');
      const done = await finished(c, id);
      expect(done.state, done.error).toBe('succeeded');
      await c.p.waitForLog((l) => l.msg.startsWith(`roll back ${APP} `));
      const rollback = await waitFor('the rollback to be recorded', async () => (await history(c.base, 'rollback'))[0]);
      expect(JSON.stringify(rollback)).toMatch(/not rolled out after/);
      await kubeProxy.reset();
      await checkInvariants(w);
      await api(c.base, '/reconcile', { method: 'POST', body: { force: true } });
      await expectAttached(w, done);
    });
  });
});

// ---- the world of one case ---------------------------------------------------------------------

function directStore(prefix: string): S3Store {
  if (!rgw) throw new Error('no RGW');
  const store = new S3Store({ endpoint: rgw.endpoint, region: rgw.region, bucket, prefix, accessKey: rgw.accessKey, secretKey: rgw.secretKey });
  stores.push(store);
  return store;
}

async function world(name: string, env: NodeJS.ProcessEnv = {}): Promise<World> {
  if (!rgw) throw new Error('no RGW');
  // The model as Sunbeam deployed it, pods included, and no fault counts left from another case.
  writeState(kube.state, sunbeamState('2024.1'));
  rmSync(`${kube.state}.faults.json`, { force: true });
  await waitFor('the pods to run the originals', () => sameSet(podDigests(), originalDigests));
  const doc: ControllerConfigInput = configDoc(
    f,
    {
      mirror: { store: `s3://${bucket}/${name}`, s3: { endpoint: s3Proxy.url, region: rgw.region, accessKey: rgw.accessKey, secretKey: rgw.secretKey, pathStyle: true, timeoutSeconds: 3 } },
      registry: { host: registryProxy.host, namespace: 'heliostat', tlsVerify: false, retries: 1, timeoutSeconds: 4 },
      juju: { executable: JUJU_STANDIN, model: SUNBEAM_MODEL, controller: SUNBEAM_CONTROLLER, timeoutSeconds: 3 },
      kubeconfig,
      namespace: SUNBEAM_MODEL,
      reconcile: { intervalSeconds: 3600, rolloutTimeoutSeconds: 6 },
      trains: [TRAIN],
    },
    name,
  );
  const config = join(f.root, `${name}.yaml`);
  await writeFile(config, stringify(doc));
  const logs = { [JUJU_ENV.state]: kube.state, [JUJU_ENV.log]: join(f.root, `${name}.juju.log`), [STANDIN_ENV.log]: join(f.root, `${name}.rockcraft.log`) };
  return { name, config, env: { ...f.env, ...logs, ...env }, store: directStore(name) };
}

interface Running {
  p: ServeProcess;
  base: string;
}

async function start(w: World): Promise<Running> {
  const p = new ServeProcess(['--config', w.config], w.env, f.root);
  running.push(p);
  return { p, base: await p.ready() };
}

/** Starts a run, holds the first request matching at `proxy`, SIGKILLs the controller there; the job id. */
async function killAtRequest(w: World, proxy: FaultProxy, match: RequestMatch): Promise<string> {
  proxy.addRule({ match, action: 'hang' });
  const reached = proxy.nextRequest(match);
  const c = await start(w);
  const id = await submit(c.base);
  await reached;
  await kill(c.p);
  proxy.release();
  return id;
}

async function kill(p: ServeProcess): Promise<void> {
  p.signal('SIGKILL');
  expect(await p.exited).toBeNull();
}

async function stopAll(): Promise<void> {
  for (const p of running.splice(0)) {
    p.signal('SIGKILL');
    await p.exited;
  }
}

const jujuLog = (w: World) => w.env[JUJU_ENV.log] ?? '';

function standinPacks(w: World): number {
  const file = w.env[STANDIN_ENV.log] ?? '';
  if (!existsSync(file)) return 0;
  return readFileSync(file, 'utf8').split('\n').filter((line) => line.includes('"command":"pack"')).length;
}

const podList = request('GET', /^\/api\/v1\/(namespaces\/[^/]+\/)?pods(\?|$)/);
const blobPut = request('PUT', /\/blobs\/sha256\//);

// ---- the controller's API ----------------------------------------------------------------------

async function api<T>(base: string, path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await fetch(`${base}/api/v1${path}`, { method: init.method ?? 'GET', headers: auth, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
  const body = (await response.json()) as T;
  if (!response.ok) throw new Error(`${path}: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

const job = async (base: string, id: string) => (await api<{ job: Job }>(base, `/builds/${id}`)).job;

async function submit(base: string): Promise<string> {
  const answer = await api<{ jobs: Array<{ id: string }> }>(base, '/builds', { method: 'POST', body: RUN });
  return answer.jobs[0]?.id ?? '';
}

/** The job once the controller logs that it finished. */
async function finished(c: Running, id: string, timeoutMs = 60_000): Promise<Job> {
  await c.p.waitForLog((l) => l.msg === 'build finished' && l['jobId'] === id, timeoutMs);
  return job(c.base, id);
}

async function runToEnd(c: Running): Promise<Job> {
  return finished(c, await submit(c.base));
}

const history = async (base: string, action: string) => (await api<{ entries: AuditEntry[] }>(base, `/history?action=${action}`)).entries;

// ---- what users see ----------------------------------------------------------------------------

interface Observed {
  committed: BuildRecord[];
  series: TrainSeries[];
  latest?: string;
}

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const sameSet = (a: Iterable<string>, b: Set<string>) => {
  const list = [...new Set(a)];
  return list.length === b.size && list.every((x) => b.has(x));
};

/** The train's committed builds, after checking every invariant of the mirror, registry and model. */
async function checkInvariants(w: World): Promise<Observed> {
  const committed: BuildRecord[] = [];
  const all: TrainSeries[] = [];
  let latest: string | undefined;
  for (const release of await listReleases(w.store, TRAIN.name)) {
    for (const series of await listSeries(w.store, TRAIN.name, release)) {
      const ts: TrainSeries = { train: TRAIN.name, release, series };
      all.push(ts);
      const records = await seriesRecords(w.store, ts);
      committed.push(...records);
      latest = await readAlias(w.store, ts, 'latest');
      if (latest !== undefined) expect(records.find((r) => r.buildId === latest)?.result, `latest ${latest} names a complete successful build`).toBe('success');
      const listed = (await listBuilds(w.store, ts)).builds.map((b) => b.buildId);
      expect(records.map((r) => r.buildId)).toEqual(expect.arrayContaining(listed));
    }
  }
  await checkRegistry(committed);
  checkModel(committed);
  return { committed, series: all, ...(latest ? { latest } : {}) };
}

/** Each committed build complete (every blob there with its digest); no other keys in the series. */
async function seriesRecords(store: S3Store, ts: TrainSeries): Promise<BuildRecord[]> {
  const records: BuildRecord[] = [];
  for (const id of await listBuildIds(store, ts)) {
    const record = await readBuildRecord(store, ts, id);
    if (!record) continue;
    for (const [path, file] of Object.entries(record.files)) {
      const bytes = await store.get(blobKey(file.digest));
      expect(bytes && sha256(bytes), `${id}/outputs/${path}`).toBe(file.digest);
    }
    records.push(record);
  }
  const prefix = seriesPrefix(ts);
  const allowed = new Set([...records.map((r) => `${prefix}${r.buildId}/build.json`), aliasKey(ts, 'latest'), aliasKey(ts, 'stable'), `${prefix}index.json`, `${prefix}pins.json`]);
  // A killed publisher's series lock (and the marker of its breaking) stays until the next publish
  // breaks it; it is not a build and no listing shows it. expectAttached checks it is gone then.
  const lock = seriesLockKey(ts);
  for await (const info of store.list(prefix)) {
    if (info.key === lock || info.key.startsWith(`${lock}.break-`)) continue;
    expect(allowed, `stray key ${info.key}`).toContain(info.key);
  }
  return records;
}

/** Digests the committed successful builds recorded per repository path (host stripped). */
function committedImages(committed: readonly BuildRecord[]): Map<string, Set<string>> {
  const images = new Map<string, Set<string>>();
  for (const record of committed.filter((r) => r.result === 'success')) {
    for (const rock of record.rocks) {
      if (!rock.image) continue;
      const repository = rock.image.ref.slice(rock.image.ref.indexOf('/') + 1).replace(/@sha256:.*$/, '');
      images.set(repository, new Set([...(images.get(repository) ?? []), rock.image.digest]));
    }
  }
  return images;
}

/** Every tag of the train's repositories names an image a committed build recorded. */
async function checkRegistry(committed: readonly BuildRecord[]): Promise<void> {
  const catalog = (await (await fetch(`${registry.url}/v2/_catalog`)).json()) as { repositories?: string[] };
  const known = committedImages(committed);
  for (const repository of catalog.repositories ?? []) {
    const listing = (await (await fetch(`${registry.url}/v2/${repository}/tags/list`)).json()) as { tags?: string[] | null };
    for (const tag of (listing.tags ?? []).filter((t) => t.includes(`-${TRAIN.name}-`))) {
      const digest = await manifestDigestOverHttp(registry, repository, tag);
      // Tags of another case's mirror prefix name the same content: digests are reproducible.
      expect(digest, `${repository}:${tag}`).toBeDefined();
      if (known.size > 0 && known.has(repository)) expect([...(known.get(repository) ?? [])], `${repository}:${tag}`).toContain(digest);
    }
  }
}

function pods(): ReturnType<typeof toPodInfo>[] {
  return (kube.server.pods(SUNBEAM_MODEL) as unknown as V1Pod[]).map(toPodInfo);
}

function podDigests(): string[] {
  return [...runningDigests(pods(), APP).values()].flatMap((s) => [...s]);
}

const originalDigestList = () => [...originalDigests].sort();
const modelDigests = () => [...new Set(podDigests())].sort();

/** Juju resources and pods: the originals, or digests of committed builds, nothing else. */
function checkModel(committed: readonly BuildRecord[]): void {
  const allowed = new Set([...committedImages(committed).values()].flatMap((s) => [...s]));
  for (const resource of RESOURCES) {
    const image = appState(kube.state, APP)?.resources[resource]?.image ?? '';
    const digest = pinnedDigest(image);
    const original = originalImages[resource] ?? '';
    const isOriginal = image === original || (digest !== undefined && originalDigests.has(digest) && image.startsWith(original.replace(/:[^:/]+$/, '')));
    expect(isOriginal || (digest !== undefined && allowed.has(digest)), `${APP}/${resource} runs ${image}`).toBe(true);
  }
  for (const digest of podDigests()) expect(originalDigests.has(digest) || allowed.has(digest), `a ${APP} pod runs ${digest}`).toBe(true);
}

/** The build of `job` is latest and the model runs its digests, juju and pods alike; no lock is left. */
async function expectAttached(w: World, job: Job): Promise<void> {
  const record = (await checkInvariants(w)).committed.find((r) => r.buildId === job.buildId);
  const digests = new Set(record?.rocks.flatMap((r) => (r.image ? [r.image.digest] : [])) ?? []);
  expect(digests.size).toBeGreaterThan(0);
  // The model is local state (the juju stand-in's file, the pods it drives): cheap to watch.
  await waitFor('the model to run the build', () => {
    const attached = RESOURCES.every((r) => digests.has(pinnedDigest(appState(kube.state, APP)?.resources[r]?.image ?? '') ?? ''));
    const pods = podDigests();
    return attached && pods.length > 0 && pods.every((d) => digests.has(d));
  }, 60_000);
  const observed = await checkInvariants(w);
  expect(observed.latest).toBe(job.buildId);
  for (const ts of observed.series) expect(await w.store.stat(seriesLockKey(ts)), `${seriesLockKey(ts)} left behind`).toBeUndefined();
}

async function expectNewRunCompletes(w: World, c: Running): Promise<void> {
  const job = await runToEnd(c);
  expect(job.state, job.error).toBe('succeeded');
  await expectAttached(w, job);
}

/** After a SIGKILL mid-build: restart, the job interrupted, the invariants, and a run that completes. */
async function expectInterruptedThenRecovered(w: World, id: string, expected: { published: boolean }): Promise<void> {
  const c = await start(w);
  const interrupted = await job(c.base, id);
  expect(interrupted.state).toBe('interrupted');
  expect(interrupted.error).toMatch(/controller stopped/);
  expect((await history(c.base, 'build.interrupted')).map((e) => e.detail?.['jobId'])).toContain(id);
  const before = await checkInvariants(w);
  expect(before.committed.length > 0).toBe(expected.published);
  if (expected.published) {
    // The job says which build it committed, and the restart finished what follows the commit.
    expect(interrupted.error).toMatch(new RegExp(`build ${interrupted.buildId ?? '?'} was committed`));
    expect(before.committed.map((r) => r.buildId)).toContain(interrupted.buildId);
    expect(before.latest).toBe(interrupted.buildId);
    // The train attaches latest, and the restart reconciles: the model moves to the committed build.
    await expectAttached(w, interrupted);
  } else {
    expect(interrupted.error).toMatch(/nothing of it was published/);
    expect(interrupted.buildId).toBeUndefined();
    expect(modelDigests()).toEqual(originalDigestList());
  }
  await expectNewRunCompletes(w, c);
}

/** After a SIGKILL mid-attach: restart, the invariants, and a reconcile that completes the attach. */
async function expectAttachRecovered(w: World, id: string): Promise<void> {
  const c = await start(w);
  const done = await job(c.base, id);
  expect(done.state).toBe('succeeded');
  await checkInvariants(w);
  await api(c.base, '/reconcile', { method: 'POST', body: {} });
  await expectAttached(w, done);
  expect((await api<{ jobs: Job[] }>(c.base, '/builds')).jobs.filter((j) => j.state === 'running')).toEqual([]);
}
