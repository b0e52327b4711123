// Story: a tester pinning a dated build. The controller (`heliostat serve`, a real process) builds a
// cinder train on its hourly schedule (the clock is moved by the test) and keeps a Sunbeam-shaped
// model (juju stand-in, Kubernetes API stand-in) on the train's pin. The tester pins the build the
// model runs and points the train at the pin; later scheduled builds move `latest` while the model
// keeps the pinned digests, and retention (keep at most one) never drops the pinned build. Unpinned,
// the model follows `latest` again, and retention may then drop the old build.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ControllerConfigInput } from '../../src/controller/config-schema.js';
import { waitFor } from '../controller/harness.js';
import { JUJU_STANDIN } from '../fixtures/juju/standin.js';
import { SUNBEAM_CONTROLLER, SUNBEAM_MODEL } from '../fixtures/juju/sunbeam.js';
import { JUJU_LABELS } from '../fixtures/kube/server.js';
import { appState, type KubeFixture } from '../fixtures/kube/harness.js';
import { RGW_SKIP_REASON } from '../setup/rgw.js';
import { ClockedController, heliostatJson, type JobView } from './support/clocked-serve.js';
import { controllerEnv, reviseRocks, storySkipReason, writeStoryConfig } from './support/story-fixtures.js';
import { startWorld, type World } from './support/world.js';

const rgw = inject('rgw');
const skip = storySkipReason(rgw, RGW_SKIP_REASON);
const CINDER_ROCKS = ['cinder-api', 'cinder-consolidated', 'cinder-scheduler', 'cinder-volume'];
const SERIES = 'fix/2024.1/noble';

interface BuildRecord {
  buildId: string;
  rocks: Array<{ name: string; image?: { ref: string; digest: string } }>;
}
interface Pod {
  status: { containerStatuses?: Array<{ name: string; imageID: string; ready: boolean }> };
}

