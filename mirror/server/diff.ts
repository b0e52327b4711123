// What changed between two builds, rock by rock: the resolved versions of the packages each rock
// installs (rocks[].packages), which is what a consumer asks before moving from one build to the
// next ("which CVE fix does this bring?"). Rocks are matched by name and architecture. Pure.
import type { BuildRecord, RockEntry } from '../build-record.js';

export type Change = 'added' | 'removed' | 'changed';

export interface PackageChange {
  name: string;
  change: Change;
  from?: string;
  to?: string;
}

export interface RockDiff {
  rock: string;
  arch: string;
  /** `added`/`removed`: the rock is in one build only; `changed`: versions, image or packages differ. */
  status: Change | 'unchanged';
  fromVersion?: string;
  toVersion?: string;
  fromImage?: string;
  toImage?: string;
  packages: PackageChange[];
  /** Neither build recorded this rock's packages, so no package changes can be told. */
  packagesUnknown?: boolean;
}

export interface BuildDiff {
  rocks: RockDiff[];
  /** Package changes summed over every rock (a package in two rocks counts twice). */
  counts: Record<Change, number>;
}

export function diffPackages(from: Readonly<Record<string, string>>, to: Readonly<Record<string, string>>): PackageChange[] {
  const names = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
  const out: PackageChange[] = [];
  for (const name of names) {
    const [a, b] = [from[name], to[name]];
    if (a === undefined && b !== undefined) out.push({ name, change: 'added', to: b });
    else if (a !== undefined && b === undefined) out.push({ name, change: 'removed', from: a });
    else if (a !== undefined && b !== undefined && a !== b) out.push({ name, change: 'changed', from: a, to: b });
  }
  return out;
}

const keyOf = (r: RockEntry) => `${r.name}/${r.arch}`;

function diffRock(a: RockEntry | undefined, b: RockEntry | undefined): RockDiff {
  const rock = (a ?? b) as RockEntry;
  const packages = diffPackages(a?.packages ?? {}, b?.packages ?? {});
  const base: RockDiff = {
    rock: rock.name,
    arch: rock.arch,
    status: 'unchanged',
    ...(a ? { fromVersion: a.version } : {}),
    ...(b ? { toVersion: b.version } : {}),
    ...(a?.image ? { fromImage: a.image.digest } : {}),
    ...(b?.image ? { toImage: b.image.digest } : {}),
    packages,
    ...(!a?.packages && !b?.packages ? { packagesUnknown: true } : {}),
  };
  if (!a) return { ...base, status: 'added' };
  if (!b) return { ...base, status: 'removed' };
  const differs = packages.length > 0 || a.version !== b.version || a.image?.digest !== b.image?.digest;
  return { ...base, status: differs ? 'changed' : 'unchanged' };
}

export function diffBuilds(from: BuildRecord, to: BuildRecord): BuildDiff {
  const before = new Map(from.rocks.map((r) => [keyOf(r), r]));
  const after = new Map(to.rocks.map((r) => [keyOf(r), r]));
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  const rocks = keys.map((k) => diffRock(before.get(k), after.get(k)));
  const counts: Record<Change, number> = { added: 0, removed: 0, changed: 0 };
  for (const r of rocks) for (const p of r.packages) counts[p.change] += 1;
  return { rocks, counts };
}
