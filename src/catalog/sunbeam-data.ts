// The checked-in Sunbeam data, validated once on first use. The JSON files under ./data/ are the
// editable source: tsc copies a JSON file it compiles an import of into dist/ beside the module,
// so the same relative import works from src/ under vitest and from dist/src/ after a build, with
// no path arithmetic and no read of anything outside the package. Both files are generated and
// checked by tests (test/catalog/sunbeam.test.ts, test/deploy/manifest.test.ts); edit them by
// updating the inputs there and running vitest with -u.
import { z } from 'zod';
import charmsJson from './data/sunbeam-charms.json' with { type: 'json' };
import channelsJson from './data/sunbeam-channels.json' with { type: 'json' };

export const SUNBEAM_RISKS = ['stable', 'candidate', 'beta', 'edge'] as const;
export type SunbeamRisk = (typeof SUNBEAM_RISKS)[number];

const Source = z.strictObject({ repo: z.string().min(1), branch: z.string().min(1), commit: z.string().min(7) });

const ResourceData = z.strictObject({
  /** The charm's `upstream-source`. */
  image: z.string().min(1),
  /** The ubuntu-openstack-rocks folder the image is built from; null for images built elsewhere. */
  rock: z.string().min(1).nullable(),
});

const CharmData = z.strictObject({
  resources: z.record(z.string(), ResourceData),
  /** Workload container → the resource it runs; null where the reference has no container map. */
  containers: z.record(z.string(), z.string()).nullable(),
  /** Set when the charm lives outside the release's sunbeam-charms branch. */
  source: z.strictObject({ repo: z.string(), path: z.string(), commit: z.string() }).optional(),
});
export type CharmData = z.infer<typeof CharmData>;

const ReleaseCharms = z.strictObject({
  charms: Source,
  rocksBranch: z.string().min(1),
  byCharm: z.record(z.string(), CharmData),
});
export type ReleaseCharms = z.infer<typeof ReleaseCharms>;

const CharmsFile = z.strictObject({
  _source: z.string(),
  /** Charm → Sunbeam application names; `<shard>`-style parts are placeholders. */
  apps: z.record(z.string(), z.array(z.string().min(1)).min(1)),
  releases: z.record(z.string(), ReleaseCharms),
});
export type CharmsFile = z.infer<typeof CharmsFile>;

const RiskKey = z.enum([...SUNBEAM_RISKS, '*']);
/**
 * A channel for every risk: a string where `{risk}` stands for the requested risk, or, where
 * Sunbeam's manifests depart from that pattern for some risks, a map with those risks and `*`.
 */
const Template = z.union([z.string().min(1), z.partialRecord(RiskKey, z.string().min(1)).refine((t) => t['*'] !== undefined, 'needs a "*" entry')]);
export type ChannelTemplate = z.infer<typeof Template>;

const ChannelEntry = z.strictObject({
  channel: Template,
  config: z.record(z.string(), Template).optional(),
  /** Risks whose manifest lists the charm; absent means every risk. */
  risks: z.array(z.enum(SUNBEAM_RISKS)).optional(),
});
export type ChannelEntry = z.infer<typeof ChannelEntry>;

const ReleaseChannels = z.strictObject({
  snap: Source,
  /** `features`: core + features sections (2024.1 on); `flat`: one charm list (2023.2). */
  layout: z.enum(['features', 'flat']),
  shippedRisks: z.array(z.enum(SUNBEAM_RISKS)).min(1),
  core: z.record(z.string(), ChannelEntry),
  features: z.record(z.string(), z.record(z.string(), ChannelEntry)),
});
export type ReleaseChannels = z.infer<typeof ReleaseChannels>;

const ChannelsFile = z.strictObject({ _source: z.string(), releases: z.record(z.string(), ReleaseChannels) });
export type ChannelsFile = z.infer<typeof ChannelsFile>;

let charms: CharmsFile | undefined;
let channels: ChannelsFile | undefined;

export function charmsData(): CharmsFile {
  charms ??= CharmsFile.parse(charmsJson);
  return charms;
}

export function channelsData(): ChannelsFile {
  channels ??= ChannelsFile.parse(channelsJson);
  return channels;
}
