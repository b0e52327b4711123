// The Kubernetes adapter: what the pods of a Juju model really run. One pod list per call (the
// reconcile makes exactly one), each request bounded by a timeout that aborts the connection,
// transient answers (5xx, 429, a dropped connection) retried with backoff, and every failure a
// KubeError whose message never carries the kubeconfig's token. `waitForRollout` polls the list
// until the application runs the expected digests, fails, or the deadline passes.
import { setTimeout as delay } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, Observable, type ConfigurationOptions, type ObservableMiddleware } from '@kubernetes/client-node';
import { classifyKubeFailure, KubeError, redact } from './kube-errors.js';
import { rolloutState, toPodInfo, type PodInfo } from './kube-pods.js';

export { KubeError, type KubeErrorKind } from './kube-errors.js';
export {
  APP_LABEL,
  FATAL_REASONS,
  parseImageDigest,
  pinnedDigest,
  rolloutState,
  runningDigests,
  toPodInfo,
  type ContainerInfo,
  type PodInfo,
  type RolloutState,
} from './kube-pods.js';

/** Sunbeam runs OpenStack in Juju model `openstack`, and Juju maps a model to a namespace. */
export const DEFAULT_NAMESPACE = 'openstack';

export interface KubeClientOptions {
  /** Context to use (default: the kubeconfig's current context). */
  context?: string;
  /** Namespace for calls that name none (default: the context's namespace, else `openstack`). */
  namespace?: string;
  /** Per request; the connection is aborted when it runs out. */
  timeoutMs: number;
  /** Extra attempts after a transient failure (default 2). */
  retries?: number;
  /** First backoff delay, doubled per retry up to maxBackoffMs (default 500 ms, max 5 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface CallOptions {
  /** Cancels the call (and its retries). */
  signal?: AbortSignal;
}

export interface RolloutOptions {
  timeoutMs: number;
  /** Time between pod lists (default 1 s). */
  pollMs?: number;
  signal?: AbortSignal;
  /** Called with each intermediate state, for progress reporting. */
  onPoll?: (state: { state: 'progressing'; reason?: string; pods: PodInfo[] }) => void;
}

export type RolloutOutcome =
  | { state: 'done'; pods: PodInfo[]; polls: number }
  | { state: 'failed'; reason: string; pods: PodInfo[]; polls: number }
  | { state: 'timeout'; reason: string; pods: PodInfo[]; polls: number };

/** Waits `ms`; a cancellation rejects with the caller's abort reason, as the API calls do. */
async function pause(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, signal ? { signal } : {});
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}

/** Per-call options that make the request use `signal` (so a timeout closes the connection). */
function signalOption(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (context) => new Observable(Promise.resolve(context)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

function loadKubeconfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(path);
  } catch (err) {
    // Parser errors quote the document (which holds the token): keep the first line only.
    const code = (err as { code?: unknown }).code;
    const text = typeof code === 'string' ? code : ((err as Error).message ?? String(err)).split('\n')[0];
    throw new KubeError('invalid', `cannot read kubeconfig ${path}: ${text}`);
  }
  return kc;
}

