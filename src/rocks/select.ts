// Which rocks a change to some source packages ends up in: a rock is affected when one of the
// binary packages it installs (its overlay-packages) is built from one of those sources. Pure.

export interface RockPackages {
  /** Folder name: how heliostat addresses the rock. */
  name: string;
  /** Binary packages the rock installs. */
  packages: readonly string[];
}

export interface RockMatch {
  name: string;
  /** The rock's packages that come from the requested sources, in the rock's order. */
  packages: string[];
}

export function rocksUsingPackages(rocks: readonly RockPackages[], binaries: ReadonlySet<string>): RockMatch[] {
  const matches: RockMatch[] = [];
  for (const rock of rocks) {
    const packages = rock.packages.filter((p) => binaries.has(p));
    if (packages.length > 0) matches.push({ name: rock.name, packages });
  }
  return matches.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * With --consolidated, a component that has a `<component>-consolidated` rock among the matches is
 * served by that rock alone: the per-service rocks of the same component are dropped.
 */
export function preferConsolidated(matches: readonly RockMatch[], components: readonly string[]): RockMatch[] {
  const names = new Set(matches.map((m) => m.name));
  const consolidated = components.filter((c) => names.has(`${c}-consolidated`));
  return matches.filter(
    (m) => !consolidated.some((c) => m.name !== `${c}-consolidated` && (m.name === c || m.name.startsWith(`${c}-`))),
  );
}

/** Closest names to a mistyped rock, for "did you mean" in errors. */
export function similarNames(wanted: string, names: readonly string[], limit = 3): string[] {
  const score = (name: string) => {
    if (name.startsWith(wanted) || wanted.startsWith(name)) return 0;
    if (name.includes(wanted) || wanted.includes(name.split('-')[0] ?? name)) return 1;
    return 2;
  };
  return names
    .map((name) => ({ name, s: score(name) }))
    .filter((x) => x.s < 2)
    .sort((a, b) => a.s - b.s || a.name.localeCompare(b.name))
    .slice(0, limit)
    .map((x) => x.name);
}
