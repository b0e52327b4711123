// The Kubernetes Job builder against the Kubernetes API stand-in, whose Job pods run the rockcraft
// stand-in and PUT the .rock to the real RGW through the presigned URL: a build end to end, every
// failure class, cancellation, re-attaching after a restart, the concurrency bound, and no store
// credential anywhere Kubernetes or a log could show it.
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { BuildFailure, SHUTDOWN_REASON, type BuildJob } from '../../src/build/builder.js';
import { LABELS, STAGING_ANNOTATION } from '../../src/build/kube-job-spec.js';
import { readOciArchive } from '../../src/build/oci-archive.js';
import { runBuilds } from '../../src/build/runner.js';
import { collectStaging } from '../../src/build/staged-rock.js';
import { BUILD_NAMESPACE, jobBuilderFixture, POD_SETTINGS, type JobBuilderFixture } from '../fixtures/kube/job-builder.js';
import type { JobTimeline } from '../fixtures/kube/jobs.js';
import { STANDIN_ENV } from '../fixtures/rockcraft/standin.js';
import { RGW_SKIP_REASON } from '../setup/rgw.js';

const rgw = inject('rgw');

/** A minimal rock the rockcraft stand-in packs (it installs `sudo` from the versions file). */
const yaml = (name: string) =>
  stringify({ name, summary: 'test', description: 'test', license: 'Apache-2.0', version: '2024.1', base: 'ubuntu@24.04', platforms: { amd64: null }, parts: { [name]: { plugin: 'nil', 'overlay-packages': ['sudo'] } } });

let dir: string;
let f: JobBuilderFixture;
const podEnv: Record<string, string> = {};

const job = (rock: string, extra: Partial<BuildJob> = {}): BuildJob => ({
  rock,
  files: { 'rockcraft.yaml': yaml(rock), 'workaround.sh': 'echo ok\n' },
  logFile: join(dir, `${rock}.log`),
  outputDir: join(dir, 'out'),
  timeoutMs: 20_000,
  buildId: 'job-1',
  key: `sha256:${rock.padEnd(64, '0').replace(/[^0-9a-f]/g, 'a').slice(0, 64)}`,
  ...extra,
});

const creates = (kind = 'jobs') => f.kube.server.requests.filter((r) => r.method === 'POST' && r.path.endsWith(`/${kind}`)).length;

async function failureOf(promise: Promise<unknown>): Promise<BuildFailure> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(BuildFailure);
  return error as BuildFailure;
}

