// Build planning, pure: render each selected rock's rockcraft.yaml, then — once the package
// versions it would install are known — compute its build key and decide whether the newest
// successful build of the train already holds a rock with that key (reuse) or it must be built.
import type { BuildRecord } from '../../mirror/build-record.js';
import type { ReusedFile } from '../../mirror/publish.js';
import type { SeriesInfo } from '../catalog/releases.js';
import { patchRockcraft, type PatchSpec } from '../rocks/patches.js';
import type { PackageRepository, RockcraftDocument } from '../rocks/rockcraft.js';
import { buildKey } from './build-key.js';

export interface RenderedRock {
  rock: string;
  imageName: string;
  version: string;
  series: SeriesInfo;
  /** The rendered rockcraft.yaml, exactly what the builder receives. */
  yaml: string;
  /** Workaround inputs beside rockcraft.yaml. */
  files: Record<string, string>;
  repositories: PackageRepository[];
  /** Binary packages it installs (names). */
  packages: string[];
  changes: string[];
}

export function renderRocks(
  rocks: ReadonlyArray<{ name: string; document: RockcraftDocument }>,
  branch: string,
  spec: PatchSpec,
): RenderedRock[] {
  return rocks.map(({ name, document }) => {
    const out = patchRockcraft(document, name, branch, spec);
    return {
      rock: name,
      imageName: out.document.name,
      version: out.document.version,
      series: out.series,
      yaml: out.yaml,
      files: out.files,
      repositories: out.document.repositories,
      packages: out.document.overlayPackages,
      changes: out.changes,
    };
  });
}

export interface PlannedRock extends RenderedRock {
  buildKey: string;
  /** Resolved versions of the rock's packages. */
  versions: Record<string, string>;
  /** Set when an earlier build holds this exact rock. */
  reuse?: { from: string; files: ReusedFile[] };
}

export interface DecideInput {
  rendered: readonly RenderedRock[];
  versions: ReadonlyMap<string, Record<string, string>>;
  /** Upstream git tree id of each rock's folder. */
  trees: ReadonlyMap<string, string>;
  builderVersion: string;
  arch: string;
  /** The train's newest successful build for this release and series, if any. */
  previous?: BuildRecord;
  force?: boolean;
}

/** Output files of one rock in a build record: its .rock, its log and its rendered inputs. */
export function filesOfRock(files: BuildRecord['files'], rock: string): ReusedFile[] {
  return Object.entries(files)
    .filter(([path]) => path.startsWith(`rocks/${rock}_`) || path === `logs/${rock}.log` || path.startsWith(`rockcraft/${rock}/`))
    .map(([path, entry]) => ({ path, digest: entry.digest, size: entry.size }));
}

export function decideBuilds(input: DecideInput): PlannedRock[] {
  return input.rendered.map((rock) => {
    const versions = input.versions.get(rock.rock) ?? {};
    const key = buildKey({
      rock: rock.rock,
      upstreamTree: input.trees.get(rock.rock) ?? '',
      rockcraftYaml: rock.yaml,
      files: rock.files,
      packages: versions,
      builderVersion: input.builderVersion,
      arch: input.arch,
    });
    const planned: PlannedRock = { ...rock, buildKey: key, versions };
    const earlier = input.force ? undefined : input.previous?.rocks.find((r) => r.name === rock.rock && r.arch === input.arch);
    if (earlier && earlier.buildKey === key && (earlier.outcome === 'built' || earlier.outcome === 'reused') && input.previous) {
      const files = filesOfRock(input.previous.files, rock.rock);
      // Without its .rock the earlier entry is not a complete artifact to point at.
      if (files.some((f) => f.path.startsWith('rocks/'))) {
        planned.reuse = { from: earlier.reusedFrom ?? input.previous.buildId, files };
      }
    }
    return planned;
  });
}
