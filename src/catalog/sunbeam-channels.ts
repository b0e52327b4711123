// Charm channels Sunbeam pins per release and risk, pure. The table reproduces the manifests the
// `openstack` snap of each release embeds (core charms, then each feature's charms), including
// where they depart from `<track>/<risk>`: microceph, microovn and multus stay on stable, consul
// has no 1.19/stable and uses edge, and some charms are missing from some risks.
import { UsageError } from '../errors.js';
import type { Release } from './releases.js';
import { sunbeamRelease, type ReleaseRef } from './sunbeam.js';
import { channelsData, SUNBEAM_RISKS, type ChannelEntry, type ChannelTemplate, type ReleaseChannels, type SunbeamRisk } from './sunbeam-data.js';

export { SUNBEAM_RISKS, type SunbeamRisk } from './sunbeam-data.js';

export interface CharmChannel {
  channel: string;
  config?: Record<string, string>;
}

export interface ResolvedChannels {
  release: Release;
  risk: SunbeamRisk;
  layout: ReleaseChannels['layout'];
  core: Record<string, CharmChannel>;
  /** The selected features only, in Sunbeam's order. */
  features: Record<string, Record<string, CharmChannel>>;
}

export function parseRisk(value: string): SunbeamRisk {
  const risk = SUNBEAM_RISKS.find((r) => r === value);
  if (!risk) throw new UsageError(`unknown risk '${value}'; valid risks: ${SUNBEAM_RISKS.join(', ')}`);
  return risk;
}

export function releaseChannels(ref: ReleaseRef): { release: Release; data: ReleaseChannels } {
  const { release } = sunbeamRelease(ref);
  const data = channelsData().releases[release.number];
  // The two data files cover the same releases (a test checks it); this guards a bad edit.
  if (!data) throw new Error(`no Sunbeam channel table for ${release.number}`);
  return { release, data };
}

/** Features whose charms Sunbeam's manifest for the release pins, in the manifest's order. */
export function featuresOf(ref: ReleaseRef): string[] {
  return Object.keys(releaseChannels(ref).data.features);
}

export function resolveTemplate(template: ChannelTemplate, risk: SunbeamRisk): string {
  const pattern = typeof template === 'string' ? template : (template[risk] ?? template['*'] ?? '');
  return pattern.replaceAll('{risk}', risk);
}

function resolveCharms(entries: Record<string, ChannelEntry>, risk: SunbeamRisk): Record<string, CharmChannel> {
  const out: Record<string, CharmChannel> = {};
  for (const [charm, entry] of Object.entries(entries)) {
    if (entry.risks && !entry.risks.includes(risk)) continue;
    const resolved: CharmChannel = { channel: resolveTemplate(entry.channel, risk) };
    if (entry.config) {
      resolved.config = Object.fromEntries(Object.entries(entry.config).map(([key, t]) => [key, resolveTemplate(t, risk)]));
    }
    out[charm] = resolved;
  }
  return out;
}

/**
 * Channels for the release and risk. `features` undefined selects every feature, as Sunbeam's
 * own manifests do (a feature's section only takes effect once the feature is enabled); an
 * unknown feature is a usage error naming the known ones.
 */
export function channelsFor(ref: ReleaseRef, risk: SunbeamRisk, features?: readonly string[]): ResolvedChannels {
  const { release, data } = releaseChannels(ref);
  const known = Object.keys(data.features);
  const unknown = (features ?? []).filter((f) => !known.includes(f));
  if (unknown.length > 0) {
    throw new UsageError(`unknown feature '${unknown[0]}' for Sunbeam ${release.number}; features with charms: ${known.join(', ')}`);
  }
  const selected = features === undefined ? known : known.filter((f) => features.includes(f));
  const out: ResolvedChannels = { release, risk, layout: data.layout, core: resolveCharms(data.core, risk), features: {} };
  for (const feature of selected) {
    const charms = resolveCharms(data.features[feature] ?? {}, risk);
    if (Object.keys(charms).length > 0) out.features[feature] = charms;
  }
  return out;
}

/** Every charm name the release's manifest may carry, per section: what Sunbeam validates keys against. */
export function knownCharms(ref: ReleaseRef): { core: string[]; features: Record<string, string[]> } {
  const { data } = releaseChannels(ref);
  return {
    core: Object.keys(data.core),
    features: Object.fromEntries(Object.entries(data.features).map(([f, charms]) => [f, Object.keys(charms)])),
  };
}
