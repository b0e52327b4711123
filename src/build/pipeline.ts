// One build of a train for one release and series, end to end: read the upstream rocks, choose
// and render them, resolve package versions, decide what to reuse, run the builder, and publish
// the result to the mirror as one transaction. Every rock ends with an outcome; a failed rock
// fails the build but is still recorded and browsable.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildRecord, RockEntry } from '../../mirror/build-record.js';
import { buildIdFromDate } from '../../mirror/layout.js';
import { publishBuild, type PublishSummary, type ReusedFile, type StagedFile } from '../../mirror/publish.js';
import { readAlias, readBuildRecord } from '../../mirror/series.js';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { aptSourcesForTarget, type ArchiveUrls } from '../archive/apt-sources.js';
import type { IndexReader } from '../archive/resolve.js';
import { AptResolver } from '../archive/resolve.js';
import { getSeries, type Pocket, type Release, type SeriesInfo } from '../catalog/releases.js';
import { loadBranchRocks } from '../rocks/branch-rocks.js';
import type { PpaSpec } from '../rocks/patches.js';
import type { UpstreamRocksRepo } from '../rocks/upstream.js';
import type { Builder, FailureClass } from './builder.js';
import { decideBuilds, renderRocks, type PlannedRock, type RenderedRock } from './plan.js';
import { resolveVersions } from './resolve-versions.js';
import { runBuilds, summarise, type RockResult, type RunEvent, type RunSummary } from './runner.js';
import { selectRocks } from './select-rocks.js';
import { pushImages, type RegistryService } from './push-images.js';
import type { ImageRecord } from '../registry/publish.js';
import { sunbeamReleases } from '../catalog/sunbeam.js';
import { manifestForBuild } from '../deploy/manifest.js';

export interface BuildRequest {
  train: string;
  release: Release;
  series?: SeriesInfo;
  pocket: Pocket;
  ppas: PpaSpec[];
  packages: string[];
  components: string[];
  rocks: string[];
  suffix?: string;
  force: boolean;
  arch: string;
}

export interface BuildServices {
  upstream: UpstreamRocksRepo;
  fetcher: IndexReader;
  archives: ArchiveUrls;
  builder: Builder;
  /** The mirror: read for reuse, written when `publish` is set. */
  store?: MirrorStore;
  /** Push successful builds here before committing them; build.json then records each image. */
  registry?: RegistryService;
  publish: boolean;
  /** Names this build to the builder (default the build id); the controller passes its job id. */
  buildRef?: string;
  /** Where .rock files and logs are written while building. */
  workDir: string;
  jobs: number;
  timeoutMs: number;
  now?: () => Date;
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
}

export interface BuildOutcome {
  buildId: string;
  result: 'success' | 'fail';
  metadata: Omit<BuildRecord, 'schema' | 'files'>;
  summary: RunSummary;
  results: RockResult[];
  staged: StagedFile[];
  reused: ReusedFile[];
  published?: PublishSummary;
  images: ImageRecord[];
  notes: string[];
}

export async function runBuild(request: BuildRequest, services: BuildServices): Promise<BuildOutcome> {
  const now = services.now ?? (() => new Date());
  const started = now();
  const buildId = buildIdFromDate(started);
  const series = request.series ?? getSeries(request.release.defaultSeries);
  const notes: string[] = [];

  const set = await loadBranchRocks(services.upstream, request.release);
  const trees = await services.upstream.rockFolderTrees(set.commit);
  const targetResolver = new AptResolver({
    fetcher: services.fetcher,
    sources: aptSourcesForTarget({ release: request.release, series, pocket: request.pocket, ppas: request.ppas, archives: services.archives }),
    series: series.name,
    arch: request.arch,
  });
  const selection = await selectRocks(set, request.rocks, request.components, targetResolver);
  const failed = new Map<string, { failureClass: FailureClass; error: string }>();
  for (const b of selection.broken) failed.set(b.rock, { failureClass: 'config', error: b.error });

  const spec = { release: request.release, series: request.series, pocket: request.pocket, ppas: request.ppas, suffix: request.suffix, packages: request.packages };
  const rendered: RenderedRock[] = [];
  for (const name of selection.rocks) {
    const rock = set.rocks.find((r) => r.name === name);
    if (!rock?.document) continue;
    try {
      rendered.push(...renderRocks([{ name, document: rock.document }], set.branch, spec));
    } catch (error) {
      failed.set(name, { failureClass: 'config', error: error instanceof Error ? error.message : String(error) });
    }
  }

  const { versions, failures } = await resolveVersions(rendered, services.fetcher, services.archives, request.arch);
  for (const [rock, error] of failures) failed.set(rock, { failureClass: 'config', error });
  const resolvable = rendered.filter((r) => !failures.has(r.rock));
  const previous = await latestSuccess(services.store, request.train, request.release.number, series.name);
  const planned = decideBuilds({
    rendered: resolvable,
    versions,
    trees,
    builderVersion: await services.builder.version(),
    arch: request.arch,
    previous,
    force: request.force,
  });

  const logsDir = join(services.workDir, 'logs');
  const rocksDir = join(services.workDir, 'rocks');
  await mkdir(logsDir, { recursive: true });
  const results = await runBuilds(
    planned.map((p) => ({ rock: p.rock, files: { ...p.files, 'rockcraft.yaml': p.yaml }, logFile: join(logsDir, `${p.rock}.log`), reuse: p.reuse !== undefined, key: p.buildKey })),
    services.builder,
    { jobs: services.jobs, timeoutMs: services.timeoutMs, outputDir: rocksDir, buildId: services.buildRef ?? buildId, signal: services.signal, onEvent: services.onEvent },
  );
  for (const [rock, f] of failed) results.push({ rock, outcome: 'failed', failureClass: f.failureClass, error: f.error, durationMs: 0 });

  const { staged, reused } = stageOutputs(planned, results, logsDir, request.arch);
  let result: 'success' | 'fail' = results.some((r) => r.outcome === 'failed') ? 'fail' : 'success';
  let images: ImageRecord[] = [];
  if (services.registry && result === 'success') {
    try {
      images = await pushImages(services.registry, { planned, results, previous, store: services.store, release: request.release.number, series: series.name, train: request.train, buildId, workDir: services.workDir, signal: services.signal });
    } catch (error) {
      // The rocks built; the registry refused them. Recorded as a failed build, never as a success without images.
      result = 'fail';
      notes.push(`registry push failed: ${error instanceof Error ? error.message : String(error)}`);
      for (const r of results) if (r.outcome === 'built' || r.outcome === 'reused') Object.assign(r, { outcome: 'failed', failureClass: 'infra', error: 'registry push failed' });
    }
  }
  if (images.length > 0) staged.push(...imageOutputs(images, request.release));
  const finished = new Date(Math.max(now().getTime(), started.getTime()));
  const metadata: BuildOutcome['metadata'] = {
    train: request.train,
    release: request.release.number,
    series: series.name,
    buildId,
    result,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    context: {
      upstream: { repo: asUrl(services.upstream.url), commit: set.commit },
      branch: set.branch,
      patches: [],
      ppas: request.ppas.map((p) => `ppa:${p.owner}/${p.name}${p.priority !== undefined ? `:${p.priority}` : ''}`),
      pocket: request.pocket,
      packages: Object.assign({}, ...planned.map((p) => p.versions)) as Record<string, string>,
      builderVersion: await services.builder.version(),
      arch: request.arch,
    },
    rocks: rockEntries(planned, results, set, request.arch, images),
  };
  let published: PublishSummary | undefined;
  if (services.publish) {
    if (!services.store) throw new Error('--publish needs a mirror');
    published = await publishBuild(services.store, { metadata, files: staged, reused });
  }
  return { buildId, result, metadata, summary: summarise(results), results, staged, reused, published, images, notes };
}

