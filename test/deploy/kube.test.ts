// The Kubernetes adapter with the real client over HTTP against the API stand-in, which follows
// the juju stand-in's state: listing a Sunbeam 2024.1 model, an attach through the juju binary
// moving the pods to the new digest, injected pod failures, API errors, hangs, RBAC, and the
// token never showing up in an error.
import { inspect } from 'node:util';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { KubeClient, KubeError, runningDigests, waitForRollout, type KubeClientOptions, type PodInfo } from '../../src/deploy/kube.js';
import { ensureJujuStandinBuilt } from '../fixtures/juju/standin.js';
import { sunbeamState } from '../fixtures/juju/sunbeam.js';
import { appState, kubeFixture, type KubeFixture, type KubeFixtureOptions } from '../fixtures/kube/harness.js';
import { writeKubeconfig, type PodFailure } from '../fixtures/kube/server.js';

const NEW = `sha256:${'ab'.repeat(32)}`;
const OTHER = `sha256:${'cd'.repeat(32)}`;
const REF = `registry.local:5000/heliostat/cinder-consolidated@${NEW}`;
const TOKEN = 'hs-token-6f1c2b9e8d7a4c3b';

beforeAll(() => ensureJujuStandinBuilt(), 120_000);

const open: KubeFixture[] = [];
async function fixture(options: KubeFixtureOptions = {}): Promise<KubeFixture> {
  const f = await kubeFixture(options);
  open.push(f);
  return f;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f.close()));
});

const client = (f: KubeFixture, options: Partial<KubeClientOptions> = {}) => KubeClient.fromKubeconfig(f.kubeconfig, { timeoutMs: 2_000, backoffMs: 10, ...options });

async function failure(promise: Promise<unknown>): Promise<KubeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KubeError);
  return err as KubeError;
}

function expectNoToken(err: unknown): void {
  const texts = [String(err), (err as Error).stack ?? '', JSON.stringify(err), inspect(err, { depth: 10, showHidden: true })];
  for (const text of texts) expect(text).not.toContain(TOKEN);
}

const digestOf = (pods: PodInfo[], name: string, container: string) => pods.find((p) => p.name === name)?.containers.find((c) => c.name === container)?.digest;

describe('listing a Sunbeam model', () => {
  it('returns one pod per application of the 2024.1 model, workload containers only, in one request', async () => {
    const f = await fixture();
    f.server.resetRequests();
    const pods = await client(f).listPods();
    expect(f.server.requestCount).toBe(1);
    expect(f.server.requests[0]).toMatchObject({ method: 'GET', path: '/api/v1/namespaces/openstack/pods', watch: false, status: 200 });
    const apps = Object.keys(sunbeamState('2024.1').controllers['sunbeam-controller']!.models.openstack!.applications).sort();
    expect(pods.map((p) => p.app).sort()).toEqual(apps);
    const cinder = pods.find((p) => p.name === 'cinder-0');
    const original = appState(f.state, 'cinder')!.resources['cinder-api-image']!.image!;
    expect(cinder).toMatchObject({ namespace: 'openstack', app: 'cinder', phase: 'Running', ready: true, terminating: false });
    expect(cinder?.containers.map((c) => [c.name, c.image, c.ready, c.state])).toEqual([
      ['cinder-api', original, true, 'running'],
      ['cinder-scheduler', original, true, 'running'],
    ]);
    expect(cinder?.containers[0]?.digest).toBe(f.server.digestOf(original));
    // OVN central runs three workload containers, and Sunbeam's app names differ from charm names.
    expect(pods.find((p) => p.name === 'ovn-central-0')?.containers.map((c) => c.name).sort()).toEqual(['ovn-nb-db-server', 'ovn-northd', 'ovn-sb-db-server']);
    expect(pods.some((p) => p.name === 'bind-0')).toBe(true);
    expect(runningDigests(pods, 'cinder')).toEqual(new Map([['cinder-api', new Set([cinder?.containers[0]?.digest])], ['cinder-scheduler', new Set([cinder?.containers[0]?.digest])]]));
  });

  it('uses the context namespace, an explicit namespace, or another context', async () => {
    const f = await fixture({ kubeconfig: { namespace: 'openstack', extraContexts: [{ name: 'other', namespace: 'elsewhere' }] } });
    expect(client(f).namespace).toBe('openstack');
    expect(client(f, { context: 'other' }).namespace).toBe('elsewhere');
    expect(client(f, { namespace: 'x' }).namespace).toBe('x');
    // A namespace without pods lists empty, as the API does for any namespace.
    expect(await client(f, { context: 'other' }).listPods()).toEqual([]);
  });

  it('parses docker-pullable imageIDs the same way', async () => {
    const f = await fixture({ imageIdFormat: 'docker-pullable' });
    const pods = await client(f).listPods('openstack');
    const original = appState(f.state, 'glance')!.resources['glance-api-image']!.image!;
    expect(digestOf(pods, 'glance-0', 'glance-api')).toBe(f.server.digestOf(original));
  });
});

