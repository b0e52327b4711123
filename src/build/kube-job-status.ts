// Where a rock's Job stands, read from the Job's conditions and its pod's container status the way
// Kubernetes reports them. Pure: the builder polls the API and asks this what the answer means.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { FailureClass } from './builder.js';
import { CONTAINER, UPLOAD_FAILED_EXIT } from './kube-job-spec.js';
import { classify } from './rockcraft-builder.js';

export type JobState =
  | { state: 'pending'; reason?: string }
  | { state: 'running' }
  | { state: 'succeeded'; result?: { digest: string; file: string } }
  | { state: 'failed'; failureClass: FailureClass; message: string };

/** Waiting reasons that mean the image cannot be pulled (as the kubelet names them). */
const IMAGE_PULL = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'RegistryUnavailable']);
/** Waiting reasons that mean the pod is set up wrong (missing ConfigMap/Secret key, bad spec). */
const CONFIG_WAIT = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);
/** Waiting reasons that may clear up on their own but fail the build if they persist. */
export const STUCK_WAIT = new Set([...IMAGE_PULL, ...CONFIG_WAIT]);

function condition(job: V1Job, type: string) {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

function container(pod: V1Pod | undefined) {
  return pod?.status?.containerStatuses?.find((c) => c.name === CONTAINER) ?? pod?.status?.containerStatuses?.[0];
}

/** Parses the termination message `sha256:<hex> <file>` the pod script writes. */
export function parseResult(message: string | undefined): { digest: string; file: string } | undefined {
  const m = /^(sha256:[0-9a-f]{64}) ([^\s/]+\.rock)\s*$/.exec(message ?? '');
  return m ? { digest: m[1]!, file: m[2]! } : undefined;
}

/**
 * The state of a rock's Job. `logTail` (the end of the pod's log) refines a non-zero exit into a
 * config or infra failure the way the local builder does.
 */
export function jobState(job: V1Job, pod: V1Pod | undefined, logTail = ''): JobState {
  const c = container(pod);
  const terminated = c?.state?.terminated ?? c?.lastState?.terminated;
  if (condition(job, 'Complete') || (job.status?.succeeded ?? 0) > 0) {
    return { state: 'succeeded', ...(parseResult(terminated?.message) ? { result: parseResult(terminated?.message)! } : {}) };
  }
  const failed = condition(job, 'Failed');
  if (failed?.reason === 'DeadlineExceeded') return { state: 'failed', failureClass: 'timeout', message: `the Job ran past its deadline of ${job.spec?.activeDeadlineSeconds ?? '?'} s` };
  if (terminated?.reason === 'OOMKilled') return { state: 'failed', failureClass: 'oom', message: `the build ran out of memory (OOMKilled${limitOf(pod)})` };
  if (terminated && terminated.exitCode !== 0) {
    if (terminated.exitCode === UPLOAD_FAILED_EXIT) return { state: 'failed', failureClass: 'infra', message: 'the pod could not upload the .rock to the staging object' };
    return { state: 'failed', failureClass: classify(logTail), message: `rockcraft pack exited ${terminated.exitCode}${lastLine(logTail)}` };
  }
  if (failed) return { state: 'failed', failureClass: 'infra', message: `the Job failed: ${failed.reason ?? 'unknown reason'}${failed.message ? ` (${failed.message})` : ''}` };
  const waiting = c?.state?.waiting;
  if (waiting?.reason && IMAGE_PULL.has(waiting.reason)) return { state: 'pending', reason: waiting.reason };
  if (waiting?.reason && CONFIG_WAIT.has(waiting.reason)) return { state: 'pending', reason: waiting.reason };
  if (c?.state?.running) return { state: 'running' };
  return { state: 'pending', ...(waiting?.reason ? { reason: waiting.reason } : {}) };
}

/** The failure a waiting reason becomes once it has lasted too long. */
export function stuckFailure(reason: string, pod: V1Pod | undefined): { failureClass: FailureClass; message: string } {
  const detail = container(pod)?.state?.waiting?.message;
  const image = pod?.spec?.containers?.[0]?.image;
  if (IMAGE_PULL.has(reason)) return { failureClass: 'image-pull', message: `cannot pull the builder image${image ? ` ${image}` : ''}: ${reason}${detail ? ` (${detail})` : ''}` };
  return { failureClass: 'infra', message: `the build pod cannot start: ${reason}${detail ? ` (${detail})` : ''}` };
}

function limitOf(pod: V1Pod | undefined): string {
  const limit = pod?.spec?.containers?.[0]?.resources?.limits?.memory;
  return limit ? `, memory limit ${limit}` : '';
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const line = lines[lines.length - 1];
  return line ? `: ${line.slice(0, 300)}` : '';
}
