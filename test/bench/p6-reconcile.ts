// P6: a reconcile pass over a Sunbeam model in which nothing needs to change must cost at most 3
// external calls: one `juju status`, one pod list (and nothing else: no `juju resources`, no
// attach, no state write). The model is the full Sunbeam 2024.1 deployment of the juju stand-in,
// with a train attached to app cinder, so the pass has real desired state to compare.
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishBuild } from '../../mirror/publish.js';
import { FsStore } from '../../mirror/stores/fs.js';
import { AttachmentStateFile } from '../../src/deploy/attachment-state.js';
import { JujuClient } from '../../src/deploy/juju.js';
import { KubeClient } from '../../src/deploy/kube.js';
import { reconcileOnce } from '../../src/deploy/reconciler.js';
import { JUJU_ENV, JUJU_STANDIN, ensureJujuStandinBuilt } from '../fixtures/juju/standin.js';
import { SUNBEAM_CONTROLLER, SUNBEAM_MODEL } from '../fixtures/juju/sunbeam.js';
import { readState } from '../fixtures/juju/state.js';
import { kubeFixture } from '../fixtures/kube/harness.js';
import { metadata, rockFile, sha } from '../mirror/helpers.js';
import type { BenchContext, BenchFigures, Benchmark } from './common.js';

const GOAL = '≤ 3 external calls in a no-op reconcile of a ~30-application model';

async function run(ctx: BenchContext): Promise<BenchFigures> {
  ensureJujuStandinBuilt();
  const dir = await mkdtemp(join(tmpdir(), 'heliostat-p6-'));
  ctx.defer('temp dir', () => rm(dir, { recursive: true, force: true }));
  const kube = await kubeFixture({ rolloutDelayMs: 50 });
  ctx.defer('kube fixture', () => kube.close());
  const apps = Object.keys(readState(kube.state).controllers[SUNBEAM_CONTROLLER]?.models[SUNBEAM_MODEL]?.applications ?? {}).length;

  const store = new FsStore(join(dir, 'mirror'));
  const buildId = '20261101T100000Z';
  const digest = sha('p6-cinder-consolidated');
  const meta = metadata(buildId, { train: 'fix' }, [{ name: 'cinder-consolidated' }]);
  meta.rocks = meta.rocks.map((r) => ({ ...r, image: { ref: `127.0.0.1:5000/heliostat/cinder-consolidated@${digest}`, digest } }));
  await publishBuild(store, { metadata: meta, files: [{ path: 'rocks/cinder-consolidated_2024.1_amd64.rock', source: await rockFile(dir, 'p6') }] });

  const jujuLog = join(dir, 'juju.log');
  const deps = {
    juju: new JujuClient({ executable: JUJU_STANDIN, controller: SUNBEAM_CONTROLLER, model: SUNBEAM_MODEL, env: { [JUJU_ENV.state]: kube.state, [JUJU_ENV.log]: jujuLog } }),
    kube: KubeClient.fromKubeconfig(kube.kubeconfig, { timeoutMs: 10_000 }),
    store,
    state: new AttachmentStateFile(join(dir, 'attachments.json'), SUNBEAM_MODEL),
    namespace: SUNBEAM_MODEL,
    rolloutTimeoutMs: 30_000,
    pollMs: 50,
  };
  const trains = [{ train: 'fix', release: '2024.1', series: 'noble', pin: 'latest' }];
  const first = await reconcileOnce(trains, deps);
  ctx.check();
  const jujuCalls = async () => (await readFile(jujuLog, 'utf8')).trim().split('\n').filter(Boolean).length;
  const samples: Array<{ juju: number; kube: number; ms: number; actions: number }> = [];
  const stateBefore = (await stat(join(dir, 'attachments.json'))).mtimeMs;
  for (let i = 0; i < 5; i++) {
    const jujuBefore = await jujuCalls();
    kube.server.resetRequests();
    const began = performance.now();
    const pass = await reconcileOnce(trains, deps);
    samples.push({ juju: (await jujuCalls()) - jujuBefore, kube: kube.server.requestCount, ms: performance.now() - began, actions: pass.actions.length });
  }
  const stateWritten = (await stat(join(dir, 'attachments.json'))).mtimeMs !== stateBefore;
  const worst = Math.max(...samples.map((s) => s.juju + s.kube));
  return {
    goal: GOAL,
    met: worst <= 3 && samples.every((s) => s.actions === 0) && !stateWritten,
    applications: apps,
    firstPass: { actions: first.actions.map((a) => `${a.kind} ${a.app}/${a.resource}`) },
    noOpPasses: samples.length,
    externalCallsMax: worst,
    jujuCallsPerPass: samples.map((s) => s.juju),
    kubeRequestsPerPass: samples.map((s) => s.kube),
    msPerPass: samples.map((s) => Math.round(s.ms)),
    stateWritten,
  };
}

export const P6: Benchmark = {
  name: 'P6',
  title: 'no-op reconcile of a Sunbeam model: external calls',
  goal: GOAL,
  budgetS: 300,
  run,
  summarise: (r) => [`${String(r.applications)} apps: max ${String(r.externalCallsMax)} external calls per no-op pass (juju ${JSON.stringify(r.jujuCallsPerPass)}, kube ${JSON.stringify(r.kubeRequestsPerPass)})`],
};
