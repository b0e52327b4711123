// The pure parts of the Kubernetes Job builder: the objects it sends, the reading of Job and pod
// status into failure classes, and the configuration that selects it.
import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { configMapFor, jobFor, jobName, keyLabel, labelValue, sameWorkSelector, uploadSecretFor, type RockJobInput } from '../../src/build/kube-job-spec.js';
import { jobState, parseResult, stuckFailure } from '../../src/build/kube-job-status.js';
import { resolveControllerConfig } from '../../src/controller/config.js';
import { POD_SETTINGS } from '../fixtures/kube/job-builder.js';

const KEY = `sha256:${'ab'.repeat(32)}`;
const input: RockJobInput = {
  namespace: 'builds',
  name: jobName('nova-api', 'job-1', KEY),
  rock: 'nova-api',
  buildId: 'job-1',
  key: KEY,
  stagingKey: 'meta/staging/job-1/x.rock',
  files: { 'rockcraft.yaml': 'name: nova-api\n' },
  deadlineSeconds: 3600,
  pod: POD_SETTINGS,
};

const job = (status: V1Job['status'] = {}): V1Job => ({ ...jobFor(input), status });
const pod = (state: NonNullable<NonNullable<V1Pod['status']>['containerStatuses']>[number]['state']): V1Pod => ({
  spec: jobFor(input).spec!.template.spec!,
  status: { containerStatuses: [{ name: 'rockcraft', image: POD_SETTINGS.image, imageID: '', ready: false, restartCount: 0, state }] },
});
const failed = (reason: string) => ({ failed: 1, conditions: [{ type: 'Failed', status: 'True', reason }] });
const DIGEST = `sha256:${'1'.repeat(64)}`;

describe('Job objects', () => {
  it('names and labels a Job within Kubernetes limits', () => {
    const name = jobName('a-very-long-rock-name-that-goes-on-and-on-and-on-forever', 'job', KEY, 7);
    expect(name.length).toBeLessThanOrEqual(63);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(jobName('x', 'job', KEY, 1)).not.toBe(jobName('x', 'job', KEY, 2));
    expect(keyLabel(KEY)).toHaveLength(63);
    expect(labelValue('-Weird_Build Id-')).toBe('weird_build-id');
    expect(sameWorkSelector('nova-api', KEY)).toBe(`app.kubernetes.io/managed-by=heliostat,heliostat.io/rock=nova-api,heliostat.io/key=${'ab'.repeat(32).slice(0, 63)}`);
  });

  it('keeps the upload URL in the Secret only', () => {
    const url = 'http://s3.example/bucket/key?X-Amz-Credential=AKIA&X-Amz-Signature=abc';
    const objects = [jobFor(input), configMapFor(input)];
    for (const o of objects) expect(JSON.stringify(o)).not.toContain('X-Amz');
    expect(uploadSecretFor(input, url).stringData).toEqual({ 'upload-url': url });
    const env = jobFor(input).spec?.template.spec?.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === 'HELIOSTAT_UPLOAD_URL')?.valueFrom?.secretKeyRef).toEqual({ name: input.name, key: 'upload-url' });
  });

  it('leaves out what is not configured and refuses file names a ConfigMap cannot hold', () => {
    const plain = jobFor({ ...input, pod: { ...POD_SETTINGS, nodeSelector: {}, privileged: false } });
    expect(plain.spec?.template.spec?.nodeSelector).toBeUndefined();
    expect(plain.spec?.template.spec?.serviceAccountName).toBeUndefined();
    expect(plain.spec?.template.spec?.containers[0]?.securityContext).toEqual({ runAsUser: 0 });
    expect(() => configMapFor({ ...input, files: { 'sub/dir.txt': 'x' } })).toThrow(/cannot be a ConfigMap key/);
  });
});

