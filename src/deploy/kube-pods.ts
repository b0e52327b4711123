// What heliostat needs to know about the pods of a Juju model, and the pure decisions over it:
// which digest each workload container runs, and whether a rollout to expected digests is done,
// still moving, or failed. Juju runs a sidecar charm as a StatefulSet whose pods carry
// `app.kubernetes.io/name=<application>` and hold a `charm` container (the charm itself) plus one
// container per workload, so only the workload containers are reported.
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';

export const APP_LABEL = 'app.kubernetes.io/name';
/** Models created by Juju 2.8 and older label pods `juju-app` instead. */
export const LEGACY_APP_LABEL = 'juju-app';
export const CHARM_CONTAINER = 'charm';

export interface ContainerInfo {
  name: string;
  /** The image the pod spec asks for. */
  image: string;
  /** The digest the spec pins (`…@sha256:…`), if it pins one. */
  requestedDigest?: string;
  /** The digest the runtime reports running (from `imageID`); absent until the image is pulled. */
  digest?: string;
  ready: boolean;
  state: 'running' | 'waiting' | 'terminated' | 'unknown';
  /** ImagePullBackOff, CrashLoopBackOff, ContainerCreating … */
  waitingReason?: string;
  message?: string;
  restartCount: number;
}

export interface PodInfo {
  name: string;
  namespace: string;
  /** The Juju application, from the pod's labels. */
  app?: string;
  uid: string;
  phase: string;
  ready: boolean;
  /** Being deleted (a rollout replacing it, or a scale-down). */
  terminating: boolean;
  /** Workload containers only. */
  containers: ContainerInfo[];
}

export type RolloutState = 'done' | 'progressing' | 'failed';

/** Container states that do not clear up by waiting. */
export const FATAL_REASONS: ReadonlySet<string> = new Set(['ImagePullBackOff', 'ErrImagePull', 'CrashLoopBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'CreateContainerConfigError', 'CreateContainerError']);

const DIGEST = /(?:^|@|:\/\/)(sha256:[0-9a-f]{64})$/;

/**
 * The `sha256:<hex>` in an imageID as runtimes report it: `registry/name@sha256:…` (containerd,
 * CRI-O), `docker-pullable://registry/name@sha256:…` (dockershim, cri-dockerd), or a bare
 * `sha256:…`. Undefined for an empty imageID (image not pulled yet) or anything else.
 */
export function parseImageDigest(imageId: string | undefined | null): string | undefined {
  if (!imageId) return undefined;
  return DIGEST.exec(imageId.trim().toLowerCase())?.[1];
}

/** The digest an image reference pins, if any. */
export function pinnedDigest(image: string): string | undefined {
  return /@(sha256:[0-9a-f]{64})$/.exec(image)?.[1];
}

function containerInfo(name: string, image: string, status: V1ContainerStatus | undefined): ContainerInfo {
  const state = status?.state;
  const requested = pinnedDigest(image);
  const digest = parseImageDigest(status?.imageID);
  const waiting = state?.waiting;
  return {
    name,
    image,
    ...(requested ? { requestedDigest: requested } : {}),
    ...(digest ? { digest } : {}),
    ready: status?.ready === true,
    state: state?.running ? 'running' : waiting ? 'waiting' : state?.terminated ? 'terminated' : 'unknown',
    ...(waiting?.reason ? { waitingReason: waiting.reason } : {}),
    ...(waiting?.message ? { message: waiting.message } : {}),
    restartCount: status?.restartCount ?? 0,
  };
}

/** The heliostat view of a pod from the API's object. */
export function toPodInfo(pod: V1Pod): PodInfo {
  const meta = pod.metadata;
  const labels = meta?.labels ?? {};
  const statuses = new Map((pod.status?.containerStatuses ?? []).map((s) => [s.name, s]));
  const app = labels[APP_LABEL] ?? labels[LEGACY_APP_LABEL];
  return {
    name: meta?.name ?? '',
    namespace: meta?.namespace ?? '',
    ...(app ? { app } : {}),
    uid: meta?.uid ?? '',
    phase: pod.status?.phase ?? 'Unknown',
    ready: pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    terminating: meta?.deletionTimestamp !== undefined && meta.deletionTimestamp !== null,
    containers: (pod.spec?.containers ?? []).filter((c) => c.name !== CHARM_CONTAINER).map((c) => containerInfo(c.name, c.image ?? '', statuses.get(c.name))),
  };
}

/** Per workload container of `app`, the digests its pods run now (several during a rollout). */
export function runningDigests(pods: readonly PodInfo[], app: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const pod of pods) {
    if (pod.app !== app) continue;
    for (const c of pod.containers) {
      if (!out.has(c.name)) out.set(c.name, new Set());
      if (c.digest) out.get(c.name)?.add(c.digest);
    }
  }
  return out;
}

const short = (digest: string) => digest.slice(0, 19);

/**
 * Where a rollout of `app` to `expected` (container → digest) stands. Failed as soon as a pod on
 * the new images has a container stuck pulling, crash-looping or with an invalid image; done
 * when every pod is Ready, none is terminating, and every expected container runs its digest.
 */
export function rolloutState(pods: readonly PodInfo[], app: string, expected: Readonly<Record<string, string>>): { state: RolloutState; reason?: string } {
  const mine = pods.filter((p) => p.app === app);
  const wanted = Object.entries(expected);
  if (mine.length === 0) return { state: 'progressing', reason: `no pods of ${app}` };
  for (const pod of mine) {
    // A pod belongs to the rollout once any expected container asks for or runs the new digest.
    const onNew = wanted.some(([name, digest]) => {
      const c = pod.containers.find((x) => x.name === name);
      return c !== undefined && (c.requestedDigest === digest || c.digest === digest);
    });
    if (!onNew) continue;
    const broken = pod.containers.find((c) => c.waitingReason !== undefined && FATAL_REASONS.has(c.waitingReason));
    if (broken) {
      const detail = broken.message ? `: ${broken.message}` : '';
      return { state: 'failed', reason: `${pod.name}/${broken.name}: ${broken.waitingReason}${detail}` };
    }
  }
  for (const pod of mine) {
    if (pod.terminating) return { state: 'progressing', reason: `${pod.name} is terminating` };
    for (const [name, digest] of wanted) {
      const c = pod.containers.find((x) => x.name === name);
      if (!c) return { state: 'progressing', reason: `${pod.name} has no container ${name}` };
      if (!c.digest) return { state: 'progressing', reason: `${pod.name}/${name} is starting${c.waitingReason ? ` (${c.waitingReason})` : ''}` };
      if (c.digest !== digest) return { state: 'progressing', reason: `${pod.name}/${name} runs ${short(c.digest)}… (want ${short(digest)}…)` };
      if (!c.ready) return { state: 'progressing', reason: `${pod.name}/${name} is not ready${c.waitingReason ? ` (${c.waitingReason})` : ''}` };
    }
    if (!pod.ready) return { state: 'progressing', reason: `${pod.name} is not Ready` };
  }
  return { state: 'done' };
}
