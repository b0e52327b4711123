// The pure part of the Kubernetes adapter: digests from the imageID forms runtimes report, the
// heliostat view of a Juju sidecar pod, and the rollout decision over a set of pods.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parseImageDigest, pinnedDigest, rolloutState, runningDigests, toPodInfo, type ContainerInfo, type PodInfo } from '../../src/deploy/kube.js';

const A = `sha256:${'a'.repeat(64)}`;
const B = `sha256:${'b'.repeat(64)}`;

describe('parseImageDigest', () => {
  it.each([
    [`ghcr.io/canonical/cinder-consolidated@${A}`, A],
    [`docker-pullable://ghcr.io/canonical/cinder-consolidated@${A}`, A],
    [`docker.io/library/nginx@${A}`, A],
    [`registry.local:5000/heliostat/cinder@${A}`, A],
    [A, A],
    [`docker://${A}`, A],
    [`  ${A.toUpperCase().replace('SHA256', 'sha256')}\n`, A],
    ['', undefined],
    [undefined, undefined],
    [null, undefined],
    ['ghcr.io/canonical/cinder-consolidated:2024.1', undefined],
    [`ghcr.io/x@sha256:${'a'.repeat(63)}`, undefined],
    [`ghcr.io/x@sha512:${'a'.repeat(128)}`, undefined],
    [`ghcr.io/x@${A}extra`, undefined],
  ])('%s → %s', (imageId, digest) => {
    expect(parseImageDigest(imageId)).toBe(digest);
  });

  it('pinnedDigest reads only a pinned reference', () => {
    expect(pinnedDigest(`r.io/x:tag@${A}`)).toBe(A);
    expect(pinnedDigest('r.io/x:tag')).toBeUndefined();
  });
});

function v1Pod(overrides: { deleting?: boolean; ready?: boolean; labels?: Record<string, string> } = {}): V1Pod {
  return {
    metadata: { name: 'cinder-0', namespace: 'openstack', uid: 'u-1', labels: overrides.labels ?? { 'app.kubernetes.io/name': 'cinder', 'app.kubernetes.io/managed-by': 'juju' }, ...(overrides.deleting ? { deletionTimestamp: new Date() } : {}) },
    spec: {
      containers: [
        { name: 'charm', image: 'docker.io/jujusolutions/charm-base:ubuntu-24.04' },
        { name: 'cinder-api', image: `registry.local:5000/heliostat/cinder@${A}` },
        { name: 'cinder-scheduler', image: 'ghcr.io/canonical/cinder-consolidated:2024.1' },
      ],
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: overrides.ready === false ? 'False' : 'True' }],
      containerStatuses: [
        { name: 'charm', image: 'charm-base', imageID: `docker.io/jujusolutions/charm-base@${B}`, ready: true, restartCount: 0, state: { running: {} } },
        { name: 'cinder-api', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } } },
        { name: 'cinder-scheduler', image: 'x', imageID: `docker-pullable://ghcr.io/canonical/cinder-consolidated@${B}`, ready: true, restartCount: 3, state: { running: {} } },
      ],
    },
  };
}

describe('toPodInfo', () => {
  it('keeps workload containers only, with spec image, pinned and running digests', () => {
    const info = toPodInfo(v1Pod());
    expect(info).toMatchObject({ name: 'cinder-0', namespace: 'openstack', app: 'cinder', uid: 'u-1', phase: 'Running', ready: true, terminating: false });
    expect(info.containers).toEqual([
      { name: 'cinder-api', image: `registry.local:5000/heliostat/cinder@${A}`, requestedDigest: A, ready: false, state: 'waiting', waitingReason: 'ImagePullBackOff', message: 'Back-off pulling image', restartCount: 0 },
      { name: 'cinder-scheduler', image: 'ghcr.io/canonical/cinder-consolidated:2024.1', digest: B, ready: true, state: 'running', restartCount: 3 },
    ]);
  });

  it('reads terminating, not-ready and legacy-labelled pods', () => {
    expect(toPodInfo(v1Pod({ deleting: true, ready: false }))).toMatchObject({ terminating: true, ready: false });
    expect(toPodInfo(v1Pod({ labels: { 'juju-app': 'cinder' } })).app).toBe('cinder');
    expect(toPodInfo(v1Pod({ labels: {} })).app).toBeUndefined();
    expect(toPodInfo({}).containers).toEqual([]);
  });
});

