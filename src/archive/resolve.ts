// Answers package questions for one series and architecture over a set of apt sources: which
// binaries a source package builds, and which version of a binary apt would install. Indices are
// loaded lazily, in parallel, once per resolver.
import { UnknownPackageError } from './errors.js';
import type { BinaryPackage } from './packages.js';
import { parsePackagesIndex } from './packages.js';
import type { SourcePackage } from './sources.js';
import { binariesFor, parseSourcesIndex } from './sources.js';
import type { AptSource, IndexLocation } from './sources-list.js';
import { aptSourceId, indexLocations } from './sources-list.js';
import { parseReleaseHashes, verifyIndex, type ReleaseEntry } from './release.js';
import { compareDebianVersions } from './version.js';

/** What the resolver needs from a fetcher (IndexFetcher satisfies it). */
export interface IndexReader {
  get(url: string): Promise<string>;
  /** The decoded text and what was fetched: the raw body's sha256 and size. */
  fetchIndex(url: string): Promise<{ text: string; meta: ReleaseEntry }>;
}

export interface ResolverOptions {
  fetcher: IndexReader;
  sources: readonly AptSource[];
  series: string;
  arch: string;
}

export interface ResolvedPackage {
  name: string;
  version: string;
  source: string;
  sourceVersion: string;
  architecture: string;
  /** Id of the apt source that provides the chosen version (see aptSourceId). */
  from: string;
  suite: string;
  component: string;
  priority: number;
}

interface Loaded<T> {
  location: IndexLocation;
  entries: Map<string, T>;
}

/** Keeps the highest version per name (an index may list several). */
function byName<T extends { name: string; version: string }>(items: readonly T[]): Map<string, T> {
  const map = new Map<string, T>();
  for (const item of items) {
    const current = map.get(item.name);
    if (!current || compareDebianVersions(item.version, current.version) > 0) map.set(item.name, item);
  }
  return map;
}

/** apt's choice: highest pin priority first, then highest version; earlier sources break ties. */
export function compareCandidates(a: Pick<ResolvedPackage, 'priority' | 'version'>, b: Pick<ResolvedPackage, 'priority' | 'version'>): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  return compareDebianVersions(b.version, a.version);
}

export class AptResolver {
  readonly locations: readonly IndexLocation[];
  private sourcesIndex: Promise<Loaded<SourcePackage>[]> | undefined;
  private packagesIndex: Promise<Loaded<BinaryPackage>[]> | undefined;

  constructor(private readonly options: ResolverOptions) {
    const target = { series: options.series, arch: options.arch };
    this.locations = options.sources.flatMap((source) => indexLocations(source, target));
  }

  /** Every binary .deb the source package builds for the architecture, over all sources. */
  async binariesOf(sourcePackage: string): Promise<string[]> {
    const loaded = await this.loadSources();
    const names = new Set<string>();
    let found = false;
    for (const { entries } of loaded) {
      const source = entries.get(sourcePackage);
      if (!source) continue;
      found = true;
      for (const binary of binariesFor(source, this.options.arch)) names.add(binary);
    }
    if (!found) throw new UnknownPackageError('source', [sourcePackage], this.where('Sources'));
    return [...names];
  }

  /** Every available version of a binary package, best first (the first is what apt installs). */
  async candidates(binaryPackage: string): Promise<ResolvedPackage[]> {
    const loaded = await this.loadPackages();
    const found: ResolvedPackage[] = [];
    for (const { location, entries } of loaded) {
      const binary = entries.get(binaryPackage);
      // A negative priority means apt never installs versions from that source.
      if (!binary || location.priority < 0) continue;
      found.push({
        ...binary,
        from: location.sourceId,
        suite: location.suite,
        component: location.component,
        priority: location.priority,
      });
    }
    // Array.prototype.sort is stable: equal candidates keep source order.
    return found.sort(compareCandidates);
  }

  /** The version apt would install, and where it comes from. */
  async resolve(binaryPackage: string): Promise<ResolvedPackage> {
    const [best] = await this.candidates(binaryPackage);
    if (!best) throw new UnknownPackageError('binary', [binaryPackage], this.where('Packages'));
    return best;
  }

  /** Resolves several binaries; one error lists every name that is missing. */
  async resolveAll(names: readonly string[]): Promise<Map<string, ResolvedPackage>> {
    const result = new Map<string, ResolvedPackage>();
    const missing: string[] = [];
    for (const name of names) {
      const [best] = await this.candidates(name);
      if (best) result.set(name, best);
      else missing.push(name);
    }
    if (missing.length > 0) throw new UnknownPackageError('binary', missing, this.where('Packages'));
    return result;
  }

  private where(kind: string): string {
    const ids = [...new Set(this.options.sources.map(aptSourceId))].join(', ');
    return `the ${kind} indices of ${ids || 'no apt source'} for ${this.options.series}/${this.options.arch}`;
  }

  private loadSources(): Promise<Loaded<SourcePackage>[]> {
    this.sourcesIndex ??= this.loadAll((location) => ({ index: location.sources, release: location.inRelease }), parseSourcesIndex).catch((error: unknown) => {
      this.sourcesIndex = undefined;
      throw error;
    });
    return this.sourcesIndex;
  }

  private loadPackages(): Promise<Loaded<BinaryPackage>[]> {
    this.packagesIndex ??= this.loadAll((location) => ({ index: location.packages, release: location.binaryInRelease }), parsePackagesIndex).catch((error: unknown) => {
      this.packagesIndex = undefined;
      throw error;
    });
    return this.packagesIndex;
  }

  private loadAll<T extends { name: string; version: string }>(
    urlsOf: (location: IndexLocation) => { index: string; release: string },
    parse: (text: string, origin: string) => T[],
  ): Promise<Loaded<T>[]> {
    return Promise.all(
      this.locations.map(async (location) => {
        const { index, release } = urlsOf(location);
        // Both fetches are conditional and shared by every index of the suite (see IndexFetcher).
        const [fetched, inRelease] = await Promise.allSettled([this.options.fetcher.fetchIndex(index), this.options.fetcher.get(release)]);
        // The index's own failure says more (a 404 names the series, pocket or PPA at fault).
        if (fetched.status === 'rejected') throw fetched.reason;
        if (inRelease.status === 'rejected') throw inRelease.reason;
        verifyIndex(parseReleaseHashes(inRelease.value, release), index, release, fetched.value.meta);
        return { location, entries: byName(parse(fetched.value.text, index)) };
      }),
    );
  }
}
