// The Kubernetes Job builder: one Job per rock in a configured namespace. The rendered files go in
// a ConfigMap, a presigned PUT URL for one staging object in a Secret; the pod packs the rock in
// destructive mode and uploads it; the builder follows the Job, streams the pod's log into the
// rock's log file, classifies failures from the Job and pod status, and finally takes the staged
// .rock back as a local file, verified by digest, so the publish transaction is the local one.
//
// Jobs carry labels with the build id, the rock and its build key. Before creating a Job the
// builder looks for one doing the same work (same rock, same key) that is still running or
// succeeded with its upload in place, and follows that one instead: a restarted controller
// re-attaches rather than building twice. On a controller shutdown (abort reason SHUTDOWN_REASON)
// Jobs are left running for that; on a cancel they are deleted with their pods.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { setTimeout as delay } from 'node:timers/promises';
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import pLimit, { type LimitFunction } from 'p-limit';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { BuildFailure, SHUTDOWN_REASON, type BuildArtifact, type BuildJob, type Builder } from './builder.js';
import type { KubeJobApi } from './kube-job-api.js';
import { configMapFor, CONTAINER, jobFor, jobName, labelValue, ownedBy, sameWorkSelector, STAGING_ANNOTATION, uploadSecretFor, type PodSettings, type RockJobInput } from './kube-job-spec.js';
import { jobState, STUCK_WAIT, stuckFailure, type JobState } from './kube-job-status.js';
import { collectStaging, takeStagedRock } from './staged-rock.js';

/** A store the pod can upload to: it hands out presigned PUT URLs for single keys. */
export interface StagingStore extends MirrorStore {
  presignPut(key: string, expirySeconds: number): Promise<string>;
}

export interface KubeJobBuilderOptions {
  api: KubeJobApi;
  store: StagingStore;
  namespace: string;
  pod: PodSettings;
  /** Rocks built at once by this builder, across every build. */
  concurrency: number;
  /** Store prefix of the staging objects (ends with '/'). */
  stagingPrefix: string;
  /** Lifetime of the upload URL (default: the rock's timeout plus ten minutes). */
  presignExpirySeconds?: number;
  /** The builder version in build keys (default: the image reference). */
  version?: string;
  /** Time between status polls (default 2 s). */
  pollMs?: number;
  /** How long an image pull or container setup error may last before the build fails (default 60 s). */
  stuckGraceMs?: number;
  /** Staging objects older than this are deleted when the builder first builds (default 1 day). */
  stagingMaxAgeMs?: number;
}

const LOG_TAIL = 8192;
const LOG_DRAIN_MS = 5_000;

/** The Job being followed and where its upload goes. */
interface Target {
  name: string;
  stagingKey: string;
  reattached: boolean;
}

export class KubeJobBuilder implements Builder {
  readonly name = 'kubernetes';
  readonly concurrency: number;
  private readonly limit: LimitFunction;
  private gc: Promise<unknown> | undefined;

  constructor(private readonly options: KubeJobBuilderOptions) {
    this.concurrency = Math.max(1, options.concurrency);
    this.limit = pLimit(this.concurrency);
  }

  version(): Promise<string> {
    return Promise.resolve(this.options.version ?? `rockcraft in ${this.options.pod.image}`);
  }

  build(job: BuildJob): Promise<BuildArtifact> {
    this.gc ??= collectStaging(this.options.store, this.options.stagingPrefix, this.options.stagingMaxAgeMs ?? 86_400_000).catch(() => undefined);
    return this.limit(() => this.buildOne(job));
  }