export class KubeClient {
  readonly namespace: string;
  private readonly api: CoreV1Api;
  private readonly secrets: (string | undefined)[];
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(
    kc: KubeConfig,
    private readonly options: KubeClientOptions,
  ) {
    if (options.context !== undefined) {
      if (!kc.getContextObject(options.context)) throw new KubeError('invalid', `no context "${options.context}" in the kubeconfig`);
      kc.setCurrentContext(options.context);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new KubeError('invalid', `kubeconfig context "${kc.getCurrentContext()}" names no cluster`);
    // The client only refuses plain HTTP when the first request is made; say it up front.
    if (cluster.server.startsWith('http:') && !cluster.skipTLSVerify) {
      throw new KubeError('invalid', `cluster "${cluster.name}" uses plain HTTP (${cluster.server}) without insecure-skip-tls-verify`);
    }
    const user = kc.getCurrentUser();
    this.secrets = [user?.token, user?.password, user?.keyData];
    this.namespace = options.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? DEFAULT_NAMESPACE;
    this.api = kc.makeApiClient(CoreV1Api);
    this.timeoutMs = options.timeoutMs;
    this.retries = Math.max(0, options.retries ?? 2);
    this.sleep = options.sleep ?? pause;
  }

  static fromKubeconfig(path: string, options: KubeClientOptions): KubeClient {
    return new KubeClient(loadKubeconfig(path), options);
  }

  /** Every pod of the namespace (one list request, retried only on transient failures). */
  async listPods(namespace: string = this.namespace, call: CallOptions = {}): Promise<PodInfo[]> {
    const list = await this.request(`list pods in namespace "${namespace}"`, call.signal, (signal) => this.api.listNamespacedPod({ namespace }, signalOption(signal)));
    return list.items.map(toPodInfo);
  }

  private async request<T>(what: string, outer: AbortSignal | undefined, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
    let backoff = this.options.backoffMs ?? 500;
    for (let attempt = 1; ; attempt++) {
      outer?.throwIfAborted();
      const timeout = AbortSignal.timeout(this.timeoutMs);
      const signal = outer ? AbortSignal.any([outer, timeout]) : timeout;
      let error: KubeError;
      try {
        return await run(signal);
      } catch (err) {
        if (outer?.aborted) throw outer.reason;
        error = classifyKubeFailure(err, what, { timedOut: timeout.aborted, timeoutMs: this.timeoutMs, secrets: this.secrets });
      }
      error.attempts = attempt;
      if (!error.retryable || attempt > this.retries) throw error;
      await this.sleep(backoff, outer);
      backoff = Math.min(backoff * 2, this.options.maxBackoffMs ?? 5_000);
    }
  }

  /** Removes the kubeconfig's secrets from a text (for callers that log API answers). */
  redact(text: string): string {
    return redact(text, this.secrets);
  }
}

/**
 * Polls the pods of `app` until its workload containers run `expected` (container → digest) and
 * are Ready (done), a container is stuck (failed), or `timeoutMs` passes (timeout). API trouble
 * while waiting (unreachable, 5xx, timeouts) counts as "not there yet"; a forbidden or missing
 * resource ends the wait with that error, since waiting will not fix it.
 */
export async function waitForRollout(client: KubeClient, namespace: string, app: string, expected: Readonly<Record<string, string>>, options: RolloutOptions): Promise<RolloutOutcome> {
  const deadline = Date.now() + options.timeoutMs;
  const pollMs = options.pollMs ?? 1_000;
  let polls = 0;
  let pods: PodInfo[] = [];
  let reason = 'no answer from the Kubernetes API yet';
  for (;;) {
    options.signal?.throwIfAborted();
    const left = deadline - Date.now();
    if (left <= 0) return { state: 'timeout', reason: `${app} not rolled out after ${options.timeoutMs} ms: ${reason}`, pods, polls };
    // A list must not outlive the overall deadline, whatever the client's own timeout is.
    const bound = AbortSignal.timeout(left);
    const signal = options.signal ? AbortSignal.any([options.signal, bound]) : bound;
    polls++;
    try {
      pods = await client.listPods(namespace, { signal });
      const state = rolloutState(pods, app, expected);
      if (state.state === 'done') return { state: 'done', pods, polls };
      if (state.state === 'failed') return { state: 'failed', reason: state.reason ?? 'failed', pods, polls };
      reason = state.reason ?? 'progressing';
      options.onPoll?.({ state: 'progressing', ...(state.reason ? { reason: state.reason } : {}), pods });
    } catch (err) {
      options.signal?.throwIfAborted();
      if (bound.aborted) continue; // the deadline check above reports it
      if (!(err instanceof KubeError) || err.kind === 'forbidden' || err.kind === 'not-found' || err.kind === 'invalid') throw err;
      reason = err.message;
    }
    const wait = Math.min(pollMs, deadline - Date.now());
    if (wait > 0) await pause(wait, options.signal);
  }
}
