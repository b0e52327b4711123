// Sunbeam manifests, pure: the charm channels Sunbeam's own manifests pin for a release and risk,
// as YAML that `sunbeam cluster bootstrap|refresh|enable -m` accepts, validated against a mirror
// of Sunbeam's model before it is returned. A manifest cannot set a charm's OCI image (Sunbeam's
// CharmManifest has no such field), so for a build the manifest only carries, as comments, the
// resources heliostat attaches itself.
import { Document } from 'yaml';
import { UsageError } from '../errors.js';
import { channelsFor, parseRisk, releaseChannels, type CharmChannel, type ResolvedChannels, type SunbeamRisk } from '../catalog/sunbeam-channels.js';
import { resourcesUsingRock, type ReleaseRef } from '../catalog/sunbeam.js';
import { sunbeamManifestSchema } from '../catalog/sunbeam-manifest-schema.js';

export { SUNBEAM_RISKS, type SunbeamRisk } from '../catalog/sunbeam-channels.js';

export interface ManifestOptions {
  release: ReleaseRef;
  risk: SunbeamRisk;
  /** Features to include; undefined includes every feature, as Sunbeam's own manifests do. */
  features?: readonly string[];
}

/** A rock heliostat built and published: the image the charm resources should run. */
export interface BuiltImage {
  rock: string;
  /** Image reference, with or without the digest. */
  ref: string;
  digest: string;
}

type Charms = Record<string, CharmChannel>;

function software(charms: Charms) {
  return { software: { charms } };
}

function toDocument(resolved: ResolvedChannels): Record<string, unknown> {
  if (resolved.layout === 'flat') {
    // 2023.2's model had no core/feature split: one charm list.
    const charms: Charms = { ...resolved.core };
    for (const feature of Object.values(resolved.features)) Object.assign(charms, feature);
    return software(charms);
  }
  const features = Object.fromEntries(Object.entries(resolved.features).map(([f, charms]) => [f, software(charms)]));
  return { core: software(resolved.core), ...(Object.keys(features).length > 0 ? { features } : {}) };
}

/** The manifest as a plain object, validated against the release's schema. */
export function manifestDocument(options: ManifestOptions): Record<string, unknown> {
  const resolved = channelsFor(options.release, parseRisk(options.risk), options.features);
  const document = toDocument(resolved);
  const checked = sunbeamManifestSchema(resolved.release).safeParse(document);
  // Only a bad edit of the channel table can get here: the input was validated above.
  if (!checked.success) throw new Error(`generated Sunbeam manifest is invalid: ${checked.error.issues[0]?.message ?? 'unknown issue'}`);
  return document;
}

function header(options: ManifestOptions): string[] {
  const { release, data } = releaseChannels(options.release);
  const source = `${data.snap.repo} ${data.snap.branch} @${data.snap.commit}`;
  return [
    `Sunbeam manifest for OpenStack ${release.number} (${release.codename}), charm risk ${options.risk}.`,
    data.shippedRisks.includes(options.risk)
      ? `Channels as in the manifests of ${source}.`
      : `Sunbeam ships no ${options.risk} manifest for ${release.number}: channels follow its ${data.shippedRisks.join('/')} manifests (${source}).`,
    'Written by heliostat. Apply with: sunbeam cluster refresh -m <this file>',
  ];
}

function render(document: Record<string, unknown>, comment: readonly string[]): string {
  const doc = new Document(document);
  doc.commentBefore = comment.map((line) => (line ? ` ${line}` : '')).join('\n');
  return doc.toString({ lineWidth: 0 });
}

export function buildManifest(options: ManifestOptions): string {
  return render(manifestDocument(options), header(options));
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

function pinned(image: BuiltImage): string {
  if (!DIGEST.test(image.digest)) throw new UsageError(`invalid digest '${image.digest}' for rock ${image.rock}: expected sha256:<64 hex digits>`);
  if (!image.ref || /\s/.test(image.ref)) throw new UsageError(`invalid image reference '${image.ref}' for rock ${image.rock}`);
  const at = image.ref.indexOf('@');
  if (at < 0) return `${image.ref}@${image.digest}`;
  if (image.ref.slice(at + 1) !== image.digest) throw new UsageError(`image reference ${image.ref} does not carry digest ${image.digest}`);
  return image.ref;
}

/** Comment lines naming each resource heliostat attaches for these images, and the rocks no charm runs. */
export function attachmentComment(release: ReleaseRef, images: readonly BuiltImage[]): string[] {
  const seen = new Set<string>();
  const rows: string[][] = [];
  const unused: string[] = [];
  for (const image of images) {
    if (seen.has(image.rock)) throw new UsageError(`rock ${image.rock} is listed twice`);
    seen.add(image.rock);
    const ref = pinned(image);
    const uses = resourcesUsingRock(release, image.rock);
    if (uses.length === 0) unused.push(image.rock);
    for (const use of uses) rows.push([use.apps.join(',') || '-', use.resource, `(${use.charm})`, ref]);
  }
  const widths = [0, 1, 2].map((i) => Math.max(0, ...rows.map((r) => (r[i] ?? '').length)));
  const lines = [
    '',
    'OCI images. A Sunbeam manifest cannot set them, so heliostat attaches these resources',
    'itself (juju attach-resource in the openstack model): application, resource, charm, image.',
    ...rows.map((r) => `  ${r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  ')}`),
  ];
  if (rows.length === 0) lines.push('  (none)');
  if (unused.length > 0) lines.push(`Built rocks no Sunbeam charm of this release runs (not attached): ${unused.sort().join(', ')}`);
  return lines;
}

/** The manifest for a published build: charm channels plus the attached resources as comments. */
export function manifestForBuild(
  release: ReleaseRef,
  images: readonly BuiltImage[],
  options: { risk?: SunbeamRisk; features?: readonly string[] } = {},
): string {
  const manifestOptions: ManifestOptions = { release, risk: options.risk ?? 'stable', features: options.features };
  const document = manifestDocument(manifestOptions);
  return render(document, [...header(manifestOptions), ...attachmentComment(release, images)]);
}
