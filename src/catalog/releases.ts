// The OpenStack release catalog: every release heliostat knows, its Ubuntu series pairing, the UCA
// pockets that carry it and the ubuntu-openstack-rocks branch its rocks come from. Pure data and
// lookups; no I/O. Facts follow charm-helpers (OPENSTACK_CODENAMES, CLOUD_ARCHIVE_POCKETS),
// distro-info and the rocks repository's branches.
import { UsageError } from '../errors.js';

export const SERIES = [
  { name: 'focal', version: '20.04', lts: true },
  { name: 'jammy', version: '22.04', lts: true },
  { name: 'kinetic', version: '22.10', lts: false },
  { name: 'lunar', version: '23.04', lts: false },
  { name: 'mantic', version: '23.10', lts: false },
  { name: 'noble', version: '24.04', lts: true },
  { name: 'oracular', version: '24.10', lts: false },
  { name: 'plucky', version: '25.04', lts: false },
  { name: 'questing', version: '25.10', lts: false },
  { name: 'resolute', version: '26.04', lts: true },
] as const;

export type SeriesName = (typeof SERIES)[number]['name'];
export type SeriesInfo = (typeof SERIES)[number];

/** Series a rock can be based on: rockcraft bases exist for these (`ubuntu@<version>`). */
export const ROCK_SERIES: readonly SeriesName[] = ['jammy', 'noble', 'questing', 'resolute'];

export interface Release {
  number: string;
  codename: string;
  /** The Ubuntu series whose own archive ships this release (no UCA needed there). */
  nativeSeries: SeriesName;
  /** Series whose UCA carries this release as `<series>-updates/<codename>` (and `-proposed`). */
  ucaSeries: readonly SeriesName[];
  /** ubuntu-openstack-rocks branch the rocks are read from. */
  rocksBranch: string;
  /** True when the repository has no branch of this release and a neighbour's is used instead. */
  branchClamped: boolean;
  /** Series the branch's rocks are based on: the default series of a build. */
  defaultSeries: SeriesName;
  /** OVN version built with this release, when the branch has OVN rocks. */
  ovn: string | null;
  /** Sunbeam charm channel track (`<track>/<risk>`), when Sunbeam ships this release. */
  sunbeamTrack: string | null;
}

export const RELEASES: readonly Release[] = [
  { number: '2022.1', codename: 'yoga', nativeSeries: 'jammy', ucaSeries: ['focal'], rocksBranch: 'stable/2023.1', branchClamped: true, defaultSeries: 'jammy', ovn: null, sunbeamTrack: null },
  { number: '2022.2', codename: 'zed', nativeSeries: 'kinetic', ucaSeries: ['jammy'], rocksBranch: 'stable/2023.1', branchClamped: true, defaultSeries: 'jammy', ovn: null, sunbeamTrack: null },
  { number: '2023.1', codename: 'antelope', nativeSeries: 'lunar', ucaSeries: ['jammy'], rocksBranch: 'stable/2023.1', branchClamped: false, defaultSeries: 'jammy', ovn: '23.03', sunbeamTrack: null },
  { number: '2023.2', codename: 'bobcat', nativeSeries: 'mantic', ucaSeries: ['jammy'], rocksBranch: 'stable/2023.2', branchClamped: false, defaultSeries: 'jammy', ovn: '23.09', sunbeamTrack: '2023.2' },
  { number: '2024.1', codename: 'caracal', nativeSeries: 'noble', ucaSeries: ['jammy'], rocksBranch: 'stable/2024.1', branchClamped: false, defaultSeries: 'noble', ovn: '24.03', sunbeamTrack: '2024.1' },
  { number: '2024.2', codename: 'dalmatian', nativeSeries: 'oracular', ucaSeries: ['noble'], rocksBranch: 'dalmatian', branchClamped: false, defaultSeries: 'noble', ovn: '24.09', sunbeamTrack: null },
  { number: '2025.1', codename: 'epoxy', nativeSeries: 'plucky', ucaSeries: ['noble'], rocksBranch: 'stable/2025.1', branchClamped: false, defaultSeries: 'noble', ovn: '25.03', sunbeamTrack: '2025.1' },
  { number: '2025.2', codename: 'flamingo', nativeSeries: 'questing', ucaSeries: ['noble'], rocksBranch: 'main', branchClamped: true, defaultSeries: 'noble', ovn: null, sunbeamTrack: null },
  { number: '2026.1', codename: 'gazpacho', nativeSeries: 'resolute', ucaSeries: ['noble'], rocksBranch: 'main', branchClamped: false, defaultSeries: 'noble', ovn: '26.03', sunbeamTrack: '2026.1' },
];

