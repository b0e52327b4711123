// P1: one scheduler tick of six trains with nothing changed. Six trains of gazpacho on noble — the
// reference and proposed trains and four patch sets with a PPA each — over the 80 rocks of the
// fixture's main branch, all scheduled for the same minute. The change watch is primed with what
// the trains were last built from (as after a build), then the fake clock moves to the scheduled
// minute and every tick runs through the real controller against a real git repository and a
// real apt archive server. Counted: HTTP requests the archive server received, git ls-remote
// calls, and builds started. Goal: at most two conditional requests per train, no build.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsStore } from '../../mirror/stores/fs.js';
import { IndexFetcher } from '../../src/archive/fetch-index.js';
import { resolveControllerConfig } from '../../src/controller/config.js';
import type { ControllerConfigInput } from '../../src/controller/config-schema.js';
import { Controller } from '../../src/controller/controller.js';
import { ChangeWatcher } from '../../src/controller/watch.js';
import { UpstreamRocksRepo } from '../../src/rocks/upstream.js';
import { FakeCronClock } from '../controller/fake-cron.js';
import { startAptArchive } from '../fixtures/apt-archive-server.js';
import { createRocksRepo, listFixtureRocks } from '../fixtures/rocks-repo.js';
import { trainArchiveSpec } from '../fixtures/train-archive.js';

const GOAL = '≤ 2 conditional requests per train, 0 builds';
const PATCH_SETS = ['a', 'b', 'c', 'd'];

export async function runP1(): Promise<Record<string, unknown>> {
  const root = await mkdtemp(join(tmpdir(), 'heliostat-p1-'));
  const repo = await createRocksRepo(join(root, 'upstream'), { branches: ['main'] });
  const { spec } = trainArchiveSpec({
    branch: 'main',
    series: 'noble',
    clouds: [{ cloud: 'gazpacho', pocket: 'updates' }, { cloud: 'gazpacho', pocket: 'proposed' }],
    ppas: PATCH_SETS.map((p) => ({ owner: 'team', name: `fix-${p}`, sources: { nova: `3:32.0.0-0ubuntu1~${p}` } })),
  });
  const apt = await startAptArchive(spec);
  try {
    const schedule = '0 3 * * *';
    const doc: ControllerConfigInput = {
      dataDir: join(root, 'data'),
      upstream: { url: repo.url },
      archives: { ubuntu: apt.server.archiveUrl, cloud: apt.server.cloudUrl, ppa: apt.server.ppaUrl },
      juju: { executable: join(root, 'no-juju') },
      reference: { releases: ['gazpacho'], proposed: true, schedule },
      trains: PATCH_SETS.map((p) => ({ name: `fix-${p}`, release: 'gazpacho', ppas: [`ppa:team/fix-${p}`], schedule })),
    };
    const config = await resolveControllerConfig(doc, { baseDir: root, env: {} });
    const clock = new FakeCronClock('2026-11-02T02:59:30Z');

    // Prime the watch as a build of every train would have: what each depends on, as it is now.
    const primer = new ChangeWatcher(join(config.dataDir, 'controller', 'watch.json'), {
      upstream: new UpstreamRocksRepo({ url: repo.url, cacheDir: config.cacheDir }),
      prober: new IndexFetcher({ cacheDir: join(config.dataDir, 'controller', 'watch-cache'), retries: 1 }),
      archives: config.archives,
      arch: 'amd64',
      now: () => clock.now(),
    });
    for (const train of config.trains) await primer.commit(train, await primer.observe(train));
    await primer.flush();

    let lsRemotes = 0;
    const store = new FsStore(join(config.dataDir, 'mirror'));
    const controller = new Controller(config, { store, clock, arch: 'amd64', version: 'bench', onUpstream: (e) => (lsRemotes += e.op === 'ls-remote' ? 1 : 0) });
    await controller.start();
    const requestsBefore = apt.server.requests.length;
    lsRemotes = 0;
    const started = performance.now();
    await clock.advance(60_000);
    const wallMs = performance.now() - started;
    await controller.drain(0);

    const trains = config.trains.length;
    const httpRequests = apt.server.requests.slice(requestsBefore);
    const requests = httpRequests.length + lsRemotes;
    const buildsStarted = controller.jobs().length;
    const requestsPerTrain = Math.round((requests / trains) * 100) / 100;
    const unchecked = controller.trains().filter((t) => t.lastCheck?.outcome !== 'unchanged').map((t) => `${t.name}/${t.release}/${t.series}`);
    return {
      trains,
      rocksPerTrain: listFixtureRocks('main').length,
      wallMs: Math.round(wallMs * 10) / 10,
      buildsStarted,
      requests,
      requestsPerTrain,
      httpRequests: httpRequests.length,
      conditionalHttpRequests: httpRequests.filter((r) => r.ifNoneMatch !== undefined || r.ifModifiedSince !== undefined).length,
      lsRemotes,
      ticksFired: clock.fired,
      ...(unchecked.length > 0 ? { notUnchanged: unchecked } : {}),
      goal: GOAL,
      met: buildsStarted === 0 && requestsPerTrain <= 2 && unchecked.length === 0 && clock.fired === trains,
    };
  } finally {
    await apt.server.close();
    await rm(apt.archive.root, { recursive: true, force: true });
    await rm(root, { recursive: true, force: true });
  }
}
