// The Kubernetes API stand-in itself, driven by the real @kubernetes/client-node: discovery,
// selectors, Status bodies, Juju-shaped pods, watches (initial ADDED, resume, 410, timeouts,
// the events of a rollout), injected pod failures, scale changes and request accounting.
import { statSync } from 'node:fs';
import { ApiException, CoreV1Api, KubeConfig, Watch, type V1Pod } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { kubeFixture, type KubeFixture, type KubeFixtureOptions } from '../fixtures/kube/harness.js';

const NEW = `sha256:${'ab'.repeat(32)}`;
const REF = `registry.local:5000/heliostat/cinder-consolidated@${NEW}`;
const TOKEN = 'test-token-for-the-stand-in';

type Json = Record<string, unknown>;

/** The parts of the served pod JSON the assertions read. */
interface RawPod {
  metadata: { name: string };
  spec: { containers: { name: string; image: string }[] };
  status: {
    phase: string;
    conditions: { type: string; status: string }[];
    containerStatuses: { name: string; imageID: string; ready: boolean; started: boolean; restartCount: number; state: { waiting?: { reason: string }; running?: unknown }; lastState?: unknown }[];
  };
}

const open: KubeFixture[] = [];
async function fixture(options: KubeFixtureOptions = {}): Promise<KubeFixture> {
  const f = await kubeFixture({ token: TOKEN, ...options });
  open.push(f);
  return f;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

function api(f: KubeFixture): { kc: KubeConfig; core: CoreV1Api } {
  const kc = new KubeConfig();
  kc.loadFromFile(f.kubeconfig);
  return { kc, core: kc.makeApiClient(CoreV1Api) };
}

async function apiError(promise: Promise<unknown>): Promise<{ code: number; body: Json }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiException);
  const { code, body } = err as ApiException<unknown>;
  return { code, body: (typeof body === 'string' ? JSON.parse(body) : body) as Json };
}

const get = (f: KubeFixture, path: string, auth = true) => fetch(`${f.server.url}${path}`, { headers: auth ? { Authorization: `Bearer ${TOKEN}` } : {} });
const raw = (f: KubeFixture, name: string) => f.server.pods('openstack').find((p) => (p.metadata as Json).name === name) as unknown as RawPod | undefined;
const ready = (pod: RawPod | undefined) => pod?.status.conditions.find((c) => c.type === 'Ready')?.status;
const setImage = (f: KubeFixture, app: string, resource: string, image: string) =>
  f.editApp(app, (a) => {
    a.resources[resource]!.image = image;
  });

describe('discovery, auth and errors', () => {
  it('answers discovery and health, and Status bodies for 401, 404 and 405', async () => {
    const f = await fixture();
    expect(await (await get(f, '/version')).json()).toMatchObject({ major: '1', gitVersion: expect.stringMatching(/^v1\./) as unknown });
    expect(await (await get(f, '/api')).json()).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    expect(await (await get(f, '/apis')).json()).toMatchObject({ kind: 'APIGroupList' });
    expect((await (await get(f, '/api/v1')).json()) as Json).toMatchObject({ kind: 'APIResourceList', resources: expect.arrayContaining([expect.objectContaining({ name: 'pods', namespaced: true })]) as unknown });
    expect(await (await get(f, '/healthz')).text()).toBe('ok');
    const anonymous = await get(f, '/api/v1/namespaces/openstack/pods', false);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    const missing = await get(f, '/apis/apps/v1/statefulsets');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ kind: 'Status', reason: 'NotFound', message: 'the server could not find the requested resource', code: 404 });
    const post = await fetch(`${f.server.url}/api/v1/namespaces/openstack/pods`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(post.status).toBe(405);
    expect(await post.json()).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed', code: 405 });
  });

  it('serves 403, 500 and hung requests on demand, and counts every request', async () => {
    const f = await fixture();
    const { core } = api(f);
    f.server.resetRequests();
    f.server.forbidNamespace('openstack');
    expect(await apiError(core.listNamespacedPod({ namespace: 'openstack' }))).toMatchObject({ code: 403, body: { reason: 'Forbidden', message: expect.stringContaining('cannot list resource "pods"') as unknown } });
    expect(await apiError(core.readNamespacedPod({ namespace: 'openstack', name: 'cinder-0' }))).toMatchObject({ code: 403, body: { message: expect.stringContaining('cannot get resource "pods"') as unknown } });
    f.server.clearFaults();
    f.server.failRequests(2, 503);
    expect(await apiError(core.listNamespacedPod({ namespace: 'openstack' }))).toMatchObject({ code: 503, body: { reason: 'ServiceUnavailable' } });
    expect(await apiError(core.listNamespacedPod({ namespace: 'openstack' }))).toMatchObject({ code: 503 });
    expect((await core.listNamespacedPod({ namespace: 'openstack' })).items.length).toBeGreaterThan(0);
    f.server.hangRequests(1);
    const hung = core.listNamespacedPod({ namespace: 'openstack' }).then(
      () => 'answered',
      () => 'dropped',
    );
    await expect.poll(() => f.server.requests.at(-1)?.status).toBe('hung');
    expect((await core.listNamespacedPod({ namespace: 'openstack' })).items.length).toBeGreaterThan(0);
    expect(f.server.requests.map((r) => r.status)).toEqual([403, 403, 503, 503, 200, 'hung', 200]);
    expect(f.server.requestCount).toBe(7);
    // Closing the server drops the hung request instead of waiting for it.
    await f.server.close();
    expect(await hung).toBe('dropped');
  });

  it('writes a kubeconfig the client accepts, readable by its owner only', async () => {
    const f = await fixture();
    expect(statSync(f.kubeconfig).mode & 0o777).toBe(0o600);
    const { kc } = api(f);
    expect(kc.getCurrentCluster()).toMatchObject({ server: f.server.url, skipTLSVerify: true });
    expect(kc.getCurrentUser()?.token).toBe(TOKEN);
  });
});

