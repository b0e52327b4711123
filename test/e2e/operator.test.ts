// The operator's story, through the charm only: heliostat deployed next to a Sunbeam 2024.1 model
// (juju stand-in + Kubernetes API stand-in), its mirror in a real Ceph RGW bucket over the s3
// relation, its rocks pushed to a real docker-registry. `juju config heliostat release=caracal
// components=cinder ppa=ppa:team/fix` builds the rocks app `cinder` consumes with the PPA's cinder,
// publishes and pushes them, attaches them, the pods roll to the new digests and `juju status`
// says so; clearing `components` puts the original images back. The test plays Juju (hooks,
// actions) and systemd (the unit the charm wrote, the systemctl calls it made); everything else is
// the product, checked from the outside: the controller's HTTP API, S3, skopeo, the juju CLI and
// the Kubernetes API's pods.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { SERVICE_NAME } from '../../charm/service.js';
import { getRelease } from '../../src/catalog/releases.js';
import { charmsForRelease } from '../../src/catalog/sunbeam.js';
import { waitFor } from '../controller/harness.js';
import { JUJU_STANDIN } from '../fixtures/juju/standin.js';
import { imageDetailsDocument, sha384 } from '../fixtures/juju/resources.js';
import { SUNBEAM_CONTROLLER, SUNBEAM_MODEL } from '../fixtures/juju/sunbeam.js';
import { appState } from '../fixtures/kube/harness.js';
import { JUJU_LABELS } from '../fixtures/kube/server.js';
import { registryAvailability } from '../fixtures/registry.js';
import { RGW_SKIP_REASON } from '../setup/rgw.js';
import { CharmUnit, SystemdPlayer } from './support/charm-unit.js';
import { freePort, startWorld, type World } from './support/world.js';

const run = promisify(execFile);
const rgw = inject('rgw');
const registry = registryAvailability();
const skip = !rgw ? RGW_SKIP_REASON : registry.reason;

const RELEASE = getRelease('caracal');
const SERIES = RELEASE.defaultSeries;
const TRAIN = 'operator';
const APP = 'cinder';
const PPA = { owner: 'team', name: 'fix', cinder: '2:24.0.1-0ubuntu1~fix1' };
const TOKEN = 'operator-story-token-0123456789';
const NAMESPACE = 'openstack-rocks';
const S3_PREFIX = 'heliostat';

// What app `cinder` consumes, from the catalog: its charm's resources built from rocks.
const CHARM = charmsForRelease(RELEASE).find((c) => c.apps.includes(APP));
const RESOURCES = (CHARM?.resources ?? []).filter((r) => r.rock !== null);
const ROCKS = [...new Set(RESOURCES.map((r) => r.rock ?? ''))].sort();

interface BuildJson {
  train: string;
  release: string;
  series: string;
  buildId: string;
  result: string;
  context: { ppas: string[]; packages: Record<string, string> };
  rocks: { name: string; imageName: string; outcome: string; image?: { ref: string; digest: string }; packages?: Record<string, string> }[];
  files: Record<string, { digest: string; size: number }>;
}

interface Job {
  id: string;
  state: string;
  buildId?: string;
  request: { train: string; release: string; series: string; components?: string[]; ppas?: string[] };
}

type Pod = { metadata: { labels: Record<string, string> }; status: { containerStatuses?: { name: string; imageID: string; ready: boolean }[] } };

