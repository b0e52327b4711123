// Where packages come from: the Ubuntu archive, the Ubuntu Cloud Archive (UCA) and Launchpad PPAs,
// described the way rockcraft's package-repositories does (cloud + pocket, ppa, priority), validated
// with zod at the edge. indexLocations() turns a description into the index URLs for a series and
// an architecture.
import { z } from 'zod';
import { ArchiveError } from './errors.js';
import { parsePpa } from './ppa.js';

export const DEFAULT_ARCHIVE_URL = 'http://archive.ubuntu.com/ubuntu';
/** Ubuntu publishes binaries for architectures other than amd64 and i386 on the ports mirror. */
export const DEFAULT_PORTS_URL = 'http://ports.ubuntu.com/ubuntu-ports';
export const DEFAULT_UCA_URL = 'https://ubuntu-cloud.archive.canonical.com/ubuntu';
export const DEFAULT_PPA_URL = 'https://ppa.launchpadcontent.net';
const PRIMARY_ARCHES = new Set(['amd64', 'i386']);

/** apt's priority of a source without a pin. */
export const DEFAULT_PRIORITY = 500;
export const PRIORITY_KEYWORDS = { always: 1000, prefer: 990, defer: 100 } as const;
export type PriorityKeyword = keyof typeof PRIORITY_KEYWORDS;

/** Ubuntu archive pockets and the suites each one enables (the release suite always included). */
export const ARCHIVE_POCKETS = {
  release: [''],
  security: ['', '-security'],
  updates: ['', '-updates', '-security'],
  proposed: ['', '-updates', '-security', '-proposed'],
} as const;
export type ArchivePocket = keyof typeof ARCHIVE_POCKETS;

const CODENAME = /^[a-z][a-z0-9]*$/;
const TOKEN = /^[a-z0-9][a-z0-9-]*$/;

const codename = (what: string): z.ZodString => z.string().regex(CODENAME, `${what} must be a lowercase codename such as "noble"`);
const httpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .transform((url) => url.replace(/\/+$/, ''));
const sourceId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/+-]{0,127}$/, 'must be a short identifier');

/** "always" (1000), "prefer" (990), "defer" (100) or any nonzero integer, as in rockcraft. */
export function parsePriority(value: string | number): number {
  if (typeof value === 'string') {
    if (Object.hasOwn(PRIORITY_KEYWORDS, value)) return PRIORITY_KEYWORDS[value as PriorityKeyword];
    throw new ArchiveError(`invalid priority ${JSON.stringify(value)}: expected "always", "prefer", "defer" or a nonzero integer`);
  }
  if (!Number.isSafeInteger(value) || value === 0) {
    throw new ArchiveError(`invalid priority ${value}: expected "always", "prefer", "defer" or a nonzero integer`);
  }
  return value;
}

/** Reports an ArchiveError thrown by a parser as a zod issue. */
function refineWith<T>(parse: (value: T) => unknown) {
  return (value: T, ctx: z.RefinementCtx): void => {
    try {
      parse(value);
    } catch (error) {
      ctx.issues.push({ code: 'custom', message: error instanceof Error ? error.message : String(error), input: value });
    }
  };
}

export const PrioritySchema = z
  .union([z.string(), z.number()])
  .superRefine(refineWith(parsePriority))
  .transform((value) => parsePriority(value));

const ppaRef = z
  .string()
  .superRefine(refineWith(parsePpa))
  .transform((value) => {
    const { owner, name } = parsePpa(value);
    return `${owner}/${name}`;
  });

export const ArchiveSourceSchema = z.strictObject({
  type: z.literal('archive'),
  id: sourceId.optional(),
  url: httpUrl.default(DEFAULT_ARCHIVE_URL),
  /** Binary indices for architectures other than amd64/i386; defaults to the ports mirror when url is the default. */
  portsUrl: httpUrl.optional(),
  pocket: z.enum(['release', 'security', 'updates', 'proposed']).default('updates'),
  components: z.array(z.string().regex(TOKEN, 'component must be lowercase')).min(1).default(['main', 'universe']),
  priority: PrioritySchema.default(DEFAULT_PRIORITY),
});

export const CloudSourceSchema = z.strictObject({
  type: z.literal('cloud'),
  id: sourceId.optional(),
  /** UCA release codename, e.g. "gazpacho". */
  cloud: codename('cloud'),
  pocket: z.enum(['updates', 'proposed']).default('updates'),
  url: httpUrl.default(DEFAULT_UCA_URL),
  priority: PrioritySchema.default(DEFAULT_PRIORITY),
});

export const PpaSourceSchema = z.strictObject({
  type: z.literal('ppa'),
  id: sourceId.optional(),
  /** "ppa:owner/name" or "owner/name"; normalised to "owner/name". */
  ppa: ppaRef,
  url: httpUrl.default(DEFAULT_PPA_URL),
  priority: PrioritySchema.default(DEFAULT_PRIORITY),
});