describe('pods', () => {
  it('look like Juju sidecar pods: labels, charm and workload containers, imageIDs, Ready', async () => {
    const f = await fixture();
    const { core } = api(f);
    const pod = await core.readNamespacedPod({ namespace: 'openstack', name: 'cinder-0' });
    expect(pod.metadata?.labels).toMatchObject({ 'app.kubernetes.io/name': 'cinder', 'app.kubernetes.io/managed-by': 'juju', 'statefulset.kubernetes.io/pod-name': 'cinder-0' });
    expect(pod.metadata?.annotations).toMatchObject({ 'unit.juju.is/id': 'cinder/0' });
    expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'StatefulSet', name: 'cinder' });
    expect(pod.spec?.initContainers?.map((c) => c.name)).toEqual(['charm-init']);
    expect(pod.spec?.containers.map((c) => c.name)).toEqual(['charm', 'cinder-api', 'cinder-scheduler']);
    expect(pod.spec?.containers[1]?.image).toBe('ghcr.io/canonical/cinder-consolidated:2024.1-24.04_edge');
    expect(pod.status?.phase).toBe('Running');
    expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    const api0 = pod.status?.containerStatuses?.find((c) => c.name === 'cinder-api');
    expect(api0).toMatchObject({ ready: true, started: true, restartCount: 0 });
    expect(api0?.imageID).toMatch(/^ghcr\.io\/canonical\/cinder-consolidated@sha256:[0-9a-f]{64}$/);
    expect(api0?.state?.running?.startedAt).toBeInstanceOf(Date);
    const missing = await apiError(core.readNamespacedPod({ namespace: 'openstack', name: 'cinder-9' }));
    expect(missing).toMatchObject({ code: 404, body: { kind: 'Status', reason: 'NotFound', message: 'pods "cinder-9" not found', details: { name: 'cinder-9', kind: 'pods' } } });
    expect((await core.readNamespace({ name: 'openstack' })).status?.phase).toBe('Active');
    expect((await apiError(core.readNamespace({ name: 'nope' }))).code).toBe(404);
  });

  it('filters by label selector (equality, set and existence forms) and field selector', async () => {
    const f = await fixture();
    const { core } = api(f);
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await core.listNamespacedPod({ namespace: 'openstack', ...(labelSelector ? { labelSelector } : {}), ...(fieldSelector ? { fieldSelector } : {}) })).items.map((p) => p.metadata?.name).sort();
    const all = await names();
    expect(all.length).toBeGreaterThan(20);
    expect(await names('app.kubernetes.io/name=cinder')).toEqual(['cinder-0']);
    expect(await names('app.kubernetes.io/name==cinder,app.kubernetes.io/managed-by=juju')).toEqual(['cinder-0']);
    expect(await names('app.kubernetes.io/name in (cinder, glance,nova)')).toEqual(['cinder-0', 'glance-0', 'nova-0']);
    expect(await names('app.kubernetes.io/name notin (cinder,glance)')).toHaveLength(all.length - 2);
    expect(await names('app.kubernetes.io/name!=cinder')).toHaveLength(all.length - 1);
    expect(await names('app.kubernetes.io/managed-by')).toHaveLength(all.length);
    expect(await names('!app.kubernetes.io/managed-by')).toEqual([]);
    expect(await names(undefined, 'metadata.name=keystone-0')).toEqual(['keystone-0']);
    expect(await names('app.kubernetes.io/name in (cinder,glance)', 'metadata.name!=glance-0')).toEqual(['cinder-0']);
    expect(await apiError(names('app.kubernetes.io/name in (cinder'))).toMatchObject({ code: 400, body: { reason: 'BadRequest' } });
    expect(await apiError(names(undefined, 'spec.containers=x'))).toMatchObject({ code: 400, body: { message: 'field label not supported: spec.containers' } });
    const everywhere = (await core.listPodForAllNamespaces({ labelSelector: 'app.kubernetes.io/name=cinder' })).items;
    expect(everywhere.map((p) => p.metadata?.namespace)).toEqual(['openstack']);
  });

  it('reports injected failures the way the kubelet does', async () => {
    const f = await fixture({ rolloutDelayMs: 200 });
    f.server.injectFailure({ app: 'cinder', container: 'cinder-api', kind: 'image-pull' });
    f.server.injectFailure({ app: 'glance', kind: 'crash' });
    f.server.injectFailure({ image: 'registry.local:5000/heliostat/nova@' + NEW, kind: 'never-ready' });
    await setImage(f, 'cinder', 'cinder-api-image', REF);
    await setImage(f, 'glance', 'glance-api-image', `registry.local:5000/heliostat/glance@${NEW}`);
    await setImage(f, 'nova', 'nova-api-image', `registry.local:5000/heliostat/nova@${NEW}`);
    const status = (pod: string, container: string) => raw(f, pod)?.status.containerStatuses.find((c) => c.name === container);
    await expect.poll(() => status('cinder-0', 'cinder-api')?.state?.waiting?.reason, { timeout: 5_000 }).toBe('ErrImagePull');
    await expect.poll(() => status('cinder-0', 'cinder-api')?.state?.waiting?.reason, { timeout: 5_000 }).toBe('ImagePullBackOff');
    expect(status('cinder-0', 'cinder-api')).toMatchObject({ imageID: '', ready: false, started: false });
    expect(status('cinder-0', 'cinder-scheduler')).toMatchObject({ ready: true });
    expect(raw(f, 'cinder-0')?.status.phase).toBe('Pending');
    await expect.poll(() => status('glance-0', 'glance-api')?.restartCount, { timeout: 5_000 }).toBeGreaterThan(1);
    expect(status('glance-0', 'glance-api')).toMatchObject({ ready: false, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1 } } });
    expect(status('glance-0', 'glance-api')?.imageID).toBe(`registry.local:5000/heliostat/glance@${NEW}`);
    await expect.poll(() => status('nova-0', 'nova-api')?.state?.running !== undefined, { timeout: 5_000 }).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(status('nova-0', 'nova-api')).toMatchObject({ ready: false, started: true });
    expect(ready(raw(f, 'nova-0'))).toBe('False');
    // Only pods created after an injection fail; the others stay healthy.
    expect(ready(raw(f, 'keystone-0'))).toBe('True');
  });

  it('resolves tags to configured digests and follows scale changes, new and removed applications', async () => {
    const f = await fixture({ rolloutDelayMs: 100 });
    f.server.setImageDigest('registry.local:5000/heliostat/cinder:2024.1-patched', NEW);
    await setImage(f, 'cinder', 'cinder-api-image', 'registry.local:5000/heliostat/cinder:2024.1-patched');
    const imageId = () => raw(f, 'cinder-0')?.status.containerStatuses.find((c) => c.name === 'cinder-api')?.imageID;
    await expect.poll(imageId, { timeout: 5_000 }).toBe(`registry.local:5000/heliostat/cinder@${NEW}`);
    await f.editApp('cinder', (a) => {
      a.scale = 2;
    });
    await expect.poll(() => ready(raw(f, 'cinder-1')), { timeout: 5_000 }).toBe('True');
    await f.editApp('cinder', (a) => {
      a.scale = 1;
    });
    await expect.poll(() => raw(f, 'cinder-1'), { timeout: 5_000 }).toBeUndefined();
    await f.editApp('glance', (a) => {
      delete a.containers;
    });
    await expect.poll(() => raw(f, 'glance-0')?.spec.containers.map((c) => c.name), { timeout: 5_000 }).toEqual(['charm']);
  });
});

