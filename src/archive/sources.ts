// The Sources index model: one entry per source package paragraph. Binaries come from the
// Package-List field (dsc(5): "<package> <type> <section> <priority> [key=value ...]"), falling back
// to the older comma-separated Binary field when Package-List is absent.
import type { Deb822Paragraph } from './deb822.js';
import { iterateDeb822 } from './deb822.js';
import { IndexFormatError } from './errors.js';
import { PACKAGE_NAME, checkNameAndVersion, locate, requireField } from './fields.js';

export interface PackageListEntry {
  name: string;
  /** "deb" or "udeb" (or another package type). */
  type: string;
  section: string;
  priority: string;
  /** Architectures from arch= (e.g. ["all"] or ["amd64", "arm64"]); undefined when not given. */
  arch?: string[];
}

export interface SourcePackage {
  /** From the Package field (a Sources paragraph names the source in Package, not Source). */
  name: string;
  version: string;
  /** Binary package names, in index order, without duplicates. */
  binaries: string[];
  /** The parsed Package-List, when the paragraph has one. */
  packageList?: PackageListEntry[];
  /** Pool directory, when given. */
  directory?: string;
}

/** The fields the model reads; everything else is skipped while parsing. */
export const SOURCES_FIELDS = ['Package', 'Version', 'Binary', 'Package-List', 'Directory'] as const;

function parsePackageList(paragraph: Deb822Paragraph, origin: string | undefined): PackageListEntry[] {
  const lines = paragraph.lines('Package-List') ?? [];
  const entries: PackageListEntry[] = [];
  const field = paragraph.field('Package-List');
  // The entries start on the line after the field name when its first line is empty (the norm).
  const firstEntryLine = (field?.line ?? paragraph.line) + (field?.value.startsWith('\n') ? 1 : 0);
  for (const [offset, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const [name, type, section, priority, ...extra] = line.split(/\s+/);
    if (name === undefined || type === undefined || section === undefined || priority === undefined || !PACKAGE_NAME.test(name)) {
      throw new IndexFormatError(`malformed Package-List line ${JSON.stringify(line)}`, locate(paragraph, origin, firstEntryLine + offset));
    }
    const entry: PackageListEntry = { name, type, section, priority };
    for (const pair of extra) {
      if (pair.startsWith('arch=')) entry.arch = pair.slice(5).split(',').filter((arch) => arch !== '');
    }
    entries.push(entry);
  }
  return entries;
}

function parseBinaryField(value: string): string[] {
  return value
    .split(/[,\s]+/)
    .map((name) => name.trim())
    .filter((name) => name !== '');
}

/** Builds the model of one Sources paragraph. */
export function sourceFromParagraph(paragraph: Deb822Paragraph, origin?: string): SourcePackage {
  const name = requireField(paragraph, 'Package', 'Sources', origin);
  const version = requireField(paragraph, 'Version', 'Sources', origin);
  checkNameAndVersion(paragraph, name, version, 'Sources', origin);
  const source: SourcePackage = { name, version, binaries: [] };
  let names: string[];
  if (paragraph.has('Package-List')) {
    source.packageList = parsePackageList(paragraph, origin);
    names = source.packageList.map((entry) => entry.name);
  } else if (paragraph.has('Binary')) {
    names = parseBinaryField(paragraph.get('Binary') ?? '');
    const bad = names.find((binary) => !PACKAGE_NAME.test(binary));
    if (bad !== undefined) {
      throw new IndexFormatError(`Sources paragraph for ${name} lists an invalid binary ${JSON.stringify(bad)}`, locate(paragraph, origin));
    }
  } else {
    throw new IndexFormatError(`Sources paragraph for ${name} has neither Package-List nor Binary`, locate(paragraph, origin));
  }
  if (names.length === 0) {
    throw new IndexFormatError(`Sources paragraph for ${name} lists no binary packages`, locate(paragraph, origin));
  }
  source.binaries = [...new Set(names)];
  const directory = paragraph.get('Directory');
  if (directory !== undefined && directory !== '') source.directory = directory;
  return source;
}

/** Parses a whole Sources index (plain or clear-signed text). */
export function parseSourcesIndex(text: string, origin?: string): SourcePackage[] {
  const out: SourcePackage[] = [];
  for (const paragraph of iterateDeb822(text, { only: SOURCES_FIELDS, ...(origin !== undefined ? { origin } : {}) })) {
    out.push(sourceFromParagraph(paragraph, origin));
  }
  return out;
}

/**
 * Whether a Package-List entry is built for an architecture: no arch= restriction, "all", "any",
 * the architecture itself, or a matching wildcard (linux-any, any-<arch>, linux-<arch>).
 */
export function builtFor(entry: PackageListEntry, arch: string): boolean {
  if (!entry.arch) return true;
  return entry.arch.some((candidate) => ['all', 'any', 'linux-any', arch, `any-${arch}`, `linux-${arch}`].includes(candidate));
}

/** The binary .deb names a source package builds for an architecture (udebs left out). */
export function binariesFor(source: SourcePackage, arch?: string): string[] {
  if (!source.packageList) return source.binaries;
  const entries = source.packageList.filter((entry) => entry.type === 'deb' && (arch === undefined || builtFor(entry, arch)));
  return [...new Set(entries.map((entry) => entry.name))];
}
