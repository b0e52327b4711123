// The Sunbeam catalog, pure: for each release Sunbeam deploys, which charm resources run which
// rock, in which containers, under which application names. Reconcile uses it to turn "rock X was
// rebuilt" into the `juju attach-resource` calls to make; operators see it as `heliostat charms`.
// Facts come from sunbeam-charms' charmcraft.yaml files per branch (see ./data/sunbeam-charms.json).
import { UsageError } from '../errors.js';
import { getRelease, RELEASES, type Release } from './releases.js';
import { channelsData, charmsData, type CharmData, type ReleaseCharms } from './sunbeam-data.js';

export interface SunbeamRelease {
  release: Release;
  data: ReleaseCharms;
}

export interface CharmResource {
  charm: string;
  resource: string;
  /** The charm's default image (`upstream-source`). */
  image: string;
  /** The rock folder the image is built from, or null for an image built elsewhere (external). */
  rock: string | null;
  /** Application names Sunbeam gives the charm (patterns such as `nova-ironic-<shard>` kept). */
  apps: string[];
  /** Workload containers running this resource; null where the container map is unknown. */
  containers: string[] | null;
  /** Where Sunbeam's manifest for the release lists the charm: `core`, a feature, or null if nowhere. */
  section: string | null;
}

export interface SunbeamCharm {
  charm: string;
  apps: string[];
  /** `core`, the feature that deploys the charm, or null when Sunbeam's manifest does not list it. */
  section: string | null;
  resources: CharmResource[];
}

export type ReleaseRef = string | Release;

/** Releases that have Sunbeam charms, oldest first. */
export function sunbeamReleases(): Release[] {
  const releases = charmsData().releases;
  return RELEASES.filter((r) => r.number in releases);
}

function supportedNames(): string {
  return sunbeamReleases()
    .map((r) => `${r.codename} (${r.number})`)
    .join(', ');
}

/** Resolves a codename or number to a release Sunbeam deploys; anything else is a usage error. */
export function sunbeamRelease(ref: ReleaseRef): SunbeamRelease {
  const release = typeof ref === 'string' ? getRelease(ref) : ref;
  const data = charmsData().releases[release.number];
  if (!data) {
    throw new UsageError(`release ${release.codename} (${release.number}) has no Sunbeam charms; Sunbeam releases: ${supportedNames()}`);
  }
  return { release, data };
}

/**
 * The image's last path component without tag or digest: the rock folder name for images built
 * from ubuntu-openstack-rocks (`ghcr.io/canonical/cinder-consolidated:2024.1-24.04_edge` →
 * `cinder-consolidated`). Whether the image is such a rock is recorded in the data.
 */
export function imageBaseName(image: string): string {
  const withoutDigest = image.split('@')[0] ?? image;
  const last = withoutDigest.split('/').pop() ?? withoutDigest;
  return last.split(':')[0] ?? last;
}

export function appNamesFor(charm: string): string[] {
  const apps = charmsData().apps[charm];
  if (!apps) throw new UsageError(`unknown Sunbeam charm '${charm}'; 'heliostat charms --release <release>' lists the known charms`);
  return [...apps];
}

/** Whether an application name is one of the charm's, patterns (`ironic-conductor-<shard>`) included. */
export function isAppOf(charm: string, app: string): boolean {
  const apps = charmsData().apps[charm] ?? [];
  return apps.some((name) => appPattern(name).test(app));
}

function appPattern(name: string): RegExp {
  // A placeholder stands for one Juju name fragment: lowercase letters, digits and dashes.
  const source = name
    .split(/<[a-z-]+>/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[a-z0-9][a-z0-9-]*');
  return new RegExp(`^${source}$`);
}

/**
 * The manifest section that deploys the charm. Some charms of a branch are not deployed by that
 * release's Sunbeam (ovn-central-k8s on 2026.1, where microovn took over; cloudkitty-k8s).
 */
function sectionOf(release: string, charm: string): string | null {
  const channels = channelsData().releases[release];
  if (!channels) return null;
  if (charm in channels.core) return 'core';
  return Object.entries(channels.features).find(([, charms]) => charm in charms)?.[0] ?? null;
}

function describeCharm(release: string, charm: string, data: CharmData): SunbeamCharm {
  const apps = charmsData().apps[charm] ?? [];
  const section = sectionOf(release, charm);
  const resources = Object.entries(data.resources).map(([resource, r]) => ({
    charm,
    resource,
    image: r.image,
    rock: r.rock,
    apps: [...apps],
    containers: data.containers
      ? Object.entries(data.containers)
          .filter(([, res]) => res === resource)
          .map(([container]) => container)
      : null,
    section,
  }));
  return { charm, apps: [...apps], section, resources };
}

/** Every charm of the release that has OCI image resources, by name. */
export function charmsForRelease(ref: ReleaseRef): SunbeamCharm[] {
  const { release, data } = sunbeamRelease(ref);
  return Object.keys(data.byCharm)
    .sort()
    .map((charm) => describeCharm(release.number, charm, data.byCharm[charm] as CharmData));
}

export function charmForRelease(ref: ReleaseRef, charm: string): SunbeamCharm {
  const { release, data } = sunbeamRelease(ref);
  const found = data.byCharm[charm];
  if (!found) {
    throw new UsageError(`charm '${charm}' has no OCI image resources in Sunbeam ${release.number}; charms: ${Object.keys(data.byCharm).sort().join(', ')}`);
  }
  return describeCharm(release.number, charm, found);
}

/** The rocks a charm's resources run (external images left out), sorted and unique. */
export function rocksForCharm(ref: ReleaseRef, charm: string): string[] {
  const rocks = charmForRelease(ref, charm).resources.flatMap((r) => (r.rock ? [r.rock] : []));
  return [...new Set(rocks)].sort();
}

/** Every charm resource that runs the rock: consolidated rocks feed several (nova-k8s: four). */
export function resourcesUsingRock(ref: ReleaseRef, rock: string): CharmResource[] {
  return charmsForRelease(ref).flatMap((c) => c.resources.filter((r) => r.rock === rock));
}

/**
 * The rocks the charms Sunbeam deploys for the release run: the ones worth building for it. Charms
 * of the branch that the release's manifest does not list are left out.
 */
export function rocksConsumedBy(ref: ReleaseRef): Set<string> {
  const deployed = charmsForRelease(ref).filter((c) => c.section !== null);
  return new Set(deployed.flatMap((c) => c.resources.flatMap((r) => (r.rock ? [r.rock] : []))));
}