async function latestSuccess(store: MirrorStore | undefined, train: string, release: string, series: string): Promise<BuildRecord | undefined> {
  if (!store) return undefined;
  const ts = { train, release, series };
  // No earlier successful build: everything is built. Store errors propagate.
  const id = await readAlias(store, ts, 'latest');
  return id ? readBuildRecord(store, ts, id) : undefined;
}

function stageOutputs(planned: readonly PlannedRock[], results: readonly RockResult[], logsDir: string, arch: string): { staged: StagedFile[]; reused: ReusedFile[] } {
  const staged: StagedFile[] = [];
  const reused: ReusedFile[] = [];
  for (const rock of planned) {
    const result = results.find((r) => r.rock === rock.rock);
    if (rock.reuse && result?.outcome === 'reused') {
      reused.push(...rock.reuse.files);
      continue;
    }
    staged.push({ path: `rockcraft/${rock.rock}/rockcraft.yaml`, source: Buffer.from(rock.yaml) });
    for (const [name, content] of Object.entries(rock.files)) staged.push({ path: `rockcraft/${rock.rock}/${name}`, source: Buffer.from(content) });
    if (result?.outcome === 'built' || result?.outcome === 'failed') staged.push({ path: `logs/${rock.rock}.log`, source: join(logsDir, `${rock.rock}.log`) });
    if (result?.outcome === 'built' && result.rockFile) staged.push({ path: `rocks/${rock.rock}_${rock.version}_${arch}.rock`, source: result.rockFile });
  }
  return { staged, reused };
}

function rockEntries(planned: readonly PlannedRock[], results: readonly RockResult[], set: Awaited<ReturnType<typeof loadBranchRocks>>, arch: string, images: readonly ImageRecord[]): RockEntry[] {
  return results
    .map((result): RockEntry => {
      const plan = planned.find((p) => p.rock === result.rock);
      const doc = set.rocks.find((r) => r.name === result.rock)?.document;
      const entry: RockEntry = {
        name: result.rock,
        imageName: plan?.imageName ?? doc?.name ?? result.rock,
        version: sanitiseVersion(plan?.version ?? doc?.version ?? '0'),
        arch,
        outcome: result.outcome,
        buildKey: plan?.buildKey ?? `sha256:${'0'.repeat(64)}`,
      };
      if (result.outcome === 'failed') entry.failureClass = result.failureClass ?? 'build';
      if (result.outcome === 'reused' && plan?.reuse) entry.reusedFrom = plan.reuse.from;
      if (plan && Object.keys(plan.versions).length > 0) entry.packages = plan.versions;
      const image = images.find((i) => i.rock === result.rock);
      if (image) entry.image = { ref: image.ref, digest: image.digest };
      return entry;
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** images.json (what was pushed) and, for releases Sunbeam ships, manifest.yaml. */
function imageOutputs(images: readonly ImageRecord[], release: Release): StagedFile[] {
  const files: StagedFile[] = [{ path: 'images.json', source: Buffer.from(JSON.stringify(images, null, 2) + '\n') }];
  if (sunbeamReleases().some((r) => r.number === release.number)) {
    const manifest = manifestForBuild(release.number, images.map((i) => ({ rock: i.rock, ref: i.ref, digest: i.digest })));
    files.push({ path: 'manifest.yaml', source: Buffer.from(manifest) });
  }
  return files;
}

function sanitiseVersion(version: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9.+~_-]{0,127}$/.test(version) ? version : 'invalid';
}

function asUrl(location: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(location) ? location : pathToFileURL(location).href;
}
