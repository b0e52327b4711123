// Patches turn an upstream rockcraft.yaml into the one heliostat builds: a series' base, the UCA
// cloud and pocket of the requested release, PPAs, a version suffix, extra packages and named
// workarounds. PATCHES below is the one place their order is defined.
import { isMap, isScalar, isSeq, Pair, Scalar, type YAMLMap } from 'yaml';
import { RELEASES, seriesFor, seriesOfBase, getSeries, type Pocket, type Release, type SeriesInfo } from '../catalog/releases.js';
import { quoteInput, UsageError } from '../errors.js';
import type { RockcraftDocument } from './rockcraft.js';
import { workaroundsFor, type Workaround } from './workarounds.js';

export type RepositoryPriority = 'always' | 'prefer' | 'defer' | number;

export interface PpaSpec {
  owner: string;
  name: string;
  priority?: RepositoryPriority;
}

export interface PatchSpec {
  release: Release;
  /** Build every rock on this series; when absent each rock keeps the series of its own base. */
  series?: SeriesInfo;
  pocket?: Pocket;
  ppas?: readonly PpaSpec[];
  suffix?: string;
  packages?: readonly string[];
  /** 'auto' applies the workarounds known for this rock and release; a list names them. */
  workarounds?: 'auto' | 'none' | readonly string[];
  /** Ubuntu archive written into the rockcraft.yaml for the archive's -proposed pocket. */
  ubuntuArchiveUrl?: string;
}

export interface PatchContext {
  spec: PatchSpec;
  /** Folder name of the rock in the repository. */
  rock: string;
  /** The release whose branch the yaml was read from. */
  branchRelease: Release;
  /** The series this rock is built on, decided from the spec or the rock's own base. */
  series: SeriesInfo;
  /** UCA cloud for the rock, or null when the series ships the release natively. */
  cloud: string | null;
  /** See RockPlacement.releaseBound: only such rocks get their cloud entries rewritten. */
  releaseBound: boolean;
  workarounds: Workaround[];
}

export interface Patch {
  id: string;
  /** Edits the document and returns one note per change made (empty when nothing changed). */
  apply(doc: RockcraftDocument, ctx: PatchContext): string[];
}

export interface PatchOutcome {
  yaml: string;
  document: RockcraftDocument;
  series: SeriesInfo;
  /** `<patch id>: <what changed>` for every change, in order. */
  changes: string[];
  /** Files the build directory needs beside rockcraft.yaml (workaround inputs). */
  files: Record<string, string>;
  notes: string[];
}

/** Ubuntu Archive Automatic Signing Key (2018), which signs the archive's -proposed pocket. */
const UBUNTU_ARCHIVE_KEY = 'F6ECB3762474EDA9D21B7022871920D1991BC93C';
const DEFAULT_UBUNTU_ARCHIVE = 'http://archive.ubuntu.com/ubuntu';
const SUFFIX_RE = /^[A-Za-z0-9][A-Za-z0-9.+~_-]{0,31}$/;
const PACKAGE_RE = /^[a-z0-9][a-z0-9+.-]{1,99}$/;

export function validateSuffix(suffix: string): string {
  if (!SUFFIX_RE.test(suffix)) {
    throw new UsageError(`invalid version suffix ${quoteInput(suffix)}: use up to 32 letters, digits, '.', '+', '~', '_' or '-'`);
  }
  return suffix;
}

export function validatePackageName(name: string): string {
  if (!PACKAGE_RE.test(name)) throw new UsageError(`invalid Debian package name ${quoteInput(name)}`);
  return name;
}

/** The release whose own rocks branch this is (main → the newest release that maps to it unclamped). */
export function branchRelease(branch: string): Release {
  const release = RELEASES.find((r) => r.rocksBranch === branch && !r.branchClamped);
  if (!release) throw new UsageError(`no release maps to rocks branch '${branch}'`);
  return release;
}

const basePatch: Patch = {
  id: 'base',
  apply(doc, ctx) {
    const target = `ubuntu@${ctx.series.version}`;
    const key = doc.base === 'bare' ? 'build-base' : 'base';
    const current = key === 'base' ? doc.base : doc.buildBase;
    if (current === target) return [];
    doc.setScalar(key, target);
    return [`${key} ${current ?? '(none)'} → ${target}`];
  },
};