  private async buildOne(job: BuildJob): Promise<BuildArtifact> {
    const started = Date.now();
    const log = createWriteStream(job.logFile);
    try {
      if (job.signal?.aborted) throw cancelled(job.signal);
      const buildId = job.buildId ?? `adhoc-${randomBytes(4).toString('hex')}`;
      const key = job.key ?? `sha256:${createHash('sha256').update(JSON.stringify(Object.entries(job.files).sort())).digest('hex')}`;
      const target = (await this.findSameWork(job.rock, key)) ?? (await this.start(job, buildId, key));
      log.write(target.reattached ? `heliostat: re-attached to Job ${this.options.namespace}/${target.name}\n` : `heliostat: started Job ${this.options.namespace}/${target.name}\n`);
      const result = await this.follow(target, job, log, started);
      const fileName = result?.file ?? `${job.rock}.rock`;
      const staged = await takeStagedRock(this.options.store, target.stagingKey, job.outputDir, fileName, result?.digest);
      await this.options.store.delete([target.stagingKey]).catch(() => undefined);
      return { rockFile: staged.rockFile, durationMs: Date.now() - started };
    } catch (error) {
      const failure = error instanceof BuildFailure ? error : new BuildFailure('infra', error instanceof Error ? error.message : String(error));
      log.write(`heliostat: ${failure.failureClass}: ${failure.message}\n`);
      throw failure;
    } finally {
      log.end();
      await finished(log).catch(() => undefined);
    }
  }

  /** A Job doing this very work that is still running, or succeeded with its upload still there. */
  private async findSameWork(rock: string, key: string): Promise<Target | undefined> {
    const jobs = (await this.options.api.listJobs(this.options.namespace, sameWorkSelector(rock, key)))
      .filter((j) => !j.metadata?.deletionTimestamp && j.metadata?.annotations?.[STAGING_ANNOTATION])
      .sort((a, b) => String(b.metadata?.creationTimestamp ?? '').localeCompare(String(a.metadata?.creationTimestamp ?? '')));
    for (const j of jobs) {
      const state = jobState(j, undefined);
      const stagingKey = j.metadata?.annotations?.[STAGING_ANNOTATION] ?? '';
      if (!stagingKey.startsWith(this.options.stagingPrefix)) continue;
      if (state.state === 'failed') continue;
      if (state.state === 'succeeded' && !(await this.options.store.stat(stagingKey))) continue;
      return { name: j.metadata?.name ?? '', stagingKey, reattached: true };
    }
    return undefined;
  }

  private async start(job: BuildJob, buildId: string, key: string): Promise<Target> {
    const { api, namespace } = this.options;
    const name = jobName(job.rock, buildId, key, randomBytes(4).readUInt32BE());
    const stagingKey = `${this.options.stagingPrefix}${labelValue(buildId)}/${name}.rock`;
    const deadlineSeconds = Math.max(1, Math.ceil(job.timeoutMs / 1000));
    const input: RockJobInput = { namespace, name, rock: job.rock, buildId, key, stagingKey, files: job.files, deadlineSeconds, pod: this.options.pod };
    try {
      configMapFor(input);
    } catch (error) {
      throw new BuildFailure('config', error instanceof Error ? error.message : String(error));
    }
    const created = await api.createJob(namespace, jobFor(input));
    // The pod waits for its ConfigMap and Secret; created after the Job, they are owned by it and
    // go when it goes (TTL or delete).
    const owner = ownedBy(created);
    try {
      const url = await this.options.store.presignPut(stagingKey, this.options.presignExpirySeconds ?? deadlineSeconds + 600);
      await api.createSecret(namespace, uploadSecretFor(input, url, owner));
      await api.createConfigMap(namespace, configMapFor(input, owner));
    } catch (error) {
      await this.remove(name);
      throw error;
    }
    return { name, stagingKey, reattached: false };
  }

