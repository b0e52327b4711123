// The apt sources a build reads packages from, in two forms: from a build target (release, series,
// pocket, PPAs) for questions asked before any rock is chosen, and from a rendered rockcraft.yaml
// for the exact versions one rock installs.
import type { Pocket, Release, SeriesInfo } from '../catalog/releases.js';
import { aptSourceFromPackageRepository } from './package-repositories.js';
import { parseAptSource, type AptSource } from './sources-list.js';

export interface ArchiveUrls {
  ubuntu: string;
  cloud: string;
  ppa: string;
}

export interface TargetSourcesInput {
  release: Release;
  series: SeriesInfo;
  pocket: Pocket;
  ppas: ReadonlyArray<{ owner: string; name: string; priority?: string | number }>;
  archives: ArchiveUrls;
}

/** The Ubuntu archive, the UCA pocket when the series needs one, and the PPAs. */
export function aptSourcesForTarget(input: TargetSourcesInput): AptSource[] {
  const native = input.release.nativeSeries === input.series.name;
  const sources: AptSource[] = [
    parseAptSource({ type: 'archive', url: input.archives.ubuntu, pocket: native && input.pocket === 'proposed' ? 'proposed' : 'updates' }),
  ];
  if (!native) {
    sources.push(parseAptSource({ type: 'cloud', cloud: input.release.codename, pocket: input.pocket, url: input.archives.cloud, priority: 'always' }));
  }
  for (const ppa of input.ppas) {
    sources.push(parseAptSource({ type: 'ppa', ppa: `${ppa.owner}/${ppa.name}`, url: input.archives.ppa, priority: ppa.priority ?? 'always' }));
  }
  return sources;
}

/**
 * The sources a rockcraft.yaml enables: the series' Ubuntu archive plus each package-repositories
 * entry. An Ubuntu archive entry for `<series>-proposed` (how heliostat enables the archive's
 * proposed pocket) turns the archive source's pocket to proposed.
 */
export function aptSourcesForRepositories(repositories: readonly Record<string, unknown>[], series: string, archives: ArchiveUrls): AptSource[] {
  let archivePocket: 'updates' | 'proposed' = 'updates';
  const extra: AptSource[] = [];
  for (const entry of repositories) {
    const suites = entry['suites'];
    if (typeof entry['url'] === 'string' && Array.isArray(suites) && suites.includes(`${series}-proposed`)) {
      archivePocket = 'proposed';
      continue;
    }
    extra.push(aptSourceFromPackageRepository(entry, { cloudUrl: archives.cloud, ppaUrl: archives.ppa }));
  }
  return [parseAptSource({ type: 'archive', url: archives.ubuntu, pocket: archivePocket }), ...extra];
}