async function until<T>(probe: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const stagingKeys = async () => {
  const keys: string[] = [];
  for await (const o of f.store.list('meta/staging/')) keys.push(o.key);
  return keys;
};

describe.skipIf(!rgw)(`the Kubernetes Job builder${rgw ? '' : ` (${RGW_SKIP_REASON})`}`, () => {
  beforeAll(async () => {
    if (!rgw) return;
    dir = await mkdtemp(join(tmpdir(), 'heliostat-kube-builder-'));
    await writeFile(join(dir, 'apt.json'), JSON.stringify({ sudo: '1.9.15p5-3ubuntu5' }));
    podEnv[STANDIN_ENV.aptVersions] = join(dir, 'apt.json');
    f = await jobBuilderFixture(rgw, podEnv);
  }, 60_000);

  afterAll(async () => {
    if (!rgw) return;
    await f.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    for (const k of [STANDIN_ENV.fail, STANDIN_ENV.sleepMs]) delete podEnv[k];
    f.kube.server.jobs.faults.badImages.clear();
    f.kube.server.jobs.faults.oom.clear();
  });

  it('builds a rock in a Job, streams its log and hands back the verified .rock', async () => {
    const before = creates();
    const artifact = await f.builder().build(job('keystone'));
    expect(artifact.rockFile).toBe(join(dir, 'out', 'keystone_2024.1_amd64.rock'));
    const info = await readOciArchive(artifact.rockFile);
    const log = await readFile(join(dir, 'keystone.log'), 'utf8');
    expect(log).toContain('Packed keystone_2024.1_amd64.rock');
    expect(log).toContain(`heliostat-rock: ${info.archiveDigest} keystone_2024.1_amd64.rock`);
    expect(creates() - before).toBe(1);
    expect(await stagingKeys()).toEqual([]);

    const sent = f.kube.server.jobs.received.filter((o) => o.kind === 'Job').at(-1) as { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: Record<string, unknown> & { template: { spec: Record<string, unknown> & { containers: Array<Record<string, unknown>> } } } };
    expect(sent.metadata.labels).toMatchObject({ [LABELS.buildId]: 'job-1', [LABELS.rock]: 'keystone', [LABELS.key]: job('keystone').key!.slice(7, 70) });
    expect(sent.metadata.annotations[STAGING_ANNOTATION]).toMatch(/^meta\/staging\/job-1\/heliostat-keystone-[0-9a-f]{10}\.rock$/);
    expect(sent.spec).toMatchObject({ activeDeadlineSeconds: 20, ttlSecondsAfterFinished: 600, backoffLimit: 0 });
    const pod = sent.spec.template.spec;
    expect(pod.nodeSelector).toEqual({ 'heliostat.io/builder': 'true' });
    expect(pod.containers[0]).toMatchObject({ image: 'registry.example/rockcraft:1.13', resources: { limits: { memory: '4Gi' } }, securityContext: { privileged: true } });
    expect(JSON.stringify(pod.containers[0]?.command)).toContain('--destructive-mode');
    const configMap = f.kube.server.jobs.received.filter((o) => o.kind === 'ConfigMap').at(-1) as { data: Record<string, string> };
    expect(configMap.data).toEqual(job('keystone').files);
  });

  it('never shows the store credentials to Kubernetes or in a log', async () => {
    await f.builder().build(job('glance'));
    const secretKey = rgw!.secretKey;
    const accessKey = rgw!.accessKey;
    const received = f.kube.server.jobs.received;
    expect(received.length).toBeGreaterThan(0);
    for (const object of [...received, ...f.kube.server.jobs.pods(), ...f.kube.server.jobs.list()]) {
      const text = JSON.stringify(object);
      expect(text).not.toContain(secretKey);
      // A presigned URL names the access key id (SigV4's X-Amz-Credential); it lives only in the Secret.
      if (object.kind !== 'Secret') expect(text, String(object.kind)).not.toContain(accessKey);
    }
    const secret = received.find((o) => o.kind === 'Secret') as { stringData: Record<string, string> };
    expect(Object.keys(secret.stringData)).toEqual(['upload-url']);
    expect(secret.stringData['upload-url']).toMatch(/X-Amz-Expires=\d+/);
    for (const file of (await readdir(dir)).filter((n) => n.endsWith('.log'))) {
      const log = await readFile(join(dir, file), 'utf8');
      expect(log).not.toContain(secretKey);
      expect(log).not.toContain(accessKey);
    }
  });

  it('reports a failing pack as a build failure with the log kept', async () => {
    podEnv[STANDIN_ENV.fail] = 'nova-api';
    const failure = await failureOf(f.builder().build(job('nova-api')));
    expect(failure.failureClass).toBe('build');
    expect(failure.message).toMatch(/rockcraft pack exited 1/);
    expect(await readFile(join(dir, 'nova-api.log'), 'utf8')).toMatch(/heliostat: build: rockcraft pack exited 1/);
  });

  it('reports an invalid rockcraft.yaml as a config failure', async () => {
    const failure = await failureOf(f.builder().build(job('broken', { files: { 'rockcraft.yaml': 'name: broken\nbase: ubuntu@24.04\n' } })));
    expect(failure.failureClass).toBe('config');
  });

  it('reports an image that cannot be pulled, and deletes its Job', async () => {
    f.kube.server.jobs.faults.badImages.add('bad/image');
    const builder = f.builder({ pod: { ...POD_SETTINGS, image: 'bad/image' } });
    const failure = await failureOf(builder.build(job('cinder-api')));
    expect(failure.failureClass).toBe('image-pull');
    expect(failure.message).toContain('bad/image');
    expect(f.kube.server.jobs.list(BUILD_NAMESPACE).filter((j) => (j.metadata as { labels: Record<string, string> }).labels[LABELS.rock] === 'cinder-api')).toEqual([]);
  });

  it('reports an OOM-killed pod as oom', async () => {
    podEnv[STANDIN_ENV.sleepMs] = '5000';
    f.kube.server.jobs.faults.oom.set('heat-api', 100);
    const failure = await failureOf(f.builder().build(job('heat-api')));
    expect(failure.failureClass).toBe('oom');
    expect(failure.message).toContain('memory limit 4Gi');
  });

  it('reports a Job past its activeDeadlineSeconds as a timeout', async () => {
    podEnv[STANDIN_ENV.sleepMs] = '10000';
    const failure = await failureOf(f.builder().build(job('placement-api', { timeoutMs: 1000 })));
    expect(failure.failureClass).toBe('timeout');
    expect(failure.message).toContain('deadline of 1 s');
  });

  it('deletes the Job with its pods on cancel', async () => {
    podEnv[STANDIN_ENV.sleepMs] = '10000';
    const abort = new AbortController();
    const building = f.builder().build(job('neutron-server', { signal: abort.signal }));
    await until(() => f.kube.server.jobs.pods(BUILD_NAMESPACE).find((p) => JSON.stringify(p).includes('neutron-server') && JSON.stringify(p).includes('"running"')), 'the pod to run');
    abort.abort();
    const failure = await failureOf(building);
    expect(failure.failureClass).toBe('cancelled');
    const deleted = f.kube.server.jobs.deletes.find((d) => d.kind === 'Job' && d.name.startsWith('heliostat-neutron-server-'));
    expect(deleted?.propagationPolicy).toBe('Background');
    expect(f.kube.server.jobs.list(BUILD_NAMESPACE).some((j) => JSON.stringify(j.metadata).includes('neutron-server'))).toBe(false);
  });

  it('re-attaches to the running Job of the same work after a restart instead of starting another', async () => {
    podEnv[STANDIN_ENV.sleepMs] = '1500';
    const before = creates();
    const stopping = new AbortController();
    const first = f.builder().build(job('octavia-api', { signal: stopping.signal, buildId: 'job-7' }));
    await until(() => f.kube.server.jobs.pods(BUILD_NAMESPACE).find((p) => JSON.stringify(p).includes('octavia-api')), 'the pod');
    stopping.abort(SHUTDOWN_REASON);
    expect((await failureOf(first)).failureClass).toBe('cancelled');
    // The controller is gone; its Job is not.
    expect(f.kube.server.jobs.list(BUILD_NAMESPACE).some((j) => JSON.stringify(j.metadata).includes('octavia-api'))).toBe(true);

    const artifact = await f.builder().build(job('octavia-api', { buildId: 'job-8' }));
    await readOciArchive(artifact.rockFile);
    expect(creates() - before).toBe(1);
    expect(await readFile(join(dir, 'octavia-api.log'), 'utf8')).toMatch(/re-attached to Job heliostat-builds\/heliostat-octavia-api-/);
  });

  it('collects staging leftovers by age only', async () => {
    await f.store.put('meta/staging/old-build/leftover.rock', 'x');
    expect(await collectStaging(f.store, 'meta/staging/', 60_000)).toBe(0);
    expect(await collectStaging(f.store, 'meta/staging/', 60_000, new Date(Date.now() + 120_000))).toBe(1);
    expect(await stagingKeys()).toEqual([]);
  });

  it('runs 8 rocks at concurrency 4 in two rounds', async () => {
    podEnv[STANDIN_ENV.sleepMs] = '600';
    const rocks = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8'];
    const builder = f.builder({ concurrency: 4 });
    const results = await runBuilds(
      rocks.map((rock) => ({ rock, files: job(rock).files, logFile: join(dir, `${rock}.log`), key: job(rock).key! })),
      builder,
      { jobs: 1, timeoutMs: 20_000, outputDir: join(dir, 'rounds'), buildId: 'job-rounds' },
    );
    expect(results.map((r) => r.outcome)).toEqual(rocks.map(() => 'built'));
    const timeline = f.kube.server.jobs.timeline.filter((t) => rocks.includes(t.rock ?? ''));
    expect(timeline).toHaveLength(8);
    expect(maxOverlap(timeline)).toBe(4);
    expect(rounds(timeline)).toBe(2);
  });
});

/** Most Jobs alive (created, not finished) at one instant, from the server's timestamps. */
function maxOverlap(timeline: readonly JobTimeline[]): number {
  const events = timeline.flatMap((t) => [{ at: t.created, d: 1 }, { at: t.finished ?? Infinity, d: -1 }]).sort((a, b) => a.at - b.at || a.d - b.d);
  let live = 0;
  let max = 0;
  for (const e of events) max = Math.max(max, (live += e.d));
  return max;
}

/** A Job's round is one more than the latest round that had finished before it was created. */
function rounds(timeline: readonly JobTimeline[]): number {
  const round = new Map<JobTimeline, number>();
  for (const t of [...timeline].sort((a, b) => a.created - b.created)) {
    const before = timeline.filter((o) => o.finished !== undefined && o.finished <= t.created).map((o) => round.get(o) ?? 1);
    round.set(t, 1 + Math.max(0, ...before));
  }
  return Math.max(...round.values());
}
