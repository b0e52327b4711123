// The build key: one sha256 over everything that decides a rock's bytes. Two builds with the same
// key would produce the same rock, so the second one is skipped and the first one's artifacts are
// referenced instead. Pure.
import { createHash } from 'node:crypto';

export interface BuildKeyInputs {
  rock: string;
  /**
   * Git tree id of the rock's folder upstream. The folder's tree, not the repository commit, so an
   * unrelated upstream commit does not rebuild all eighty rocks.
   */
  upstreamTree: string;
  /** The rendered rockcraft.yaml exactly as handed to the builder. */
  rockcraftYaml: string;
  /** Extra files in the build directory (workaround inputs), by name. */
  files: Readonly<Record<string, string>>;
  /** Resolved version of every binary package the rock installs, from the sources its yaml enables. */
  packages: Readonly<Record<string, string>>;
  builderVersion: string;
  arch: string;
}

/** Canonical JSON: object keys sorted at every level, so equal inputs hash equally. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function buildKey(inputs: BuildKeyInputs): string {
  const hash = createHash('sha256');
  hash.update('heliostat-build-key-v1\n');
  hash.update(canonicalJson(inputs));
  return `sha256:${hash.digest('hex')}`;
}