export const POCKETS = ['updates', 'proposed'] as const;
export type Pocket = (typeof POCKETS)[number];

function validReleaseNames(): string {
  return RELEASES.map((r) => `${r.codename} (${r.number})`).join(', ');
}

/** Looks a release up by codename or number (`caracal` = `2024.1`), case-insensitively. */
export function findRelease(nameOrNumber: string): Release | undefined {
  const key = nameOrNumber.trim().toLowerCase();
  return RELEASES.find((r) => r.codename === key || r.number === key);
}

export function getRelease(nameOrNumber: string): Release {
  const release = findRelease(nameOrNumber);
  if (!release) {
    throw new UsageError(`unknown release '${nameOrNumber}'; valid releases: ${validReleaseNames()}`);
  }
  return release;
}

export function getSeries(name: string): SeriesInfo {
  const key = name.trim().toLowerCase();
  const series = SERIES.find((s) => s.name === key || s.version === key);
  if (!series) {
    throw new UsageError(`unknown series '${name}'; valid series: ${SERIES.map((s) => s.name).join(', ')}`);
  }
  return series;
}

export function getPocket(name: string): Pocket {
  const pocket = POCKETS.find((p) => p === name);
  if (!pocket) throw new UsageError(`unknown pocket '${name}'; valid pockets: ${POCKETS.join(', ')}`);
  return pocket;
}

/** Series on which a rock of this release can be built: the native one and those with a UCA. */
export function seriesFor(release: Release): SeriesName[] {
  const candidates = [release.nativeSeries, ...release.ucaSeries];
  return ROCK_SERIES.filter((s) => candidates.includes(s));
}

/**
 * The (release, series) pair a build targets, validated: the series must be able to carry the
 * release (natively or through the UCA) and must be a rock base.
 */
export interface Target {
  release: Release;
  series: SeriesInfo;
  /** UCA cloud name for package-repositories, or null when the series ships the release natively. */
  cloud: string | null;
  /** The rockcraft base for the series (`ubuntu@24.04`). */
  base: string;
}

export function resolveTarget(releaseName: string, seriesName?: string): Target {
  const release = getRelease(releaseName);
  const series = getSeries(seriesName ?? release.defaultSeries);
  const allowed = seriesFor(release);
  if (!allowed.includes(series.name)) {
    throw new UsageError(
      `release ${release.codename} cannot be built on ${series.name}; valid series for ${release.codename}: ${allowed.join(', ')}`,
    );
  }
  return {
    release,
    series,
    cloud: release.nativeSeries === series.name ? null : release.codename,
    base: `ubuntu@${series.version}`,
  };
}

/** The series a rockcraft base names (`ubuntu@24.04`, or the old `ubuntu:22.04`). */
export function seriesOfBase(base: string): SeriesInfo | undefined {
  const match = /^ubuntu[@:](\d\d\.\d\d)$/.exec(base);
  return match ? SERIES.find((s) => s.version === match[1]) : undefined;
}

/** A one-line note for output when a release borrows another release's rocks branch. */
export function clampNote(release: Release): string | undefined {
  if (!release.branchClamped) return undefined;
  return `${release.codename} has no branch in ubuntu-openstack-rocks; using ${release.rocksBranch} with ${release.codename} packages`;
}