const cloudPatch: Patch = {
  id: 'cloud',
  apply(doc, ctx) {
    const changes: string[] = [];
    const pocket = ctx.spec.pocket ?? 'updates';
    const seq = doc.repositoriesNode(false);
    const owned = new Set([ctx.branchRelease.codename, ctx.spec.release.codename]);
    let ownedSeen = false;
    for (const entry of [...(seq?.items ?? [])]) {
      if (!isMap(entry) || !entry.has('cloud')) continue;
      const cloud = String(entry.get('cloud'));
      if (!owned.has(cloud) || !ctx.releaseBound) {
        // Upstream pins this rock to another release's cloud on purpose (e.g. manila on caracal).
        changes.push(...setPocket(entry, pocket, cloud));
        continue;
      }
      ownedSeen = true;
      if (ctx.cloud === null) {
        seq?.items.splice(seq.items.indexOf(entry), 1);
        changes.push(`removed cloud ${cloud}: ${ctx.spec.release.codename} is native to ${ctx.series.name}`);
        continue;
      }
      if (cloud !== ctx.cloud) {
        entry.set('cloud', ctx.cloud);
        changes.push(`cloud ${cloud} → ${ctx.cloud}`);
      }
      changes.push(...setPocket(entry, pocket, ctx.cloud));
    }
    if (ctx.releaseBound && ctx.cloud !== null && !ownedSeen) {
      const entry: Record<string, unknown> = { type: 'apt', cloud: ctx.cloud };
      if (pocket !== 'updates') entry.pocket = pocket;
      entry.priority = 'always';
      doc.repositoriesNode(true)?.items.push(doc.createMap(entry));
      changes.push(`added cloud ${ctx.cloud}${pocket !== 'updates' ? ` (${pocket})` : ''}`);
    }
    if (ctx.releaseBound && ctx.cloud === null && pocket === 'proposed') {
      const suite = `${ctx.series.name}-proposed`;
      const url = ctx.spec.ubuntuArchiveUrl ?? DEFAULT_UBUNTU_ARCHIVE;
      doc.repositoriesNode(true)?.items.push(
        doc.createMap({ type: 'apt', url, suites: [suite], components: ['main', 'universe'], 'key-id': UBUNTU_ARCHIVE_KEY, priority: 'always' }),
      );
      changes.push(`added Ubuntu archive ${suite}`);
    }
    if (seq && seq.items.length === 0) {
      doc.removeKey('package-repositories');
      changes.push('removed empty package-repositories');
    }
    if (changes.length > 0) doc.markModified();
    return changes;
  },
};

function setPocket(entry: YAMLMap, pocket: Pocket, cloud: string): string[] {
  const current = entry.has('pocket') ? String(entry.get('pocket')) : 'updates';
  if (current === pocket) return [];
  if (pocket === 'updates') entry.delete('pocket');
  else if (entry.has('pocket')) entry.set('pocket', pocket);
  else insertAfter(entry, 'cloud', 'pocket', pocket);
  return [`cloud ${cloud} pocket ${current} → ${pocket}`];
}

function insertAfter(map: YAMLMap, afterKey: string, key: string, value: string): void {
  const index = map.items.findIndex((pair) => isScalar(pair.key) && pair.key.value === afterKey);
  map.items.splice(index + 1, 0, new Pair(new Scalar(key), new Scalar(value)));
}

const ppaPatch: Patch = {
  id: 'ppa',
  apply(doc, ctx) {
    const changes: string[] = [];
    for (const ppa of ctx.spec.ppas ?? []) {
      const id = `${ppa.owner}/${ppa.name}`;
      const seq = doc.repositoriesNode(true);
      const existing = seq?.items.find((entry) => isMap(entry) && entry.get('ppa') === id);
      if (existing) {
        if (ppa.priority !== undefined && existing.get('priority') !== ppa.priority) {
          existing.set('priority', ppa.priority);
          changes.push(`ppa ${id} priority → ${ppa.priority}`);
        }
        continue;
      }
      seq?.items.push(doc.createMap({ type: 'apt', ppa: id, priority: ppa.priority ?? 'always' }));
      changes.push(`added ppa ${id} (priority ${ppa.priority ?? 'always'})`);
    }
    if (changes.length > 0) doc.markModified();
    return changes;
  },
};

