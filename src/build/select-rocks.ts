// Which rocks a build request covers: the rocks named, plus every rock that installs a binary of
// the components (source packages) named; a request that names neither is a whole-train build.
import type { AptResolver } from '../archive/resolve.js';
import { requireRock, type BranchRocks } from '../rocks/branch-rocks.js';
import { rocksUsingPackages } from '../rocks/select.js';

export interface Selection {
  rocks: string[];
  /** Rocks of the branch whose yaml does not parse, with why: recorded as failed, never silently dropped. */
  broken: Array<{ rock: string; error: string }>;
}

export async function selectRocks(set: BranchRocks, names: readonly string[], components: readonly string[], resolver: AptResolver): Promise<Selection> {
  const chosen = new Set<string>();
  for (const name of names) chosen.add(requireRock(set, name).name);
  if (components.length > 0) {
    const binaries = new Set((await Promise.all(components.map((c) => resolver.binariesOf(c)))).flat());
    const parsed = set.rocks.flatMap((r) => (r.document ? [{ name: r.name, packages: r.document.overlayPackages }] : []));
    for (const match of rocksUsingPackages(parsed, binaries)) chosen.add(match.name);
  }
  const whole = names.length === 0 && components.length === 0;
  const candidates = whole ? set.rocks : set.rocks.filter((r) => chosen.has(r.name));
  return {
    rocks: candidates.filter((r) => r.document).map((r) => r.name),
    broken: candidates.filter((r) => !r.document).map((r) => ({ rock: r.name, error: r.error ?? 'does not parse' })),
  };
}
