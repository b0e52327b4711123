// Named workarounds: changes a rock needs to run under the Sunbeam charms with a release its
// upstream branch was not written for. Each one says when it applies and which files it adds to
// the build directory.
import { RELEASES, type Release } from '../catalog/releases.js';
import { UsageError } from '../errors.js';
import type { RockcraftDocument } from './rockcraft.js';

export interface Workaround {
  id: string;
  description: string;
  apply(doc: RockcraftDocument): void;
  /** Files written beside rockcraft.yaml before `rockcraft pack`. */
  files(): Record<string, string>;
}

interface WorkaroundDefinition {
  id: string;
  appliesTo(rock: string, release: Release): boolean;
  make(): Workaround;
}

function releaseIndex(release: Release): number {
  return RELEASES.findIndex((r) => r.number === release.number);
}

/**
 * Projects that replaced their WSGI script by an application module (octavia from flamingo on):
 * the charms still run the script, so ship a one-line script importing the module's application.
 */
function wsgiShim(module: string, script: string): Workaround {
  return {
    id: `wsgi-shim:${script}`,
    description: `ship /usr/bin/${script} importing ${module}`,
    apply(doc) {
      doc.partsNode()?.set(
        'wsgi-shim',
        doc.createMap({
          plugin: 'dump',
          source: '.',
          'source-type': 'local',
          organize: { [script]: `usr/bin/${script}` },
          stage: [`usr/bin/${script}`],
        }),
      );
    },
    files: () => ({ [script]: `from ${module} import application  # noqa: F401\n` }),
  };
}

const DEFINITIONS: readonly WorkaroundDefinition[] = [
  {
    id: 'wsgi-shim:octavia-wsgi',
    appliesTo: (rock, release) =>
      ['octavia-api', 'octavia-consolidated'].includes(rock) && releaseIndex(release) >= RELEASES.findIndex((r) => r.codename === 'flamingo'),
    make: () => wsgiShim('octavia.wsgi.api', 'octavia-wsgi'),
  },
];

export const WORKAROUND_IDS: readonly string[] = DEFINITIONS.map((d) => d.id);

/** The workarounds for a rock: the known ones that apply ('auto'), none, or exactly those named. */
export function workaroundsFor(rock: string, release: Release, choice: 'auto' | 'none' | readonly string[]): Workaround[] {
  if (choice === 'none') return [];
  if (choice === 'auto') return DEFINITIONS.filter((d) => d.appliesTo(rock, release)).map((d) => d.make());
  return choice.map((id) => {
    const definition = DEFINITIONS.find((d) => d.id === id);
    if (!definition) throw new UsageError(`unknown workaround '${id}'; known workarounds: ${WORKAROUND_IDS.join(', ')}`);
    return definition.make();
  });
}
