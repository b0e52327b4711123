// Trains with `buildOnChange` build when they are declared and whenever what they build changes
// (release, series, components, rocks, PPAs, packages, pocket, suffix): for the charm's operator
// train a `juju config` that adds a patched component is a request to build it. What was last acted on is kept per train in a
// small file, so a restart or a reload that changes nothing queues nothing.
import { join } from 'node:path';
import { readJson, writeJsonAtomic } from './state-file.js';
import { trainKey, type TrainSpec } from './trains.js';

/** What a train builds, as a stable string: equal strings build the same thing. */
export function buildFingerprint(t: TrainSpec): string {
  const sorted = (values: readonly string[]) => [...values].sort();
  return JSON.stringify({
    release: t.release,
    series: t.series,
    components: sorted(t.components),
    rocks: sorted(t.rocks),
    ppas: t.ppas, // order is priority
    packages: sorted(t.packages),
    pocket: t.pocket,
    suffix: t.suffix ?? null,
  });
}

/** Trains that build on change and are new or build something else than when last seen. */
export function trainsToBuild(trains: readonly TrainSpec[], seen: Readonly<Record<string, string>>): TrainSpec[] {
  return trains.filter((t) => t.buildOnChange === true && seen[trainKey(t)] !== buildFingerprint(t));
}

export class DeclaredTrainsFile {
  readonly path: string;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'controller', 'declared-trains.json');
  }

  async load(): Promise<Record<string, string>> {
    const data = await readJson(this.path).catch(() => undefined);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) return {};
    return Object.fromEntries(Object.entries(data).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }

  /** Records the fingerprints of `trains` (only those: a train removed is forgotten). */
  async save(trains: readonly TrainSpec[]): Promise<void> {
    await writeJsonAtomic(this.path, Object.fromEntries(trains.map((t) => [trainKey(t), buildFingerprint(t)])));
  }
}
