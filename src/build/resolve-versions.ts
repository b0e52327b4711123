// Resolves the package versions each rendered rock would install, from exactly the apt sources its
// rockcraft.yaml enables. Rocks that enable the same sources share one resolver, so the indices
// of a whole train are read once.
import { aptSourcesForRepositories, type ArchiveUrls } from '../archive/apt-sources.js';
import type { IndexReader } from '../archive/resolve.js';
import { AptResolver } from '../archive/resolve.js';
import type { RenderedRock } from './plan.js';

export interface VersionResults {
  versions: Map<string, Record<string, string>>;
  failures: Map<string, string>;
}

export async function resolveVersions(rocks: readonly RenderedRock[], fetcher: IndexReader, archives: ArchiveUrls, arch: string): Promise<VersionResults> {
  const resolvers = new Map<string, AptResolver>();
  const versions = new Map<string, Record<string, string>>();
  const failures = new Map<string, string>();
  await Promise.all(
    rocks.map(async (rock) => {
      try {
        const sources = aptSourcesForRepositories(rock.repositories, rock.series.name, archives);
        const key = JSON.stringify([rock.series.name, sources]);
        let resolver = resolvers.get(key);
        if (!resolver) {
          resolver = new AptResolver({ fetcher, sources, series: rock.series.name, arch });
          resolvers.set(key, resolver);
        }
        const resolved = await resolver.resolveAll(rock.packages);
        versions.set(rock.rock, Object.fromEntries([...resolved].map(([name, pkg]) => [name, pkg.version])));
      } catch (error) {
        failures.set(rock.rock, error instanceof Error ? error.message : String(error));
      }
    }),
  );
  return { versions, failures };
}