const container = (name: string, digest: string | undefined, extra: Partial<ContainerInfo> = {}): ContainerInfo => ({
  name,
  image: digest ? `r.io/${name}@${digest}` : `r.io/${name}:tag`,
  ...(digest ? { requestedDigest: digest, digest } : {}),
  ready: true,
  state: 'running',
  restartCount: 0,
  ...extra,
});
const pod = (name: string, containers: ContainerInfo[], extra: Partial<PodInfo> = {}): PodInfo => ({ name, namespace: 'openstack', app: 'cinder', uid: name, phase: 'Running', ready: true, terminating: false, containers, ...extra });

describe('runningDigests', () => {
  it('collects every digest per container of the application, several during a rollout', () => {
    const pods = [pod('cinder-0', [container('api', A), container('sched', A)]), pod('cinder-1', [container('api', B), container('sched', undefined)]), pod('glance-0', [container('api', B)], { app: 'glance' })];
    expect(runningDigests(pods, 'cinder')).toEqual(new Map([['api', new Set([A, B])], ['sched', new Set([A])]]));
    expect(runningDigests(pods, 'nova')).toEqual(new Map());
  });
});

describe('rolloutState', () => {
  const want = { api: B };
  it.each<[string, PodInfo[], string, RegExp | undefined]>([
    ['done when every pod runs the digest and is ready', [pod('cinder-0', [container('api', B), container('sched', A)])], 'done', undefined],
    ['progressing without pods', [], 'progressing', /no pods of cinder/],
    ['progressing while a pod terminates', [pod('cinder-0', [container('api', A)], { terminating: true })], 'progressing', /cinder-0 is terminating/],
    ['progressing on the old digest', [pod('cinder-0', [container('api', A)])], 'progressing', /cinder-0\/api runs sha256:aaaaaaaaaaaa… \(want sha256:bbbbbbbbbbbb…\)/],
    ['progressing while starting', [pod('cinder-0', [container('api', undefined, { requestedDigest: B, ready: false, state: 'waiting', waitingReason: 'ContainerCreating' })])], 'progressing', /starting \(ContainerCreating\)/],
    ['progressing while not ready', [pod('cinder-0', [container('api', B, { ready: false })], { ready: false })], 'progressing', /api is not ready/],
    ['progressing while the pod is not Ready', [pod('cinder-0', [container('api', B)], { ready: false })], 'progressing', /cinder-0 is not Ready/],
    ['progressing when the container is missing', [pod('cinder-0', [container('sched', B)])], 'progressing', /has no container api/],
    ['progressing while one of two pods is still old', [pod('cinder-0', [container('api', A)]), pod('cinder-1', [container('api', B)])], 'progressing', /cinder-0\/api runs/],
    ['failed on ImagePullBackOff of the new image', [pod('cinder-0', [container('api', undefined, { requestedDigest: B, ready: false, state: 'waiting', waitingReason: 'ImagePullBackOff', message: 'Back-off pulling image' })])], 'failed', /cinder-0\/api: ImagePullBackOff: Back-off pulling image/],
    ['failed on ErrImagePull', [pod('cinder-0', [container('api', undefined, { requestedDigest: B, ready: false, state: 'waiting', waitingReason: 'ErrImagePull' })])], 'failed', /ErrImagePull/],
    ['failed on CrashLoopBackOff', [pod('cinder-0', [container('api', B, { ready: false, state: 'waiting', waitingReason: 'CrashLoopBackOff', restartCount: 4 })])], 'failed', /CrashLoopBackOff/],
    ['failed on InvalidImageName', [pod('cinder-0', [container('api', undefined, { requestedDigest: B, ready: false, state: 'waiting', waitingReason: 'InvalidImageName' })])], 'failed', /InvalidImageName/],
    ['failed when another container of a new pod crashes', [pod('cinder-0', [container('api', B), container('sched', A, { ready: false, state: 'waiting', waitingReason: 'CrashLoopBackOff' })])], 'failed', /cinder-0\/sched: CrashLoopBackOff/],
    ['not failed by a crash on the old image', [pod('cinder-0', [container('api', A, { ready: false, state: 'waiting', waitingReason: 'CrashLoopBackOff' })])], 'progressing', /runs sha256:aaaa/],
    ['ignores other applications', [pod('cinder-0', [container('api', B)]), pod('glance-0', [container('api', undefined, { requestedDigest: B, waitingReason: 'ImagePullBackOff' })], { app: 'glance' })], 'done', undefined],
  ])('%s', (_name, pods, state, reason) => {
    const result = rolloutState(pods, 'cinder', want);
    expect(result.state).toBe(state);
    if (reason) expect(result.reason).toMatch(reason);
  });
});