describe('Job status', () => {
  it('reads success and the reported digest', () => {
    const done = pod({ terminated: { exitCode: 0, reason: 'Completed', message: `${DIGEST} nova-api_2024.1_amd64.rock` } });
    expect(jobState(job({ succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] }), done)).toEqual({ state: 'succeeded', result: { digest: DIGEST, file: 'nova-api_2024.1_amd64.rock' } });
    expect(parseResult(`${DIGEST} ../evil.rock`)).toBeUndefined();
  });

  it('tells every failure class apart', () => {
    const classOf = (status: V1Job['status'], p: V1Pod | undefined, log = '') => {
      const s = jobState(job(status), p, log);
      return s.state === 'failed' ? s.failureClass : s.state;
    };
    expect(classOf(failed('DeadlineExceeded'), pod({ terminated: { exitCode: 137, reason: 'Error' } }))).toBe('timeout');
    expect(classOf(failed('BackoffLimitExceeded'), pod({ terminated: { exitCode: 137, reason: 'OOMKilled' } }))).toBe('oom');
    expect(classOf(failed('BackoffLimitExceeded'), pod({ terminated: { exitCode: 1, reason: 'Error' } }), 'Packing failed')).toBe('build');
    expect(classOf(failed('BackoffLimitExceeded'), pod({ terminated: { exitCode: 1, reason: 'Error' } }), "Bad rockcraft.yaml content:\n- field 'name' required")).toBe('config');
    expect(classOf(failed('BackoffLimitExceeded'), pod({ terminated: { exitCode: 75, reason: 'Error' } }))).toBe('infra');
    expect(classOf(failed('PodFailurePolicy'), undefined)).toBe('infra');
    expect(classOf({ active: 1 }, pod({ running: { startedAt: new Date() } }))).toBe('running');
    expect(jobState(job({ active: 1 }), pod({ waiting: { reason: 'ImagePullBackOff' } }))).toEqual({ state: 'pending', reason: 'ImagePullBackOff' });
    expect(stuckFailure('ImagePullBackOff', pod({ waiting: { reason: 'ImagePullBackOff' } })).failureClass).toBe('image-pull');
    expect(stuckFailure('CreateContainerConfigError', undefined).failureClass).toBe('infra');
  });
});

describe('builder configuration', () => {
  const base = { trains: [{ name: 'fix', release: 'caracal', builder: 'kubernetes' as const }] };

  it('needs an S3 mirror and an image for a kubernetes-built train, naming the fields', async () => {
    await expect(resolveControllerConfig(base, { baseDir: '/srv', env: {} })).rejects.toThrow(/trains\.0\.builder: the kubernetes builder uploads rocks to the mirror's S3 store; set mirror\.store to s3:\/\/BUCKET/);
    await expect(resolveControllerConfig(base, { baseDir: '/srv', env: {} })).rejects.toThrow(/kubernetesBuilder\.image: the kubernetes builder needs the image/);
    await expect(resolveControllerConfig({ ...base, mirror: { store: 's3://b/m' }, kubernetesBuilder: { image: 'x', stagingPrefix: 'staging' } }, { baseDir: '/srv', env: {} })).rejects.toThrow(/kubernetesBuilder\.stagingPrefix: expected a prefix under meta\//);
  });

  it('resolves the builder per train, defaulting to local', async () => {
    const config = await resolveControllerConfig(
      { ...base, trains: [...base.trains, { name: 'other', release: 'caracal' }], reference: { releases: ['epoxy'], builder: 'kubernetes' }, mirror: { store: 's3://b/m' }, kubeconfig: 'kc', kubernetesBuilder: { image: 'rockcraft:1' } },
      { baseDir: '/srv', env: {} },
    );
    expect(config.kubernetesTrains?.sort()).toEqual(['fix/2024.1/noble', 'reference/2025.1/noble']);
    expect(config.kubernetesBuilder).toMatchObject({ image: 'rockcraft:1', namespace: 'heliostat-builds', kubeconfig: '/srv/kc', stagingPrefix: 'meta/staging/', concurrency: 4, privileged: true });
    const local = await resolveControllerConfig({ trains: [{ name: 'other', release: 'caracal' }] }, { baseDir: '/srv', env: {} });
    expect(local.kubernetesTrains).toBeUndefined();
  });
});