describe('rollouts after juju attach-resource', () => {
  it('moves the pods to the attached digest after the delay and reports done', async () => {
    const f = await fixture();
    const c = client(f);
    const before = (await c.listPods()).find((p) => p.name === 'cinder-0')!;
    await f.attach('cinder', 'cinder-api-image', REF);
    // The state changed just before juju exited: the pod has not moved yet.
    expect(digestOf(await c.listPods(), 'cinder-0', 'cinder-api')).not.toBe(NEW);
    const seen: string[] = [];
    const result = await waitForRollout(c, 'openstack', 'cinder', { 'cinder-api': NEW }, { timeoutMs: 10_000, pollMs: 40, onPoll: (s) => seen.push(s.reason ?? '') });
    expect(result.state).toBe('done');
    expect(seen.some((r) => /terminating|starting|runs/.test(r))).toBe(true);
    const after = result.pods.find((p) => p.name === 'cinder-0')!;
    expect(after.uid).not.toBe(before.uid);
    expect(after.containers.find((c) => c.name === 'cinder-api')).toMatchObject({ image: REF, requestedDigest: NEW, digest: NEW, ready: true });
    // The other container keeps its image; other applications do not move.
    expect(after.containers.find((c) => c.name === 'cinder-scheduler')?.digest).toBe(before.containers.find((c) => c.name === 'cinder-scheduler')?.digest);
    expect(result.pods.find((p) => p.name === 'glance-0')?.uid).toBe((await c.listPods()).find((p) => p.name === 'glance-0')?.uid);
    expect(runningDigests(result.pods, 'cinder').get('cinder-api')).toEqual(new Set([NEW]));
  });

  it('rolls a scaled application one pod at a time, highest ordinal first', async () => {
    const f = await fixture({ rolloutDelayMs: 200 });
    await f.editApp('cinder', (a) => {
      a.scale = 3;
    });
    const c = client(f);
    await expect.poll(async () => (await c.listPods()).filter((p) => p.app === 'cinder' && p.ready).length, { timeout: 5_000 }).toBe(3);
    const uids = new Map((await c.listPods()).filter((p) => p.app === 'cinder').map((p) => [p.name, p.uid]));
    await f.attach('cinder', 'cinder-api-image', REF);
    const mixed: string[][] = [];
    const result = await waitForRollout(c, 'openstack', 'cinder', { 'cinder-api': NEW }, {
      timeoutMs: 10_000,
      pollMs: 30,
      onPoll: ({ pods }) => mixed.push(pods.filter((p) => p.app === 'cinder' && digestOf(pods, p.name, 'cinder-api') === NEW).map((p) => p.name).sort()),
    });
    expect(result.state).toBe('done');
    expect(mixed).toContainEqual(['cinder-2']);
    expect(mixed).toContainEqual(['cinder-1', 'cinder-2']);
    expect(mixed.some((m) => m.includes('cinder-0') && !m.includes('cinder-1'))).toBe(false);
    for (const p of result.pods.filter((x) => x.app === 'cinder')) expect(p.uid).not.toBe(uids.get(p.name));
  });

  it.each<[PodFailure, RegExp]>([
    ['image-pull', /cinder-0\/cinder-api: (ErrImagePull|ImagePullBackOff)/],
    ['crash', /cinder-0\/cinder-api: CrashLoopBackOff/],
  ])('reports %s as failed with the reason', async (kind, reason) => {
    const f = await fixture();
    f.server.injectFailure({ app: 'cinder', kind });
    await f.attach('cinder', 'cinder-api-image', REF);
    const result = await waitForRollout(client(f), 'openstack', 'cinder', { 'cinder-api': NEW }, { timeoutMs: 10_000, pollMs: 40 });
    expect(result.state).toBe('failed');
    if (result.state === 'failed') expect(result.reason).toMatch(reason);
  });

  it('times out on a pod that runs but never becomes ready', async () => {
    const f = await fixture();
    f.server.injectFailure({ app: 'cinder', kind: 'never-ready' });
    await f.attach('cinder', 'cinder-api-image', REF);
    const started = Date.now();
    const result = await waitForRollout(client(f), 'openstack', 'cinder', { 'cinder-api': NEW }, { timeoutMs: 1_500, pollMs: 40 });
    expect(result.state).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(3_000);
    if (result.state === 'timeout') expect(result.reason).toMatch(/cinder-0\/cinder-api is not ready/);
    expect(digestOf(result.pods, 'cinder-0', 'cinder-api')).toBe(NEW);
  });

  it('fails only the image a failure is injected for, and recovers when the original is attached back', async () => {
    const f = await fixture();
    const c = client(f);
    const original = appState(f.state, 'cinder')!.resources['cinder-api-image']!.image!;
    f.server.injectFailure({ image: NEW, kind: 'image-pull' });
    await f.attach('glance', 'glance-api-image', `registry.local:5000/heliostat/glance@${OTHER}`);
    await f.attach('cinder', 'cinder-api-image', REF);
    const [glance, cinder] = await Promise.all([
      waitForRollout(c, 'openstack', 'glance', { 'glance-api': OTHER }, { timeoutMs: 10_000, pollMs: 40 }),
      waitForRollout(c, 'openstack', 'cinder', { 'cinder-api': NEW }, { timeoutMs: 10_000, pollMs: 40 }),
    ]);
    expect(glance.state).toBe('done');
    expect(cinder.state).toBe('failed');
    // Rollback: the stuck pod is replaced from the restored template.
    await f.attach('cinder', 'cinder-api-image', original);
    const back = await waitForRollout(c, 'openstack', 'cinder', { 'cinder-api': f.server.digestOf(original) }, { timeoutMs: 10_000, pollMs: 40 });
    expect(back.state).toBe('done');
  });

  it('keeps waiting through API errors and still sees the rollout finish', async () => {
    const f = await fixture();
    const c = client(f, { retries: 0 });
    await f.attach('cinder', 'cinder-api-image', REF);
    f.server.failRequests(3, 503);
    const result = await waitForRollout(c, 'openstack', 'cinder', { 'cinder-api': NEW }, { timeoutMs: 10_000, pollMs: 40 });
    expect(result.state).toBe('done');
    expect(result.polls).toBeGreaterThan(3);
    expect(f.server.requests.filter((r) => r.status === 503)).toHaveLength(3);
  });

  it('times out, within its deadline, while the API never answers', async () => {
    const f = await fixture();
    await f.attach('cinder', 'cinder-api-image', REF);
    f.server.hangRequests();
    const started = Date.now();
    const result = await waitForRollout(client(f, { timeoutMs: 30_000 }), 'openstack', 'cinder', { 'cinder-api': NEW }, { timeoutMs: 800, pollMs: 40 });
    expect(result.state).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('stops at once on forbidden and on cancellation', async () => {
    const f = await fixture();
    f.server.forbidNamespace('openstack');
    const err = await failure(waitForRollout(client(f), 'openstack', 'cinder', { 'cinder-api': NEW }, { timeoutMs: 10_000, pollMs: 40 }));
    expect(err.kind).toBe('forbidden');
    f.server.forbidNamespace('openstack', false);
    const cancelled = (hang: boolean) => {
      if (hang) f.server.hangRequests();
      const controller = new AbortController();
      setTimeout(() => controller.abort(new Error('shutting down')), 200);
      // pollMs 5 s: without a hang the abort lands in the pause between polls, with one in the request.
      return waitForRollout(client(f, { timeoutMs: 10_000 }), 'openstack', 'cinder', { 'cinder-api': NEW }, { timeoutMs: 10_000, pollMs: 5_000, signal: controller.signal });
    };
    const started = Date.now();
    await expect(cancelled(false)).rejects.toThrow('shutting down');
    await expect(cancelled(true)).rejects.toThrow('shutting down');
    expect(Date.now() - started).toBeLessThan(2_000);
    const aborted = AbortSignal.abort(new Error('already cancelled'));
    await expect(client(f).listPods('openstack', { signal: aborted })).rejects.toThrow('already cancelled');
  });
});

describe('errors', () => {
  it('retries 5xx answers and classifies them as transient when they persist', async () => {
    const f = await fixture();
    f.server.failRequests(2);
    f.server.resetRequests();
    expect((await client(f, { retries: 2 }).listPods()).length).toBeGreaterThan(20);
    expect(f.server.requests.map((r) => r.status)).toEqual([500, 500, 200]);
    f.server.failRequests(10);
    const err = await failure(client(f, { retries: 2 }).listPods());
    expect(err).toMatchObject({ kind: 'transient', status: 500, reason: 'InternalError', attempts: 3, retryable: true });
    expect(err.message).toMatch(/^Kubernetes API: list pods in namespace "openstack": Internal error occurred: .* \(HTTP 500 InternalError\)$/);
    f.server.failRequests(1, 429);
    expect((await failure(client(f, { retries: 0 }).listPods())).kind).toBe('transient');
  });

  it('classifies forbidden, unauthorized, not-found and unreachable', async () => {
    const f = await fixture({ token: TOKEN });
    f.server.forbidNamespace('openstack');
    const forbidden = await failure(client(f).listPods());
    expect(forbidden).toMatchObject({ kind: 'forbidden', status: 403, reason: 'Forbidden', attempts: 1 });
    expect(forbidden.message).toContain('cannot list resource "pods" in API group "" in the namespace "openstack"');
    f.server.setToken('another-token');
    expect(await failure(client(f).listPods('glance'))).toMatchObject({ kind: 'forbidden', status: 401 });
    f.server.setToken(TOKEN);
    // A server URL with a wrong path prefix reaches nothing the API serves.
    const wrongPath = writeKubeconfig(join(f.dir, 'wrong-path'), { server: `${f.server.url}/not-the-api`, token: TOKEN });
    expect(await failure(KubeClient.fromKubeconfig(wrongPath, { timeoutMs: 2_000 }).listPods())).toMatchObject({ kind: 'not-found', status: 404, reason: 'NotFound' });
    const url = f.server.url;
    await f.server.close();
    const down = await failure(client(f).listPods());
    expect(down).toMatchObject({ kind: 'unreachable', code: 'ECONNREFUSED' });
    expect(down.message).toBe(`Kubernetes API: list pods in namespace "openstack": cannot connect (ECONNREFUSED)`);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('times out a request the API never answers, without retrying it', async () => {
    const f = await fixture();
    f.server.hangRequests();
    f.server.resetRequests();
    const started = Date.now();
    const err = await failure(client(f, { timeoutMs: 300, retries: 3 }).listPods());
    expect(err).toMatchObject({ kind: 'unreachable', timedOut: true, attempts: 1 });
    expect(err.message).toMatch(/no answer within 300 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(f.server.requestCount).toBe(1);
  });

  it('rejects unusable kubeconfigs up front', async () => {
    const f = await fixture();
    const missing = catchSync(() => KubeClient.fromKubeconfig(join(f.dir, 'missing'), { timeoutMs: 1_000 }));
    expect(missing).toBeInstanceOf(KubeError);
    expect(missing).toMatchObject({ kind: 'invalid', message: expect.stringMatching(/^cannot read kubeconfig .*missing: ENOENT$/) as unknown });
    expect(catchSync(() => client(f, { context: 'nope' }))).toMatchObject({ kind: 'invalid', message: 'no context "nope" in the kubeconfig' });
    const plain = f.server.writeKubeconfig(join(f.dir, 'plain'), { verifyTls: true });
    expect(catchSync(() => KubeClient.fromKubeconfig(plain, { timeoutMs: 1_000 }))).toMatchObject({ kind: 'invalid', message: expect.stringMatching(/plain HTTP .* without insecure-skip-tls-verify/) as unknown });
  });

  it('never puts the token in an error, even when the API echoes it', async () => {
    const f = await fixture({ token: TOKEN });
    const errors: unknown[] = [];
    f.server.failRequests(1, 500, `upstream rejected Authorization: Bearer ${TOKEN}`);
    errors.push(await failure(client(f, { retries: 0 }).listPods()));
    expect((errors[0] as Error).message).toContain('Bearer ***');
    f.server.forbidNamespace('openstack');
    errors.push(await failure(client(f).listPods()));
    f.server.clearFaults();
    f.server.setToken('rotated');
    errors.push(await failure(client(f).listPods()));
    f.server.hangRequests();
    errors.push(await failure(client(f, { timeoutMs: 200 }).listPods()));
    await f.server.close();
    errors.push(await failure(client(f).listPods()));
    for (const err of errors) expectNoToken(err);
  });
});

function catchSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}