export const AptSourceSchema = z.discriminatedUnion('type', [ArchiveSourceSchema, CloudSourceSchema, PpaSourceSchema]);

export type AptSourceInput = z.input<typeof AptSourceSchema>;
export type AptSource = z.output<typeof AptSourceSchema>;
export type ArchiveSource = z.output<typeof ArchiveSourceSchema>;
export type CloudSource = z.output<typeof CloudSourceSchema>;
export type PpaSource = z.output<typeof PpaSourceSchema>;

/** Validates one source description; throws ArchiveError listing every problem. */
export function parseAptSource(input: unknown): AptSource {
  const result = AptSourceSchema.safeParse(input);
  if (!result.success) throw new ArchiveError(`invalid apt source: ${z.prettifyError(result.error)}`);
  return result.data;
}

/** Validates a list of sources; ids must be unique. */
export function parseAptSources(inputs: readonly unknown[]): AptSource[] {
  const sources = inputs.map((input, index) => {
    try {
      return parseAptSource(input);
    } catch (error) {
      throw new ArchiveError(`apt source ${index + 1}: ${error instanceof Error ? error.message : String(error)}`);
    }
  });
  const seen = new Set<string>();
  for (const source of sources) {
    const id = aptSourceId(source);
    if (seen.has(id)) throw new ArchiveError(`apt source ${JSON.stringify(id)} is listed twice; give one of them another id`);
    seen.add(id);
  }
  return sources;
}

/** A stable identifier: the explicit id, else "archive", "cloud:<codename>[-proposed]", "ppa:<owner>/<name>". */
export function aptSourceId(source: AptSource): string {
  if (source.id !== undefined) return source.id;
  switch (source.type) {
    case 'archive':
      return 'archive';
    case 'cloud':
      return `cloud:${source.cloud}${source.pocket === 'proposed' ? '-proposed' : ''}`;
    case 'ppa':
      return `ppa:${source.ppa}`;
  }
}

/** The index files of one suite/component of a source, for one architecture. */
export interface IndexLocation {
  sourceId: string;
  priority: number;
  /** apt suite, e.g. "noble-updates" or, for the UCA, "noble-updates/gazpacho". */
  suite: string;
  component: string;
  architecture: string;
  /** `.../dists/<suite>/InRelease` of the host serving the Sources index. */
  inRelease: string;
  /** InRelease of the host serving the Packages index (differs for ports architectures). */
  binaryInRelease: string;
  /** `.../dists/<suite>/<component>/source/Sources.gz` */
  sources: string;
  /** `.../dists/<suite>/<component>/binary-<arch>/Packages.gz` */
  packages: string;
}

export interface IndexTarget {
  /** Ubuntu series of the build base, e.g. "noble". */
  series: string;
  /** Debian architecture, e.g. "amd64". */
  arch: string;
}

function checkTarget(target: IndexTarget): void {
  if (!CODENAME.test(target.series)) throw new ArchiveError(`invalid series ${JSON.stringify(target.series)}: expected a codename such as "noble"`);
  if (!TOKEN.test(target.arch)) throw new ArchiveError(`invalid architecture ${JSON.stringify(target.arch)}: expected e.g. "amd64"`);
}

function location(
  source: AptSource,
  target: IndexTarget,
  bases: { source: string; binary: string },
  suite: string,
  component: string,
): IndexLocation {
  const dists = (base: string): string => `${base}/dists/${suite}`;
  return {
    sourceId: aptSourceId(source),
    priority: source.priority,
    suite,
    component,
    architecture: target.arch,
    inRelease: `${dists(bases.source)}/InRelease`,
    binaryInRelease: `${dists(bases.binary)}/InRelease`,
    sources: `${dists(bases.source)}/${component}/source/Sources.gz`,
    packages: `${dists(bases.binary)}/${component}/binary-${target.arch}/Packages.gz`,
  };
}

/** Every index location of a source for a series and an architecture. */
export function indexLocations(source: AptSource, target: IndexTarget): IndexLocation[] {
  checkTarget(target);
  const { series, arch } = target;
  switch (source.type) {
    case 'archive': {
      const ports = source.portsUrl ?? (source.url === DEFAULT_ARCHIVE_URL ? DEFAULT_PORTS_URL : source.url);
      const bases = { source: source.url, binary: PRIMARY_ARCHES.has(arch) ? source.url : ports };
      return ARCHIVE_POCKETS[source.pocket].flatMap((suffix) =>
        source.components.map((component) => location(source, target, bases, `${series}${suffix}`, component)),
      );
    }
    case 'cloud': {
      const bases = { source: source.url, binary: source.url };
      return [location(source, target, bases, `${series}-${source.pocket}/${source.cloud}`, 'main')];
    }
    case 'ppa': {
      const base = `${source.url}/${source.ppa}/ubuntu`;
      return [location(source, target, { source: base, binary: base }, series, 'main')];
    }
  }
}
