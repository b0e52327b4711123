// What the `mirror` subcommands share: the store options, opening the store around a command,
// parsing series paths and refs (validated completely before any store is touched), the release
// spelling a mirror uses, durations, and the human renderings of sizes and ages.
import type { Command } from 'commander';
import { findRelease } from '../../catalog/releases.js';
import { UsageError } from '../../errors.js';
import { NotFoundInMirrorError, listReleases, listSeries, listTrains, resolveRef, type ResolvedRef } from '../../../mirror/query.js';
import { validateRelease, validateSeries, validateTrain, type TrainSeries } from '../../../mirror/layout.js';
import { parseRef, type BuildRef } from '../../../mirror/ref.js';
import type { MirrorStore } from '../../../mirror/stores/store.js';
import type { CliEnv } from '../env.js';
import { closeMirrorStore, openMirrorStore, type OpenOptions } from '../mirror-store.js';
import type { Output } from '../output.js';
import type { GlobalFlags, Settings } from '../settings.js';

export type MirrorFlags = GlobalFlags & { json?: boolean };

/** The options every mirror subcommand takes to reach its store(s); sync names both of its stores instead of --mirror. */
export function storeOptions(cmd: Command, withMirror = true): Command {
  if (withMirror) {
    cmd
      .option('--mirror <spec>', 'mirror store: fs:PATH or s3://BUCKET/PREFIX (default: fs:<data dir>/mirror)')
      .option('--data-dir <dir>', 'data directory (default: $XDG_DATA_HOME/heliostat or ~/.local/share/heliostat)');
  }
  return cmd
    .option('--s3-endpoint <url>', 'S3 service URL, e.g. https://s3.example.com (credentials come from the environment or the config file)')
    .option('--s3-region <region>', 'S3 region (default us-east-1)')
    .option('--s3-ca-file <file>', 'PEM file of the CA that signed the S3 endpoint certificate')
    .option('--s3-insecure', 'do not verify the S3 endpoint TLS certificate (test setups only)')
    .option('--s3-path-style', 'address buckets as https://host/bucket (the default)')
    .option('--no-s3-path-style', 'address buckets as https://bucket.host')
    .option('--json', 'print JSON');
}

/** Resolves settings, opens a store and closes it however `work` ends. */
export async function withStore<T>(
  env: CliEnv,
  cmd: Command,
  work: (store: MirrorStore, settings: Settings) => Promise<T>,
  pick: (settings: Settings) => string = (s) => s.mirror,
  options: OpenOptions = {},
): Promise<T> {
  const settings = await env.settings(cmd.optsWithGlobals());
  const store = await openMirrorStore(settings, pick(settings), { cwd: env.cwd, ...options });
  try {
    return await work(store, settings);
  } finally {
    closeMirrorStore(store);
  }
}

/** `TRAIN[/RELEASE[/SERIES]]`, each part validated; `exact` demands all three. */
export function parseSeriesPath(text: string, exact: true): TrainSeries;
export function parseSeriesPath(text: string, exact?: false): { train: string; release?: string; series?: string };
export function parseSeriesPath(text: string, exact = false): { train: string; release?: string; series?: string } {
  const parts = text.split('/');
  const form = exact ? 'TRAIN/RELEASE/SERIES' : 'TRAIN[/RELEASE[/SERIES]]';
  if (parts.length > 3 || (exact && parts.length !== 3)) throw new UsageError(`invalid series ${JSON.stringify(text)}: expected ${form}`);
  const [train, release, series] = parts as [string, string?, string?];
  return {
    train: validateTrain(train),
    ...(release !== undefined ? { release: validateRelease(release) } : {}),
    ...(series !== undefined ? { series: validateSeries(series) } : {}),
  };
}

/**
 * Checks that a train (release, series) exists, naming what does when it does not. A release may
 * be written as codename or number (`caracal` = `2024.1`); the spelling the mirror uses is returned.
 */
export async function requireSeries<T extends { train: string; release?: string; series?: string }>(store: MirrorStore, path: T): Promise<T> {
  const trains = await listTrains(store);
  const choices = (names: string[]) => names.join(', ') || '(none)';
  if (!trains.includes(path.train)) throw new NotFoundInMirrorError(`no train ${path.train} in ${store.location}; trains: ${choices(trains)}`);
  if (path.release === undefined) return path;
  const releases = await listReleases(store, path.train);
  const known = findRelease(path.release);
  const release = [path.release, known?.number, known?.codename].find((r) => r !== undefined && releases.includes(r));
  if (!release) throw new NotFoundInMirrorError(`no release ${path.release} in train ${path.train}; releases: ${choices(releases)}`);
  if (path.series === undefined) return { ...path, release };
  const series = await listSeries(store, path.train, release);
  if (!series.includes(path.series)) throw new NotFoundInMirrorError(`no series ${path.series} in ${path.train}/${release}; series: ${choices(series)}`);
  return { ...path, release };
}

/** Parses a ref without touching any store (so bad input fails before anything is opened). */
export function parseBuildRef(text: string): BuildRef {
  return parseRef(text);
}

/** Resolves a parsed ref against the store, after checking its train/release/series exist. */
export async function resolveBuildRef(store: MirrorStore, ref: BuildRef): Promise<ResolvedRef> {
  const ts = await requireSeries(store, { train: ref.train, release: ref.release, series: ref.series });
  return resolveRef(store, { ...ref, release: ts.release });
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `90s`, `30m`, `24h`, `7d`, `2w` → milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d{1,6})([smhdw])$/.exec(text);
  if (!m?.[1] || !m[2]) throw new UsageError(`invalid ${flag} ${JSON.stringify(text)}: expected a number and a unit s, m, h, d or w, e.g. 24h or 7d`);
  return Number(m[1]) * (UNITS[m[2]] ?? 0);
}

/** A non-negative number flag (`integer` for counts). */
export function parseCount(flag: string, text: string | undefined, integer: boolean): number | undefined {
  if (text === undefined) return undefined;
  const ok = integer ? /^\d{1,9}$/.test(text) : /^\d{1,9}(\.\d{1,6})?$/.test(text);
  if (!ok) throw new UsageError(`invalid ${flag} ${JSON.stringify(text)}: expected ${integer ? 'a whole number' : 'a number'} ≥ 0`);
  return Number(text);
}

export { formatAge, formatBytes } from '../../../mirror/format.js';

/** Prints a line for people, or nothing in JSON mode (the JSON document says it all). */
export function say(out: Output, line: string): void {
  if (!out.json) out.stdout.write(`${line}\n`);
}