const versionPatch: Patch = {
  id: 'version',
  apply(doc, ctx) {
    // A borrowed branch carries its own release's version; the rock is labelled with the one built.
    // Versions that are not a release number (rabbitmq 3.12.1, consul 1.19.2) stay.
    const relabel = ctx.spec.release.branchClamped && doc.version === ctx.branchRelease.number;
    const base = relabel ? ctx.spec.release.number : doc.version;
    const wanted = ctx.spec.suffix ? `${base}-${ctx.spec.suffix}` : base;
    if (wanted === doc.version && doc.versionIsString) return [];
    const before = doc.version;
    doc.setScalar('version', wanted, true);
    return [`version ${before} → "${wanted}"`];
  },
};

const packagesPatch: Patch = {
  id: 'packages',
  apply(doc, ctx) {
    const wanted = (ctx.spec.packages ?? []).filter((p) => !doc.overlayPackages.includes(p));
    if (wanted.length === 0) return [];
    const part = doc.mainPartNode();
    if (part) {
      const list = part.get('overlay-packages', true);
      if (isSeq(list)) for (const pkg of wanted) list.add(pkg);
    } else {
      doc.partsNode()?.set('heliostat-packages', doc.createMap({ plugin: 'nil', 'overlay-packages': wanted }));
    }
    doc.markModified();
    return [`added packages ${wanted.join(', ')}`];
  },
};

const workaroundsPatch: Patch = {
  id: 'workaround',
  apply(doc, ctx) {
    return ctx.workarounds.map((w) => {
      w.apply(doc);
      doc.markModified();
      return `${w.id}: ${w.description}`;
    });
  },
};

/** The order patches apply in. Base first: the cloud decision depends on the series. */
export const PATCHES: readonly Patch[] = [basePatch, cloudPatch, ppaPatch, versionPatch, packagesPatch, workaroundsPatch];

export interface RockPlacement {
  series: SeriesInfo;
  /** UCA cloud for the rock, or null when the series ships the release natively. */
  cloud: string | null;
  /**
   * Whether the rock takes its OpenStack packages from its release: upstream gives it the
   * release's cloud, or builds it on the series that ships the release natively. Release-agnostic
   * rocks (tempest on an older series, Go rocks on bare) keep their series and repositories.
   */
  releaseBound: boolean;
}

/** Decides the series a rock is built on and its UCA cloud; throws when the release can't go there. */
export function placeRock(doc: RockcraftDocument, spec: PatchSpec, branchRel: Release): RockPlacement {
  const own = seriesOfBase(doc.base === 'bare' ? (doc.buildBase ?? '') : doc.base);
  const ownedCloud = doc.repositories.some((r) => r.cloud === branchRel.codename || r.cloud === spec.release.codename);
  const releaseBound = ownedCloud || (doc.base !== 'bare' && own?.name === branchRel.nativeSeries);
  const series = spec.series ?? own ?? getSeries(spec.release.defaultSeries);
  if (!releaseBound) return { series, cloud: null, releaseBound };
  const allowed = seriesFor(spec.release);
  if (!allowed.includes(series.name)) {
    throw new UsageError(
      `${doc.source}: release ${spec.release.codename} cannot be built on ${series.name}; use --series ${allowed.join(' or ')}`,
    );
  }
  return { series, cloud: spec.release.nativeSeries === series.name ? null : spec.release.codename, releaseBound };
}

/** Applies every patch in order to a copy of `upstream`; the upstream document is left untouched. */
export function patchRockcraft(upstream: RockcraftDocument, rock: string, branch: string, spec: PatchSpec): PatchOutcome {
  const doc = upstream.clone();
  const branchRel = branchRelease(branch);
  const { series, cloud, releaseBound } = placeRock(doc, spec, branchRel);
  const workarounds = workaroundsFor(rock, spec.release, spec.workarounds ?? 'auto');
  const ctx: PatchContext = { spec, rock, branchRelease: branchRel, series, cloud, releaseBound, workarounds };
  const changes: string[] = [];
  for (const patch of PATCHES) {
    for (const change of patch.apply(doc, ctx)) changes.push(`${patch.id}: ${change}`);
  }
  const files: Record<string, string> = {};
  for (const w of workarounds) Object.assign(files, w.files());
  const notes: string[] = [];
  if (spec.release.branchClamped) {
    notes.push(`${spec.release.codename} has no branch in ubuntu-openstack-rocks; patched from ${branch}`);
  }
  return { yaml: doc.toString(), document: doc, series, changes, files, notes };
}