describe('watch', () => {
  interface Event {
    type: string;
    object: V1Pod & { code?: number; reason?: string };
  }

  async function watch(f: KubeFixture, params: Record<string, string | number | boolean>, path = '/api/v1/namespaces/openstack/pods') {
    const { kc } = api(f);
    const events: Event[] = [];
    let ended: unknown = 'open';
    const controller = await new Watch(kc).watch(
      path,
      params,
      (type, object: V1Pod) => events.push({ type, object }),
      (err: unknown) => {
        ended = err;
      },
    );
    return { events, ended: () => ended, stop: () => controller.abort() };
  }

  it('streams the current pods as ADDED, then the events of a rollout', async () => {
    const f = await fixture();
    const w = await watch(f, { labelSelector: 'app.kubernetes.io/name=cinder' });
    await expect.poll(() => w.events.length).toBe(1);
    expect(w.events[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'cinder-0' } } });
    const oldUid = w.events[0]?.object.metadata?.uid;
    await setImage(f, 'cinder', 'cinder-api-image', REF);
    const readyOnNew = (e: Event) =>
      e.object.metadata?.uid !== oldUid && e.object.status?.containerStatuses?.find((c) => c.name === 'cinder-api')?.imageID?.endsWith(NEW) === true && e.object.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    await expect.poll(() => w.events.some(readyOnNew), { timeout: 5_000 }).toBe(true);
    w.stop();
    const sequence = w.events.map((e) => `${e.type}:${e.object.metadata?.uid === oldUid ? 'old' : 'new'}${e.object.metadata?.deletionTimestamp ? ':terminating' : ''}`);
    expect(sequence.slice(0, 4)).toEqual(['ADDED:old', 'MODIFIED:old:terminating', 'DELETED:old:terminating', 'ADDED:new']);
    expect(sequence.at(-1)).toBe('MODIFIED:new');
    // resourceVersions only grow.
    const versions = w.events.map((e) => Number(e.object.metadata?.resourceVersion));
    expect([...versions].sort((a, b) => a - b)).toEqual(versions);
    // Nothing about other applications came through the selector.
    expect(w.events.every((e) => e.object.metadata?.labels?.['app.kubernetes.io/name'] === 'cinder')).toBe(true);
  });

  it('resumes from a list resourceVersion, rejects a too old one with 410, and honours timeoutSeconds', async () => {
    const f = await fixture({ rolloutDelayMs: 100 });
    const { core } = api(f);
    const list = await core.listNamespacedPod({ namespace: 'openstack', labelSelector: 'app.kubernetes.io/name=glance' });
    await setImage(f, 'glance', 'glance-api-image', `registry.local:5000/heliostat/glance@${NEW}`);
    const glance = () => raw(f, 'glance-0');
    await expect.poll(() => glance()?.status.containerStatuses.find((c) => c.name === 'glance-api')?.ready === true && glance()?.spec.containers[1]?.image.endsWith(NEW), { timeout: 5_000 }).toBe(true);
    // Started after the rollout ended, the watch still replays it from the list's version.
    const resumed = await watch(f, { labelSelector: 'app.kubernetes.io/name=glance', resourceVersion: list.metadata?.resourceVersion ?? '' });
    await expect.poll(() => resumed.events.map((e) => e.type).slice(0, 3)).toEqual(['MODIFIED', 'DELETED', 'ADDED']);
    expect(resumed.events.some((e) => e.type === 'ADDED' && list.items.every((p) => p.metadata?.uid !== e.object.metadata?.uid))).toBe(true);
    resumed.stop();
    const old = await watch(f, { resourceVersion: '1' });
    await expect.poll(() => old.events[0]?.type).toBe('ERROR');
    expect(old.events[0]?.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    await expect.poll(() => old.ended()).toBeNull();
    const short = await watch(f, { timeoutSeconds: 1, labelSelector: 'app.kubernetes.io/name=keystone' }, '/api/v1/pods');
    await expect.poll(() => short.events.length).toBe(1);
    await expect.poll(() => short.ended(), { timeout: 3_000 }).toBeNull();
    expect(f.server.requests.filter((r) => r.watch)).toHaveLength(3);
  });
});
