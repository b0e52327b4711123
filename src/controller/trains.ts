// Trains as the controller runs them: the configured patch-set trains plus the `reference` (and
// `proposed`) train of each reference release, each one stream of builds for one release and
// series. Pure: the config schema calls it to report conflicts, the controller to schedule.
import { resolveTarget, type Pocket } from '../catalog/releases.js';
import type { ParsedControllerConfig, RetentionConfig } from './config-schema.js';

export interface TrainSpec {
  name: string;
  /** Release number (`2024.1`), the spelling the mirror uses. */
  release: string;
  series: string;
  components: string[];
  rocks: string[];
  ppas: string[];
  packages: string[];
  pocket: Pocket;
  suffix?: string;
  schedule?: string;
  timezone?: string;
  /** Build as soon as the train is declared or what it builds changes (see declared-trains.ts). */
  buildOnChange?: boolean;
  attach: boolean;
  pin: string;
  apps?: string[];
  retention?: RetentionConfig;
}

export interface TrainProblem {
  path: (string | number)[];
  message: string;
}

/** The stream a train builds into: `<train>/<release number>/<series>`. */
export function trainKey(t: { name?: string; train?: string; release: string; series: string }): string {
  return `${t.name ?? t.train ?? ''}/${t.release}/${t.series}`;
}

/** Whether the request patches anything (PPAs, extra packages, a version suffix). */
export function isPatched(t: { ppas?: readonly string[]; packages?: readonly string[]; suffix?: string }): boolean {
  return (t.ppas?.length ?? 0) > 0 || (t.packages?.length ?? 0) > 0 || t.suffix !== undefined;
}

/**
 * The rules of the two reserved train names: `reference` is unpatched from -updates, `proposed`
 * is unpatched from -proposed; anything patched needs its own name. Returns the problem, if any.
 */
export function reservedTrainProblem(t: { name: string; pocket: Pocket; ppas?: readonly string[]; packages?: readonly string[]; suffix?: string }): string | undefined {
  if (t.name === 'reference' || t.name === 'proposed') {
    if (isPatched(t)) return `train ${t.name} is unpatched; give PPAs, packages or a suffix to a train of another name`;
    if (t.name === 'reference' && t.pocket === 'proposed') return 'train reference builds from the updates pocket; the proposed pocket is train proposed';
    if (t.name === 'proposed' && t.pocket !== 'proposed') return 'train proposed builds from the proposed pocket';
  }
  return undefined;
}

export function expandTrains(config: Pick<ParsedControllerConfig, 'reference' | 'trains'>): { trains: TrainSpec[]; problems: TrainProblem[] } {
  const trains: TrainSpec[] = [];
  const problems: TrainProblem[] = [];
  const seen = new Map<string, string>();
  const add = (spec: TrainSpec, path: (string | number)[]) => {
    const key = trainKey(spec);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      problems.push({ path, message: `${key} is configured twice (also at ${earlier})` });
      return;
    }
    seen.set(key, path.join('.'));
    trains.push(spec);
  };
  const target = (release: string, series: string | undefined, path: (string | number)[]) => {
    try {
      const t = resolveTarget(release, series);
      return { release: t.release.number, series: t.series.name };
    } catch (error) {
      problems.push({ path, message: error instanceof Error ? error.message : String(error) });
      return undefined;
    }
  };

  const ref = config.reference;
  ref.releases.forEach((entry, i) => {
    const { release, series } = typeof entry === 'string' ? { release: entry, series: undefined } : entry;
    const resolved = target(release, series, ['reference', 'releases', i]);
    if (!resolved) return;
    const common = { ...resolved, components: [], rocks: [], ppas: [], packages: [], attach: ref.attach, pin: ref.pin, ...optional(ref) };
    add({ name: 'reference', pocket: 'updates', ...common }, ['reference', 'releases', i]);
    if (ref.proposed) add({ name: 'proposed', pocket: 'proposed', ...common }, ['reference', 'releases', i]);
  });

  config.trains.forEach((t, i) => {
    const resolved = target(t.release, t.series, ['trains', i, t.series === undefined ? 'release' : 'series']);
    if (!resolved) return;
    const reserved = reservedTrainProblem(t);
    if (reserved) {
      problems.push({ path: ['trains', i, 'name'], message: reserved });
      return;
    }
    add(
      {
        name: t.name,
        ...resolved,
        components: t.components,
        rocks: t.rocks,
        ppas: t.ppas,
        packages: t.packages,
        pocket: t.pocket,
        ...(t.suffix !== undefined ? { suffix: t.suffix } : {}),
        attach: t.attach,
        pin: t.pin,
        ...optional(t),
      },
      ['trains', i],
    );
  });
  return { trains, problems };
}

function optional(t: { schedule?: string; timezone?: string; buildOnChange?: boolean; apps?: string[]; retention?: RetentionConfig }): Partial<TrainSpec> {
  return {
    ...(t.buildOnChange ? { buildOnChange: true } : {}),
    ...(t.schedule !== undefined ? { schedule: t.schedule } : {}),
    ...(t.timezone !== undefined ? { timezone: t.timezone } : {}),
    ...(t.apps !== undefined ? { apps: t.apps } : {}),
    ...(t.retention !== undefined ? { retention: t.retention } : {}),
  };
}
