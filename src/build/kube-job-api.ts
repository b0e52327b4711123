// The few Kubernetes calls the Job builder makes (Jobs, their pods, ConfigMaps, Secrets, pod
// logs), over @kubernetes/client-node. Every failure becomes a KubeError whose message never
// carries the kubeconfig's token; transient answers (5xx, 429, a dropped connection) are retried
// a few times, since a build that runs for an hour should not fail on one lost poll.
import { PassThrough, type Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { BatchV1Api, CoreV1Api, KubeConfig, Log, type V1ConfigMap, type V1Job, type V1Pod, type V1Secret } from '@kubernetes/client-node';
import { classifyKubeFailure, KubeError } from '../deploy/kube-errors.js';

export interface KubeJobApiOptions {
  /** Kubeconfig context to use (default: its current context). */
  context?: string;
  /** Extra attempts after a transient failure (default 3). */
  retries?: number;
  backoffMs?: number;
}

export class KubeJobApi {
  private readonly batch: BatchV1Api;
  private readonly core: CoreV1Api;
  private readonly logs: Log;
  private readonly secrets: (string | undefined)[];

  constructor(
    kc: KubeConfig,
    private readonly options: KubeJobApiOptions = {},
  ) {
    if (options.context !== undefined) {
      if (!kc.getContextObject(options.context)) throw new KubeError('invalid', `no context "${options.context}" in the kubeconfig`);
      kc.setCurrentContext(options.context);
    }
    const user = kc.getCurrentUser();
    this.secrets = [user?.token, user?.password, user?.keyData];
    this.batch = kc.makeApiClient(BatchV1Api);
    this.core = kc.makeApiClient(CoreV1Api);
    this.logs = new Log(kc);
  }

  static fromKubeconfig(path: string, options: KubeJobApiOptions = {}): KubeJobApi {
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(path);
    } catch (err) {
      // Parser errors quote the document (which holds the token): keep the first line only.
      const code = (err as { code?: unknown }).code;
      throw new KubeError('invalid', `cannot read kubeconfig ${path}: ${typeof code === 'string' ? code : String((err as Error).message).split('\n')[0]}`);
    }
    return new KubeJobApi(kc, options);
  }

  createJob(namespace: string, body: V1Job): Promise<V1Job> {
    return this.call(`create Job ${body.metadata?.name ?? ''} in "${namespace}"`, () => this.batch.createNamespacedJob({ namespace, body }));
  }

  createConfigMap(namespace: string, body: V1ConfigMap): Promise<V1ConfigMap> {
    return this.call(`create ConfigMap ${body.metadata?.name ?? ''} in "${namespace}"`, () => this.core.createNamespacedConfigMap({ namespace, body }));
  }

  createSecret(namespace: string, body: V1Secret): Promise<V1Secret> {
    return this.call(`create Secret ${body.metadata?.name ?? ''} in "${namespace}"`, () => this.core.createNamespacedSecret({ namespace, body }));
  }

  async listJobs(namespace: string, labelSelector: string): Promise<V1Job[]> {
    return (await this.call(`list Jobs in "${namespace}"`, () => this.batch.listNamespacedJob({ namespace, labelSelector }))).items;
  }

  /** The Job, or undefined once it is gone. */
  readJob(namespace: string, name: string): Promise<V1Job | undefined> {
    return this.orMissing(this.call(`read Job ${name} in "${namespace}"`, () => this.batch.readNamespacedJob({ namespace, name })));
  }

  /** The Job's newest pod (by creation), if any. */
  async jobPod(namespace: string, job: string): Promise<V1Pod | undefined> {
    const list = await this.call(`list pods of Job ${job} in "${namespace}"`, () => this.core.listNamespacedPod({ namespace, labelSelector: `job-name=${job}` }));
    return list.items.sort((a, b) => String(a.metadata?.creationTimestamp ?? '').localeCompare(String(b.metadata?.creationTimestamp ?? ''))).at(-1);
  }

  /** Deletes the Job and, in the background, its pods (and what it owns: ConfigMap, Secret). */
  async deleteJob(namespace: string, name: string): Promise<void> {
    await this.orMissing(this.call(`delete Job ${name} in "${namespace}"`, () => this.batch.deleteNamespacedJob({ namespace, name, propagationPolicy: 'Background' })));
  }

  async deleteConfigMap(namespace: string, name: string): Promise<void> {
    await this.orMissing(this.call(`delete ConfigMap ${name} in "${namespace}"`, () => this.core.deleteNamespacedConfigMap({ namespace, name })));
  }

  async deleteSecret(namespace: string, name: string): Promise<void> {
    await this.orMissing(this.call(`delete Secret ${name} in "${namespace}"`, () => this.core.deleteNamespacedSecret({ namespace, name })));
  }

  /** Follows the container's log from its start; the stream ends when the container does. */
  async followLog(namespace: string, pod: string, container: string): Promise<{ stream: Readable; stop: () => void }> {
    const stream = new PassThrough();
    try {
      const abort = await this.logs.log(namespace, pod, container, stream, { follow: true });
      return { stream, stop: () => abort.abort() };
    } catch (err) {
      throw classifyKubeFailure(err, `read the log of pod ${pod} in "${namespace}"`, { secrets: this.secrets });
    }
  }

  private async orMissing<T>(call: Promise<T>): Promise<T | undefined> {
    try {
      return await call;
    } catch (err) {
      if (err instanceof KubeError && err.kind === 'not-found') return undefined;
      throw err;
    }
  }

  private async call<T>(what: string, run: () => Promise<T>): Promise<T> {
    let backoff = this.options.backoffMs ?? 500;
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        const error = classifyKubeFailure(err, what, { secrets: this.secrets });
        error.attempts = attempt;
        if (!error.retryable || attempt > (this.options.retries ?? 3)) throw error;
        await delay(backoff);
        backoff = Math.min(backoff * 2, 5_000);
      }
    }
  }
}
