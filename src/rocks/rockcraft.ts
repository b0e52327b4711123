// A rockcraft.yaml held as a YAML document (comments, key order and scalar styles kept), with typed
// read access for what heliostat needs and a serialiser that returns the original bytes when
// nothing was changed.
import type { YAMLMap} from 'yaml';
import { isMap, isScalar, isSeq, parseDocument, Scalar, YAMLSeq, type Document } from 'yaml';
import { z } from 'zod';
import { UsageError } from '../errors.js';

/** Output options that reproduce the style used across ubuntu-openstack-rocks. */
const STRINGIFY = { lineWidth: 0, flowCollectionPadding: false, indentSeq: true } as const;

const repositorySchema = z
  .object({
    type: z.literal('apt'),
    cloud: z.string().optional(),
    ppa: z.string().optional(),
    url: z.string().optional(),
    pocket: z.enum(['updates', 'proposed']).optional(),
    priority: z.union([z.enum(['always', 'prefer', 'defer']), z.number().int()]).optional(),
  })
  .loose();

const partSchema = z
  .object({
    plugin: z.string().optional(),
    'overlay-packages': z.array(z.string()).optional(),
    'stage-packages': z.array(z.string()).optional(),
  })
  .loose();

const PART_NAME = /^[A-Za-z0-9][A-Za-z0-9+._-]{0,99}$/;

/** The fields heliostat reads; everything else is carried through untouched. */
const rockcraftSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lowercase letters, digits and hyphens'),
    version: z.union([z.string(), z.number()]),
    base: z.string(),
    'build-base': z.string().optional(),
    platforms: z.record(z.string(), z.unknown()).optional(),
    'package-repositories': z.array(repositorySchema).nullish(),
    // Part names become folder names and arguments of the build; no spaces or shell metacharacters.
    parts: z.record(z.string().regex(PART_NAME, 'invalid part name: use letters, digits, "+", ".", "_" and "-"'), partSchema.nullable()),
  })
  .loose();

export type PackageRepository = z.infer<typeof repositorySchema>;

/** One schema problem, naming the field; a missing field says so rather than "received undefined". */
function describeIssue(issue: z.core.$ZodIssue | undefined, value: unknown): string {
  if (!issue) return 'invalid';
  const where = issue.path.map(String).join('.') || '(top level)';
  const given = issue.path.reduce<unknown>((at, key) => (typeof at === 'object' && at !== null ? (at as Record<PropertyKey, unknown>)[key] : undefined), value);
  if (issue.code === 'invalid_type' && given === undefined) return `${where}: missing (the file may be truncated)`;
  if (issue.code === 'invalid_key') {
    const field = issue.path.slice(0, -1).map(String).join('.');
    return `${field}: ${issue.issues[0]?.message ?? issue.message}, not ${JSON.stringify(String(issue.path.at(-1)).slice(0, 60))}`;
  }
  return `${where}: ${issue.message}`;
}

export class RockcraftError extends UsageError {
  constructor(source: string, detail: string) {
    super(`${source}: ${detail}`);
    this.name = 'RockcraftError';
  }
}

export class RockcraftDocument {
  private constructor(
    private readonly doc: Document.Parsed,
    readonly original: string,
    readonly source: string,
  ) {}

  /** Parses and validates; `source` names the file in error messages. */
  static parse(text: string, source = 'rockcraft.yaml'): RockcraftDocument {
    const doc = parseDocument(text, { prettyErrors: false });
    const firstError = doc.errors[0];
    if (firstError) throw new RockcraftError(source, `invalid YAML: ${firstError.message.split('\n')[0]}`);
    if (!isMap(doc.contents)) throw new RockcraftError(source, 'expected a mapping at the top level');
    const value: unknown = doc.toJS();
    const parsed = rockcraftSchema.safeParse(value);
    if (!parsed.success) throw new RockcraftError(source, describeIssue(parsed.error.issues[0], value));
    return new RockcraftDocument(doc, text, source);
  }

  get name(): string {
    return this.scalarText('name') ?? '';
  }

  /** The version exactly as written (`2023.1` stays `2023.1`, never `2023.10` → `2023.1`). */
  get version(): string {
    return this.scalarText('version') ?? '';
  }

  /** False when the version is an unquoted number, which rockcraft rejects as not a string. */
  get versionIsString(): boolean {
    const node = this.doc.get('version', true);
    return isScalar(node) && typeof node.value === 'string';
  }