  /** Follows the Job to its end; resolves with the pod's reported result when it succeeded. */
  private async follow(target: Target, job: BuildJob, log: WriteStream, started: number): Promise<{ digest: string; file: string } | undefined> {
    const { api, namespace } = this.options;
    const pollMs = this.options.pollMs ?? 2_000;
    // Kubernetes enforces activeDeadlineSeconds; this is only a backstop if the cluster never says so.
    const backstop = started + job.timeoutMs + Math.max(60_000, 3 * pollMs);
    const logs = new LogFollower(api, namespace, log);
    let stuckSince: { reason: string; at: number } | undefined;
    try {
      for (;;) {
        if (job.signal?.aborted) {
          if (job.signal.reason !== SHUTDOWN_REASON) await this.remove(target.name);
          throw cancelled(job.signal);
        }
        const current = await api.readJob(namespace, target.name);
        if (!current) throw new BuildFailure('infra', `Job ${namespace}/${target.name} was deleted while building`);
        const pod = await api.jobPod(namespace, target.name);
        if (pod?.metadata?.name && startedContainer(pod)) logs.start(pod.metadata.name);
        const state = jobState(current, pod, logs.tail);
        if (state.state === 'succeeded' || state.state === 'failed') return await this.ended(current, target, logs, state);
        if (state.state === 'pending' && state.reason && STUCK_WAIT.has(state.reason)) {
          if (stuckSince?.reason !== state.reason) stuckSince = { reason: state.reason, at: Date.now() };
          if (Date.now() - stuckSince.at >= (this.options.stuckGraceMs ?? 60_000)) {
            await this.remove(target.name);
            const f = stuckFailure(state.reason, pod);
            throw new BuildFailure(f.failureClass, f.message);
          }
        } else {
          stuckSince = undefined;
        }
        if (Date.now() > backstop) {
          await this.remove(target.name);
          throw new BuildFailure('timeout', `timed out after ${job.timeoutMs} ms (the cluster never ended Job ${target.name})`);
        }
        await pause(pollMs, job.signal);
      }
    } finally {
      logs.stop();
    }
  }

  private async ended(current: V1Job, target: Target, logs: LogFollower, state: JobState): Promise<{ digest: string; file: string } | undefined> {
    // The log's last lines decide a config failure from a build one: let it finish first.
    await logs.drain(LOG_DRAIN_MS);
    const pod = await this.options.api.jobPod(this.options.namespace, target.name).catch(() => undefined);
    const final = jobState(current, pod, logs.tail);
    const decided = final.state === state.state ? final : state;
    if (decided.state === 'succeeded') return decided.result;
    if (decided.state === 'failed') throw new BuildFailure(decided.failureClass, decided.message);
    return undefined;
  }

  /** Deletes a Job with its pods (and, as their owner, its ConfigMap and Secret). */
  private async remove(name: string): Promise<void> {
    const { api, namespace } = this.options;
    await api.deleteJob(namespace, name).catch(() => undefined);
    // Owner references make this redundant on a real cluster; without a garbage collector
    // (or when the owner reference was never set) these would stay behind.
    await api.deleteSecret(namespace, name).catch(() => undefined);
    await api.deleteConfigMap(namespace, name).catch(() => undefined);
  }
}

/** Streams one pod's log into the rock's log file, keeping its tail for failure classification. */
class LogFollower {
  tail = '';
  private pod: string | undefined;
  private done: Promise<void> = Promise.resolve();
  private stopStream: (() => void) | undefined;

  constructor(
    private readonly api: KubeJobApi,
    private readonly namespace: string,
    private readonly log: WriteStream,
  ) {}

  start(pod: string): void {
    if (this.pod === pod) return;
    this.pod = pod;
    this.done = this.api.followLog(this.namespace, pod, CONTAINER).then(
      ({ stream, stop }) => {
        this.stopStream = stop;
        stream.on('data', (chunk: Buffer) => {
          this.log.write(chunk);
          this.tail = (this.tail + chunk.toString('utf8')).slice(-LOG_TAIL);
        });
        return finished(stream).catch(() => undefined);
      },
      (error: unknown) => {
        // The log is for people; a build is never failed because it could not be read.
        this.log.write(`heliostat: cannot read the pod's log: ${error instanceof Error ? error.message : String(error)}\n`);
      },
    );
  }

  async drain(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.done, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  stop(): void {
    this.stopStream?.();
  }
}

function startedContainer(pod: V1Pod): boolean {
  const state = pod.status?.containerStatuses?.[0]?.state;
  return Boolean(state?.running || state?.terminated);
}

function cancelled(signal: AbortSignal): BuildFailure {
  return new BuildFailure('cancelled', signal.reason === SHUTDOWN_REASON ? 'the controller stopped; the Job was left running to be re-attached' : 'cancelled');
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  await delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);
}
