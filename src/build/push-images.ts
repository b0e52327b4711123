// Pushes a successful build's rocks to the registry before the build is committed to the mirror,
// so build.json records every image by digest. Built rocks are pushed from their .rock files;
// reused rocks are already in the registry under the earlier build's digest and only get this
// build's tags (when the earlier build was never pushed, their .rock is fetched from the mirror).
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { BuildRecord } from '../../mirror/build-record.js';
import { blobKey } from '../../mirror/layout.js';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { tagSeries, type RegistryTarget } from '../registry/config.js';
import { pushBuild, type ImageRecord, type RockToPush } from '../registry/publish.js';
import type { Skopeo } from '../registry/skopeo.js';
import type { PlannedRock } from './plan.js';
import type { RockResult } from './runner.js';

export interface RegistryService {
  target: RegistryTarget;
  skopeo?: Skopeo;
}

export interface PushImagesInput {
  planned: readonly PlannedRock[];
  results: readonly RockResult[];
  previous?: BuildRecord;
  store?: MirrorStore;
  release: string;
  series: string;
  train: string;
  buildId: string;
  workDir: string;
  signal?: AbortSignal;
}

export async function pushImages(registry: RegistryService, input: PushImagesInput): Promise<ImageRecord[]> {
  const rocks: RockToPush[] = [];
  for (const plan of input.planned) {
    const result = input.results.find((r) => r.rock === plan.rock);
    if (result?.outcome === 'built' && result.rockFile) {
      rocks.push({ rock: plan.rock, imageName: plan.imageName, rockFile: result.rockFile });
    } else if (result?.outcome === 'reused' && plan.reuse) {
      const earlier = input.previous?.rocks.find((r) => r.name === plan.rock)?.image;
      if (earlier) rocks.push({ rock: plan.rock, imageName: plan.imageName, digest: earlier.digest });
      else rocks.push({ rock: plan.rock, imageName: plan.imageName, rockFile: await fetchReusedRock(plan, input) });
    }
  }
  if (rocks.length === 0) return [];
  return pushBuild(
    { rocks, release: input.release, train: input.train, buildId: input.buildId, ...seriesOf(input.release, input.series) },
    registry.target,
    { ...(registry.skopeo ? { skopeo: registry.skopeo } : {}), ...(input.signal ? { signal: input.signal } : {}) },
  );
}

async function fetchReusedRock(plan: PlannedRock, input: PushImagesInput): Promise<string> {
  const file = plan.reuse?.files.find((f) => f.path.startsWith('rocks/'));
  if (!file || !input.store) throw new Error(`rock ${plan.rock} is reused but its .rock is neither in the registry nor reachable in the mirror`);
  const dir = join(input.workDir, 'reused');
  await mkdir(dir, { recursive: true });
  const target = join(dir, file.path.slice('rocks/'.length));
  await pipeline(await input.store.getStream(blobKey(file.digest)), createWriteStream(target));
  return target;
}

function seriesOf(release: string, series: string): { series?: string } {
  const qualifier = tagSeries(release, series);
  return qualifier === undefined ? {} : { series: qualifier };
}