  get base(): string {
    return this.scalarText('base') ?? '';
  }

  get buildBase(): string | undefined {
    return this.scalarText('build-base');
  }

  get platforms(): string[] {
    const node = this.doc.get('platforms', true);
    return isMap(node) ? node.items.map((pair) => String(isScalar(pair.key) ? pair.key.value : pair.key)) : [];
  }

  get repositories(): PackageRepository[] {
    const value: unknown = this.doc.toJS();
    const parsed = rockcraftSchema.parse(value);
    return parsed['package-repositories'] ?? [];
  }

  get partNames(): string[] {
    const parts = this.doc.get('parts', true);
    return isMap(parts) ? parts.items.map((pair) => String(isScalar(pair.key) ? pair.key.value : pair.key)) : [];
  }

  /** Every Debian package the rock installs: the overlay-packages of all its parts, in order, unique. */
  get overlayPackages(): string[] {
    const parsed = rockcraftSchema.parse(this.doc.toJS());
    const seen = new Set<string>();
    for (const part of Object.values(parsed.parts)) {
      for (const pkg of part?.['overlay-packages'] ?? []) seen.add(pkg);
    }
    return [...seen];
  }

  /** The YAML text: the original bytes when no edit was made. */
  toString(): string {
    const rendered = this.doc.toString(STRINGIFY);
    return this.modified ? rendered : this.original;
  }

  /** A deep copy for patching, leaving this document untouched. */
  clone(): RockcraftDocument {
    return new RockcraftDocument(this.doc.clone() as Document.Parsed, this.original, this.source);
  }

  // ---- editing primitives used by patches (each marks the document modified) ----

  private modified = false;

  /** Sets a top-level scalar in place, keeping its comments; `quoted` forces a double-quoted string. */
  setScalar(key: string, value: string, quoted = false): void {
    const node = this.doc.get(key, true);
    if (isScalar(node)) {
      if (node.value === value && (!quoted || node.type === Scalar.QUOTE_DOUBLE)) return;
      node.value = value;
      delete node.source;
      if (quoted) node.type = Scalar.QUOTE_DOUBLE;
    } else {
      const scalar = new Scalar(value);
      if (quoted) scalar.type = Scalar.QUOTE_DOUBLE;
      this.doc.set(key, scalar);
    }
    this.modified = true;
  }

  /** The package-repositories sequence, created (before `parts`) when absent. */
  repositoriesNode(create: boolean): YAMLSeq<YAMLMap> | undefined {
    const node = this.doc.get('package-repositories', true);
    if (isSeq(node)) return node as YAMLSeq<YAMLMap>;
    if (!create) return undefined;
    const seq = new YAMLSeq<YAMLMap>();
    this.insertBefore('package-repositories', seq, 'parts');
    return seq;
  }

  removeKey(key: string): void {
    if (this.doc.delete(key)) this.modified = true;
  }

  createMap(value: Record<string, unknown>): YAMLMap {
    return this.doc.createNode(value);
  }

  /** The part that installs the rock's packages: named like the rock if it has overlay-packages, else the last that has. */
  mainPartNode(): YAMLMap | undefined {
    const parts = this.doc.get('parts', true);
    if (!isMap(parts)) return undefined;
    const withPackages = parts.items.filter((pair) => isMap(pair.value) && pair.value.has('overlay-packages'));
    const named = withPackages.find((pair) => isScalar(pair.key) && pair.key.value === this.name);
    const chosen = named ?? withPackages[withPackages.length - 1];
    return chosen && isMap(chosen.value) ? chosen.value : undefined;
  }

  partsNode(): YAMLMap | undefined {
    const parts = this.doc.get('parts', true);
    return isMap(parts) ? parts : undefined;
  }

  markModified(): void {
    this.modified = true;
  }

  private insertBefore(key: string, value: unknown, beforeKey: string): void {
    const top = this.doc.contents as YAMLMap;
    const pair = this.doc.createPair(key, value);
    const index = top.items.findIndex((p) => isScalar(p.key) && p.key.value === beforeKey);
    if (index < 0) top.items.push(pair);
    else top.items.splice(index, 0, pair);
    this.modified = true;
  }

  private scalarText(key: string): string | undefined {
    const node = this.doc.get(key, true);
    if (!isScalar(node)) return undefined;
    return node.source ?? String(node.value);
  }
}