describe.skipIf(skip !== '')(`the operator story${skip ? ` (${skip})` : ''}`, { timeout: 120_000 }, () => {
  let world: World;
  let unit: CharmUnit;
  let systemd: SystemdPlayer;
  /** What each resource of app cinder ran before heliostat: image reference and pod digests. */
  const original = new Map<string, { image: string; digests: Set<string> }>();
  let port: number;
  let build: BuildJson | undefined;
  let attached = false;

  const api = async <T>(path: string, init: RequestInit = {}): Promise<T> => {
    const response = await fetch(`${systemd.url}${path}`, { ...init, headers: { accept: 'application/json', authorization: `Bearer ${TOKEN}`, ...init.headers } });
    const text = await response.text();
    if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${path}: HTTP ${response.status}: ${text}`);
    return JSON.parse(text) as T;
  };
  const juju = async (...args: string[]) => JSON.parse((await run(JUJU_STANDIN, [...args, '-m', SUNBEAM_MODEL, '--format', 'json'], { env: world.env })).stdout) as unknown;
  const skopeo = async (ref: string) => JSON.parse((await run('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`])).stdout) as { Digest: string; Labels?: Record<string, string> | null };
  const resourceImages = () => Object.fromEntries(RESOURCES.map((r) => [r.resource, appState(world.kube.state, APP)?.resources[r.resource]?.image]));

  /** Digests the ready containers of the app's pods run, by container name. */
  function podDigests(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const pod of world.kube.server.pods(SUNBEAM_MODEL) as Pod[]) {
      if (pod.metadata.labels[JUJU_LABELS.name] !== APP) continue;
      for (const c of pod.status.containerStatuses ?? []) {
        const digest = /sha256:[0-9a-f]{64}$/.exec(c.imageID)?.[0];
        if (digest) out.set(c.name, new Set([...(out.get(c.name) ?? []), digest]));
      }
    }
    return out;
  }
  const containersOf = (resource: string) => CHARM?.resources.find((r) => r.resource === resource)?.containers ?? [];
  /** Whether every container of every resource runs only `want(resource)`. */
  const podsRun = (want: (resource: string) => string) => {
    const running = podDigests();
    return RESOURCES.every((r) => containersOf(r.resource).every((c) => {
      const digests = running.get(c);
      return digests?.size === 1 && digests.has(want(r.resource));
    }));
  };

  beforeAll(async () => {
    world = await startWorld({ archive: { ppas: [{ owner: PPA.owner, name: PPA.name, sources: { cinder: PPA.cinder } }] }, rgw, kube: { rolloutDelayMs: 200 } });
    unit = new CharmUnit();
    port = await freePort();
    systemd = new SystemdPlayer(unit, world.env, port);
    const running = podDigests();
    for (const r of RESOURCES) {
      const image = appState(world.kube.state, APP)?.resources[r.resource]?.image ?? '';
      original.set(r.resource, { image, digests: new Set(containersOf(r.resource).flatMap((c) => [...(running.get(c) ?? [])])) });
    }
  }, 300_000);

  afterAll(async () => {
    await systemd?.stop();
    unit?.remove();
    await world?.close();
  });

  it('knows what app cinder consumes from the catalog', () => {
    expect(CHARM?.charm).toBe('cinder-k8s');
    expect(ROCKS.length).toBeGreaterThan(0);
    for (const [resource, o] of original) {
      expect(o.image, resource).not.toBe('');
      expect(o.digests.size, resource).toBe(1);
    }
  });

  it('deploys: install, start and the s3 relation leave the controller serving its mirror from the RGW bucket', async () => {
    const bucket = world.rgw?.bucket ?? '';
    const conn = world.rgw?.connection;
    unit.addSecret('secret:kubeconfig', { kubeconfig: readFileSync(world.kube.kubeconfig, 'utf8') });
    unit.addSecret('secret:api-token', { token: TOKEN });
    // The Juju client's files for the model's controller (the juju stand-in knows it by name).
    unit.addSecret('secret:juju', {
      controllers: stringify({ controllers: { [SUNBEAM_CONTROLLER]: { uuid: '5b1fd7e4-7d1c-4a5e-8a47-0a5a4b9e3c11', 'api-endpoints': ['10.20.0.2:17070'] } }, 'current-controller': SUNBEAM_CONTROLLER }),
      accounts: stringify({ controllers: { [SUNBEAM_CONTROLLER]: { user: 'heliostat', password: 'juju-password-0123456789' } } }),
    });
    // `juju deploy heliostat --config …`: where the rocks, the archives and the registry are.
    unit.setOptions({
      'rocks-repository': world.fixtures.repo.url,
      'ubuntu-archive': world.fixtures.apt.server.archiveUrl,
      'cloud-archive': world.fixtures.apt.server.cloudUrl,
      'ppa-archive': world.fixtures.apt.server.ppaUrl,
      registry: world.registry.host,
      'registry-namespace': NAMESPACE,
      'registry-tls-verify': false,
      model: SUNBEAM_MODEL,
      port,
      attach: true,
      kubeconfig: 'secret:kubeconfig',
      'juju-credentials': 'secret:juju',
      'api-token': 'secret:api-token',
    });
    for (const hook of ['install', 'leader-elected', 'config-changed', 'start']) {
      await unit.hook(hook);
      await systemd.sync();
    }
    expect(systemd.process?.running).toBe(true);
    expect(unit.lastStatus()?.state).toBe('active');

    // `juju integrate heliostat s3-integrator`, the integrator answering with the RGW bucket.
    unit.addSecret('secret:s3', { 'access-key': conn?.accessKey ?? '', 'secret-key': conn?.secretKey ?? '' });
    await unit.relate('s3-credentials', 's3-integrator', { bucket, endpoint: conn?.endpoint ?? '', region: conn?.region ?? '', path: S3_PREFIX, 's3-uri-style': 'path', 'secret-extra': 'secret:s3', 'lib-version': '1.0' });
    await systemd.sync();
    expect(unit.state().relations['s3-credentials']?.[0]?.data['heliostat']).toMatchObject({ bucket: 'heliostat' });
    expect(unit.lastStatus()).toMatchObject({ state: 'active', message: expect.stringContaining('s3 mirror') as unknown });
    const status = await api<{ mirror: { location: string }; juju: { available: boolean } }>('/api/v1/status');
    expect(status.mirror.location).toContain(bucket);
    expect(status.juju).toEqual({ available: true });
  });

  it('juju config release=caracal components=cinder ppa=ppa:team/fix: the controller reloads and builds the cinder rocks with the PPA', async () => {
    await unit.jujuConfig({ release: 'caracal', components: 'cinder', ppa: `ppa:${PPA.owner}/${PPA.name}` });
    expect(await systemd.sync()).toEqual([['reload', SERVICE_NAME]]);
    expect(systemd.reloads.at(-1)).toBe(true);

    const job = await waitFor('the operator train\'s build', async () => {
      const { jobs } = await api<{ jobs: Job[] }>('/api/v1/builds');
      return jobs.find((j) => j.request.train === TRAIN && ['succeeded', 'failed', 'cancelled', 'interrupted'].includes(j.state));
    }, 60_000);
    expect(job.state).toBe('succeeded');
    expect(job.request).toMatchObject({ release: RELEASE.number, series: SERIES, components: ['cinder'], ppas: [`ppa:${PPA.owner}/${PPA.name}`] });

    // The mirror, over the controller's HTTP mirror API and straight from the bucket.
    build = await api<BuildJson>(`/api/mirror/v1/builds/${TRAIN}/${RELEASE.number}/${SERIES}/latest_build`);
    expect(build).toMatchObject({ train: TRAIN, release: RELEASE.number, series: SERIES, buildId: job.buildId, result: 'success' });
    const built = build.rocks.filter((r) => r.outcome === 'built').map((r) => r.name);
    for (const rock of ROCKS) expect(built).toContain(rock);
    expect(build.context.ppas).toEqual([`ppa:${PPA.owner}/${PPA.name}`]);
    for (const rock of build.rocks.filter((r) => ROCKS.includes(r.name))) {
      const cinderPackages = Object.entries(rock.packages ?? {}).filter(([p]) => p.startsWith('cinder-') || p === 'python3-cinder');
      expect(cinderPackages.length, rock.name).toBeGreaterThan(0);
      for (const [pkg, version] of cinderPackages) expect(version, `${rock.name} ${pkg}`).toBe(PPA.cinder);
    }
    const key = `${S3_PREFIX}/${TRAIN}/${RELEASE.number}/${SERIES}/${build.buildId}/build.json`;
    const stored = await world.rgw?.client.statObject(world.rgw.bucket, key);
    expect(stored?.size).toBeGreaterThan(0);

    // The registry: every rock by the dated and the moving tag, at the digest build.json records.
    for (const rock of build.rocks.filter((r) => ROCKS.includes(r.name))) {
      expect(rock.image?.digest, rock.name).toMatch(/^sha256:[0-9a-f]{64}$/);
      const repository = `${world.registry.host}/${NAMESPACE}/${rock.imageName}`;
      for (const tag of [`${RELEASE.number}-${TRAIN}-${build.buildId}`, `${RELEASE.number}-${TRAIN}-latest`]) {
        expect((await skopeo(`${repository}:${tag}`)).Digest, `${rock.name}:${tag}`).toBe(rock.image?.digest);
      }
    }
  });

  it('attaches the new rocks to app cinder, whose pods then run the new digests', async () => {
    if (!build) throw new Error('no build to attach: the build step failed');
    const rocks = build.rocks;
    const want = new Map(RESOURCES.map((r) => [r.resource, rocks.find((b) => b.name === r.rock)?.image]));
    await waitFor('the new images to be attached', () => RESOURCES.every((r) => resourceImages()[r.resource] === want.get(r.resource)?.ref), 60_000);
    const { resources } = (await juju('resources', APP)) as { resources: { name: string; origin: string; fingerprint: string }[] };
    for (const r of RESOURCES) {
      const listed = resources.find((x) => x.name === r.resource);
      expect(listed?.origin, r.resource).toBe('upload');
      expect(listed?.fingerprint, r.resource).toBe(sha384(imageDetailsDocument({ registrypath: want.get(r.resource)?.ref ?? '' })));
    }
    await waitFor('the pods to run the new digests', () => podsRun((resource) => want.get(resource)?.digest ?? ''), 60_000);
    attached = true;
  });

  it('update-status: juju status of heliostat names its last build', async () => {
    if (!build) throw new Error('no build to report: the build step failed');
    await unit.hook('update-status');
    expect(await systemd.sync()).toEqual([]);
    const status = unit.lastStatus();
    expect(status?.state).toBe('active');
    expect(status?.message).toContain(`last build ${build.buildId}`);
  });

  it('clearing components restores the original images and the pods go back to their digests', async () => {
    if (!build || !attached) throw new Error('nothing was attached: an earlier step failed');
    await unit.jujuConfig({ components: '' });
    await systemd.sync();
    expect(systemd.process?.running).toBe(true);
    await waitFor('the originals to be attached again', () => RESOURCES.every((r) => resourceImages()[r.resource]?.startsWith(`${(original.get(r.resource)?.image ?? '').replace(/:[^:/]+$/, '')}@`)), 60_000);
    for (const r of RESOURCES) {
      const digest = [...(original.get(r.resource)?.digests ?? [])][0];
      expect(resourceImages()[r.resource], r.resource).toMatch(new RegExp(`@${digest}$`));
    }
    await waitFor('the pods to run the original digests', () => podsRun((resource) => [...(original.get(resource)?.digests ?? [])][0] ?? ''), 60_000);
    // The build stays in the mirror: restoring changes the model, not what was published.
    const latest = await api<BuildJson>(`/api/mirror/v1/builds/${TRAIN}/${RELEASE.number}/${SERIES}/latest_build`);
    expect(latest.buildId).toBe(build.buildId);
  });
});