describe.skipIf(skip !== undefined)(`tester pinning a dated build${skip ? ` (${skip})` : ''}`, { timeout: 120_000 }, () => {
  let world: World;
  let kube: KubeFixture;
  let c: ClockedController;
  let config: (pin: string) => Promise<string>;
  const builds: string[] = [];
  let revision = 0;

  beforeAll(async () => {
    if (!rgw) return;
    world = await startWorld({ rgw, kube: { rolloutDelayMs: 150 } });
    kube = world.kube;
    const train = { name: 'fix', release: 'caracal', components: ['cinder'], schedule: '0 * * * *', attach: true, retention: { keepMax: 1 } };
    const model: ControllerConfigInput = {
      juju: { executable: JUJU_STANDIN, model: SUNBEAM_MODEL, controller: SUNBEAM_CONTROLLER },
      kubeconfig: kube.kubeconfig,
      namespace: SUNBEAM_MODEL,
      // A scheduled build is put in place by the periodic reconcile (the shortest interval allowed).
      reconcile: { intervalSeconds: 10, rolloutTimeoutSeconds: 30 },
    };
    config = (pin) => writeStoryConfig(world, { ...model, trains: [{ ...train, pin }] });
    c = await ClockedController.start(await config('latest'), { env: controllerEnv(world), cwd: world.fixtures.root });
  }, 300_000);

  afterAll(async () => {
    await c?.stop();
    await world?.close();
  });

  /** The next scheduled build after an upstream revision of the cinder rocks. */
  async function scheduledBuild(): Promise<string> {
    if (builds.length > 0) await reviseRocks(world.fixtures.repo.dir, 'stable/2024.1', CINDER_ROCKS, `tester-${++revision}`);
    const jobs: JobView[] = await c.nextHour('fix');
    expect(jobs.map((j) => `${j.trigger} ${j.state}`)).toEqual(['schedule succeeded']);
    const buildId = jobs[0]?.buildId ?? '';
    builds.push(buildId);
    return buildId;
  }

  const record = (selector: string) => c.mirror<BuildRecord>(`/builds/${SERIES}/${selector}`);
  const latest = async () => (await record('latest')).buildId;
  const trains = async () => (await c.api<{ trains: Array<{ name: string; attach: boolean; pin: string; latestBuild?: string }> }>('/trains')).trains;
  const listed = async () => (await c.mirror<{ builds: Array<{ buildId: string }> }>(`/builds/${SERIES}`)).builds.map((b) => b.buildId).sort();

  /** What app cinder runs: its juju resources and its pods' workload containers, as image digests. */
  async function cinderRuns(): Promise<{ resources: string[]; containers: string[]; ready: boolean }> {
    const resources = Object.values(appState(kube.state, 'cinder')?.resources ?? {}).map((r) => r.image?.split('@')[1] ?? r.image ?? '');
    const url = `${kube.server.url}/api/v1/namespaces/${SUNBEAM_MODEL}/pods?labelSelector=${encodeURIComponent(`${JUJU_LABELS.name}=cinder`)}`;
    const pods = ((await (await fetch(url)).json()) as { items: Pod[] }).items;
    const workloads = pods.flatMap((p) => (p.status.containerStatuses ?? []).filter((s) => s.name !== 'charm'));
    return { resources: [...new Set(resources)].sort(), containers: [...new Set(workloads.map((s) => s.imageID.split('@')[1] ?? ''))].sort(), ready: workloads.every((s) => s.ready) };
  }

  /** Waits until every cinder resource and workload container runs an image of `buildId`. */
  async function cinderRunsBuild(buildId: string): Promise<string[]> {
    const digests = new Set((await record(buildId)).rocks.flatMap((r) => (r.image ? [r.image.digest] : [])));
    let seen: unknown;
    const runs = await waitFor(`cinder to run build ${buildId}`, async () => {
      const now = await cinderRuns();
      seen = now;
      return now.ready && now.containers.length > 0 && [...now.resources, ...now.containers].every((d) => digests.has(d)) ? now : undefined;
    }, 60_000).catch((error: unknown) => {
      const log = c.process.lines.filter((l) => /reconcil|attach|rollout/i.test(`${l.msg} ${JSON.stringify(l)}`)).map((l) => JSON.stringify(l));
      throw new Error(`${String(error)}; wanted ${JSON.stringify([...digests])}, cinder runs ${JSON.stringify(seen)}; controller log:\n${log.join('\n')}`);
    });
    expect(runs.containers).toEqual(runs.resources);
    return runs.containers;
  }

  let pinned: string;
  let pinnedDigests: string[];

  it('runs the first scheduled build while the train follows latest', async () => {
    const first = await scheduledBuild();
    expect(await latest()).toBe(first);
    pinnedDigests = await cinderRunsBuild(first);
    expect(pinnedDigests.length).toBeGreaterThan(0);
  });

  it('pins that dated build and points the train at the pin', async () => {
    pinned = builds[0] ?? '';
    const answer = await c.api<{ buildId: string; name: string }>('/pins', { method: 'POST', body: { ref: `fix/caracal/noble/${pinned}`, name: 'tester', note: 'LP#2096123' } });
    expect(answer).toMatchObject({ buildId: pinned, name: 'tester' });
    expect(await c.mirror(`/pins/${SERIES}`)).toMatchObject({ pins: { tester: { buildId: pinned, note: 'LP#2096123' } } });
    await config('pin:tester');
    expect(await c.process.reload()).toBe(true);
    expect(await trains()).toEqual([expect.objectContaining({ name: 'fix', attach: true, pin: 'pin:tester', latestBuild: pinned })]);
  });

  it('keeps the pinned digests while later scheduled builds move latest', async () => {
    for (let i = 0; i < 2; i++) {
      const next = await scheduledBuild();
      expect(await latest()).toBe(next);
      expect(await trains()).toEqual([expect.objectContaining({ pin: 'pin:tester', latestBuild: next })]);
      // The new build really is different, so staying put is a decision, not a coincidence.
      const nextDigests = (await record(next)).rocks.flatMap((r) => (r.image ? [r.image.digest] : []));
      expect(nextDigests.filter((d) => pinnedDigests.includes(d))).toEqual([]);
      // A pass now (the periodic ones run too) has nothing to do: the pin still names the same build.
      expect(await c.api('/reconcile', { method: 'POST', body: {} })).toMatchObject({ dryRun: false, result: { actions: [], problems: [] } });
      expect(await cinderRuns()).toEqual({ resources: pinnedDigests, containers: pinnedDigests, ready: true });
    }
  });

  it('never lets retention drop the pinned build, which stays pullable', async () => {
    // keepMax 1: of three builds only latest and the pinned one survive.
    expect(await listed()).toEqual([pinned, builds[2] ?? ''].sort());
    const history = await c.api<{ entries: Array<{ detail?: { deleted?: string[] } }> }>('/history?action=retention');
    expect(history.entries.flatMap((e) => e.detail?.deleted ?? [])).toEqual([builds[1]]);
    const pulled = await heliostatJson<{ buildId: string; files: number; downloaded: number; failed: number }>(
      ['mirror', 'pull', 'fix/caracal/noble/pin:tester', '-o', join(world.fixtures.root, 'pinned'), '--mirror', `${c.base}/`],
      { cwd: world.fixtures.root },
    );
    expect(pulled).toMatchObject({ buildId: pinned, failed: 0 });
    expect(pulled.downloaded).toBe(pulled.files);
  });

  it('follows latest again once unpinned, and retention may then drop the old build', async () => {
    expect(await c.api('/pins', { method: 'DELETE', body: { ref: 'fix/caracal/noble', name: 'tester' } })).toBeUndefined();
    expect(await c.mirror(`/pins/${SERIES}`)).toEqual({ schema: 1, pins: {} });
    await config('latest');
    expect(await c.process.reload()).toBe(true);
    const newest = builds[2] ?? '';
    expect(await cinderRunsBuild(newest)).not.toEqual(pinnedDigests);

    // Neither pinned nor running any more, the old build is one retention may drop.
    const next = await scheduledBuild();
    expect(await listed()).not.toContain(pinned);
    expect(await listed()).toContain(next);
  });
});
