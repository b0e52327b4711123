// Parsers for flag values shared by several commands. Each validates completely before any work
// starts, so a bad value changes nothing.
import { getPocket, getRelease, getSeries, seriesFor, type Pocket, type Release, type SeriesInfo } from '../catalog/releases.js';
import { parsePpa } from '../archive/ppa.js';
import { UsageError } from '../errors.js';
import type { PpaSpec, RepositoryPriority } from '../rocks/patches.js';
import { validatePackageName } from '../rocks/patches.js';

/** `ppa:owner/name` with an optional `:priority` (always, prefer, defer or a nonzero integer). */
export function parsePpaFlag(value: string): PpaSpec {
  const match = /^(ppa:)?([^:]+)(?::([^:]+))?$/.exec(value);
  if (!match) throw new UsageError(`invalid PPA ${JSON.stringify(value)}: expected ppa:<owner>/<name>[:<priority>]`);
  const ref = parsePpa(`ppa:${match[2] ?? ''}`);
  const raw = match[3];
  if (raw === undefined) return ref;
  let priority: RepositoryPriority;
  if (raw === 'always' || raw === 'prefer' || raw === 'defer') priority = raw;
  else if (/^-?[1-9]\d{0,5}$/.test(raw)) priority = Number(raw);
  else throw new UsageError(`invalid PPA priority ${JSON.stringify(raw)} in ${JSON.stringify(value)}: use always, prefer, defer or a nonzero integer`);
  return { ...ref, priority };
}

export interface TargetFlags {
  release?: string;
  series?: string;
  pocket?: string;
  ppa?: string[];
}

export interface ParsedTarget {
  release: Release;
  series?: SeriesInfo;
  pocket: Pocket;
  ppas: PpaSpec[];
}

export function parseTargetFlags(flags: TargetFlags): ParsedTarget {
  if (!flags.release) throw new UsageError('--release is required');
  const release = getRelease(flags.release);
  const series = flags.series ? getSeries(flags.series) : undefined;
  if (series && !seriesFor(release).includes(series.name)) {
    throw new UsageError(`release ${release.codename} cannot be built on ${series.name}; valid series for ${release.codename}: ${seriesFor(release).join(', ')}`);
  }
  return {
    release,
    series,
    pocket: flags.pocket ? getPocket(flags.pocket) : 'updates',
    ppas: (flags.ppa ?? []).map(parsePpaFlag),
  };
}

export function parsePackages(values: readonly string[] | undefined): string[] {
  return (values ?? []).map(validatePackageName);
}

/** commander collector for repeatable flags. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
