// zod mirror of the Sunbeam manifest model (snap-openstack sunbeam/core/manifest.py: Manifest,
// CoreManifest, FeatureManifest, SoftwareConfig, CharmManifest, JujuManifest, TerraformManifest;
// the flat 2023.2 model is `software` at the top). Like Sunbeam's `validate_charm_keys`, charm
// keys must be charms the release's own manifest knows, per section. Configuration sections
// (CoreConfig and the feature configs) are only checked to be maps: heliostat writes none.
import { z } from 'zod';
import { knownCharms, releaseChannels } from './sunbeam-channels.js';
import type { ReleaseRef } from './sunbeam.js';

/** CharmManifest: `extra="allow"` (Sunbeam passes e.g. storage through). */
export const CharmManifestSchema = z.looseObject({
  channel: z.string().min(1).nullish(),
  revision: z.number().int().nullish(),
  config: z.record(z.string(), z.unknown()).nullish(),
});
export type CharmManifest = z.infer<typeof CharmManifestSchema>;

const JujuManifestSchema = z.object({
  bootstrap_args: z.array(z.string()).optional(),
  scale_args: z.array(z.string()).optional(),
  destroy_args: z.array(z.string()).optional(),
  bootstrap_model_configs: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
});

const TerraformManifestSchema = z.object({ source: z.string().min(1) });

function charmsOf(allowed: readonly string[], where: string) {
  const known = new Set(allowed);
  return z.record(z.string(), CharmManifestSchema).superRefine((charms, ctx) => {
    for (const key of Object.keys(charms)) {
      if (!known.has(key)) ctx.addIssue({ code: 'custom', path: [key], message: `'${key}' is not a charm of ${where}; known: ${allowed.join(', ')}` });
    }
  });
}

function softwareOf(allowed: readonly string[], where: string) {
  return z.strictObject({
    juju: JujuManifestSchema.optional(),
    charms: charmsOf(allowed, where).optional(),
    terraform: z.record(z.string(), TerraformManifestSchema).optional(),
  });
}

const ConfigMap = z.record(z.string(), z.unknown());

/** The schema of a manifest for one release, keyed to the charms and features that release knows. */
export function sunbeamManifestSchema(ref: ReleaseRef) {
  const { release, data } = releaseChannels(ref);
  const known = knownCharms(release);
  if (data.layout === 'flat') {
    const all = [...known.core, ...Object.values(known.features).flat()];
    return z.strictObject({ juju: JujuManifestSchema.optional(), software: softwareOf(all, `Sunbeam ${release.number}`).optional() });
  }
  const features = Object.fromEntries(
    Object.entries(known.features).map(([feature, charms]) => [
      feature,
      z.strictObject({ config: ConfigMap.nullish(), software: softwareOf(charms, `feature ${feature}`).optional() }).optional(),
    ]),
  );
  return z.strictObject({
    core: z.strictObject({ config: ConfigMap.optional(), software: softwareOf(known.core, `Sunbeam ${release.number} core`).optional() }).optional(),
    features: z.strictObject(features).optional(),
    storage: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
  });
}

export type SunbeamManifestDocument = z.infer<ReturnType<typeof sunbeamManifestSchema>>;
