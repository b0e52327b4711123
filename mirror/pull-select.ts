// Which outputs of a build a pull fetches: all of them, or the files of chosen rocks plus the
// build-wide files at the top of outputs/ (BUILD_RESULT, CONTEXT, SHA256SUMS, manifest, …), which
// describe every rock and are what a consumer checks the rock files against. Pure.
import type { BuildRecord } from './build-record.js';
import { validateRockName } from './layout.js';

export class UnknownRockError extends Error {
  /** Asking for a rock the build does not have is the caller's input, not a failure. */
  readonly usage = true;
  constructor(
    readonly rock: string,
    readonly build: string,
    known: readonly string[],
  ) {
    super(`build ${build} has no rock ${rock}; its rocks: ${known.join(', ') || '(none)'}`);
    this.name = 'UnknownRockError';
  }
}

/** Whether `path` belongs to `rock`: its rock files, its log, its rockcraft project. */
export function isRockOutput(path: string, rock: string): boolean {
  // Rock names cannot contain "_", so `<rock>_` cannot match a longer rock's name.
  return (path.startsWith(`rocks/${rock}_`) && path.endsWith('.rock')) || path === `logs/${rock}.log` || path.startsWith(`rockcraft/${rock}/`);
}

/** Output paths to pull, sorted; `rocks` empty or absent means every output. */
export function selectOutputs(record: BuildRecord, rocks: readonly string[] = [], label = record.buildId): string[] {
  const paths = Object.keys(record.files).sort();
  if (rocks.length === 0) return paths;
  const known = [...new Set(record.rocks.map((r) => r.name))].sort();
  for (const rock of rocks) {
    validateRockName(rock);
    if (!known.includes(rock)) throw new UnknownRockError(rock, label, known);
  }
  return paths.filter((p) => !p.includes('/') || rocks.some((rock) => isRockOutput(p, rock)));
}
