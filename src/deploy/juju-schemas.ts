// zod schemas of the Juju 3.6 CLI's JSON (`status`, `resources`, `config`) and the typed views
// heliostat works with. Objects are loose: Juju adds fields between releases and heliostat must
// not break on them. The fields heliostat relies on are strict: a missing charm-name or a
// resource revision that is neither a number nor "-" is an error, not a silent default.
import { z } from 'zod';

const StatusInfo = z.looseObject({
  current: z.string().optional(),
  message: z.string().optional(),
  since: z.string().optional(),
  version: z.string().optional(),
});
export type JujuStatusInfo = z.infer<typeof StatusInfo>;

// Juju replaces an entity it could not read with {"status-error": "…"}; tagging both branches
// lets the views tell them apart (the loose objects would otherwise swallow the error shape).
const Errored = z.object({ 'status-error': z.string() }).transform((e) => ({ ok: false as const, error: e['status-error'] }));
const tagged = <T>(value: T) => ({ ok: true as const, value });

const Unit = z.looseObject({
  'workload-status': StatusInfo.optional(),
  'juju-status': StatusInfo.optional(),
  leader: z.boolean().optional(),
  address: z.string().optional(),
  'provider-id': z.string().optional(),
  'open-ports': z.array(z.string()).optional(),
});

const Relation = z.looseObject({ 'related-application': z.string(), interface: z.string().optional(), scope: z.string().optional() });

const Application = z.looseObject({
  charm: z.string(),
  'charm-name': z.string().min(1),
  'charm-rev': z.number().int(),
  'charm-origin': z.string().optional(),
  'charm-channel': z.string().optional(),
  base: z.looseObject({ name: z.string(), channel: z.string() }).optional(),
  scale: z.number().int().nonnegative().optional(),
  'provider-id': z.string().optional(),
  address: z.string().optional(),
  exposed: z.boolean().optional(),
  life: z.string().optional(),
  'application-status': StatusInfo.optional(),
  // Juju 2.9 printed related application names only; 3.x prints objects.
  relations: z.record(z.string(), z.array(z.union([Relation, z.string()]))).optional(),
  units: z.record(z.string(), z.union([Errored, Unit.transform(tagged)])).optional(),
  version: z.string().optional(),
});

export const JujuStatusSchema = z.looseObject({
  model: z.looseObject({
    name: z.string(),
    type: z.string().optional(),
    controller: z.string(),
    cloud: z.string().optional(),
    region: z.string().optional(),
    version: z.string(),
  }),
  applications: z.record(z.string(), z.union([Errored, Application.transform(tagged)])),
});

export interface JujuUnit {
  name: string;
  workloadStatus?: JujuStatusInfo;
  agentStatus?: JujuStatusInfo;
  leader: boolean;
  /** Pod IP on k8s. */
  address?: string;
  /** Pod name on k8s. */
  providerId?: string;
  openPorts: string[];
}

export interface JujuApplication {
  name: string;
  /** `cinder-k8s` for Charmhub charms, `local:<name>-<rev>` for local ones. */
  charm: string;
  /** What Sunbeam applications are found by: the app name (`cinder`) is not the charm name. */
  charmName: string;
  charmRev: number;
  charmOrigin?: string;
  charmChannel?: string;
  base?: { name: string; channel: string };
  scale?: number;
  providerId?: string;
  address?: string;
  exposed: boolean;
  life?: string;
  status?: JujuStatusInfo;
  units: Record<string, JujuUnit>;
  /** Units Juju could not read, with its error. */
  unitErrors: Record<string, string>;
  version?: string;
}

export interface JujuStatus {
  model: { name: string; type?: string; controller: string; cloud?: string; region?: string; version: string };
  applications: Record<string, JujuApplication>;
  /** Applications Juju could not read, with its error. */
  applicationErrors: Record<string, string>;
}

function toApplication(name: string, raw: z.output<typeof Application>): JujuApplication {
  const units: Record<string, JujuUnit> = {};
  const unitErrors: Record<string, string> = {};
  for (const [unit, entry] of Object.entries(raw.units ?? {})) {
    if (!entry.ok) {
      unitErrors[unit] = entry.error;
      continue;
    }
    const u = entry.value;
    units[unit] = {
      name: unit,
      workloadStatus: u['workload-status'],
      agentStatus: u['juju-status'],
      leader: u.leader ?? false,
      address: u.address,
      providerId: u['provider-id'],
      openPorts: u['open-ports'] ?? [],
    };
  }
  return {
    name,
    charm: raw.charm,
    charmName: raw['charm-name'],
    charmRev: raw['charm-rev'],
    charmOrigin: raw['charm-origin'],
    charmChannel: raw['charm-channel'],
    base: raw.base ? { name: raw.base.name, channel: raw.base.channel } : undefined,
    scale: raw.scale,
    providerId: raw['provider-id'],
    address: raw.address,
    exposed: raw.exposed ?? false,
    life: raw.life,
    status: raw['application-status'],
    units,
    unitErrors,
    version: raw.version,
  };
}

export function toJujuStatus(raw: z.output<typeof JujuStatusSchema>): JujuStatus {
  const applications: Record<string, JujuApplication> = {};
  const applicationErrors: Record<string, string> = {};
  for (const [name, entry] of Object.entries(raw.applications)) {
    if (entry.ok) applications[name] = toApplication(name, entry.value);
    else applicationErrors[name] = entry.error;
  }
  const { name, type, controller, cloud, region, version } = raw.model;
  return { model: { name, type, controller, cloud, region, version }, applications, applicationErrors };
}

/** The applications running a charm, by charm name (never by application name), sorted. */
export function appsByCharm(status: JujuStatus, charmName: string): string[] {
  return Object.values(status.applications)
    .filter((app) => app.charmName === charmName)
    .map((app) => app.name)
    .sort();
}

// `juju resources` prints revisions as strings, "-" when there is none.
const Revision = z.union([z.literal('-'), z.string().regex(/^\d+$/)]).transform((r) => (r === '-' ? null : Number(r)));
const ResourceType = z.enum(['oci-image', 'file']);
const ResourceOrigin = z.enum(['store', 'upload']);

const Resource = z
  .looseObject({
    resourceid: z.string().optional(),
    applicationId: z.string().optional(),
    name: z.string().min(1),
    type: ResourceType,
    path: z.string().optional(),
    description: z.string().optional(),
    revision: Revision.optional(),
    fingerprint: z.string(),
    size: z.number().int().nonnegative(),
    origin: ResourceOrigin,
    used: z.boolean(),
    timestamp: z.string().optional(),
    username: z.string().optional(),
  })
  .transform((r) => ({
    id: r.resourceid,
    application: r.applicationId,
    name: r.name,
    type: r.type,
    path: r.path ?? '',
    description: r.description ?? '',
    revision: r.revision ?? null,
    fingerprint: r.fingerprint,
    size: r.size,
    origin: r.origin,
    used: r.used,
    timestamp: r.timestamp,
    username: r.username,
  }));
export type JujuResource = z.output<typeof Resource>;

const ResourceUpdate = z
  .looseObject({
    name: z.string().min(1),
    type: ResourceType,
    path: z.string().optional(),
    description: z.string().optional(),
    revision: z.number().int().optional(),
    fingerprint: z.string(),
    size: z.number().int().nonnegative(),
    origin: ResourceOrigin,
  })
  .transform((u) => ({ ...u, path: u.path ?? '', description: u.description ?? '', revision: u.revision ?? null }));
export type JujuResourceUpdate = z.output<typeof ResourceUpdate>;

// Both lists are omitted by Juju when empty.
export const JujuResourcesSchema = z
  .looseObject({ resources: z.array(Resource).optional(), updates: z.array(ResourceUpdate).optional() })
  .transform((r) => ({ resources: r.resources ?? [], updates: r.updates ?? [] }));
export type JujuResources = z.output<typeof JujuResourcesSchema>;

const ConfigOption = z
  .looseObject({
    type: z.string(),
    description: z.string().optional(),
    default: z.unknown().optional(),
    value: z.unknown().optional(),
    source: z.string().optional(),
  })
  .transform((o) => ({ type: o.type, description: o.description ?? '', default: o.default, value: o.value, source: o.source }));
export type JujuConfigOption = z.output<typeof ConfigOption>;

export const JujuConfigSchema = z
  .looseObject({
    application: z.string(),
    charm: z.string(),
    'application-config': z.record(z.string(), ConfigOption).optional(),
    settings: z.record(z.string(), ConfigOption),
  })
  .transform((c) => ({
    application: c.application,
    charm: c.charm,
    applicationConfig: c['application-config'] ?? {},
    settings: c.settings,
    /** Whether the application is trusted (`juju trust`); Sunbeam apps need it. */
    trust: c['application-config']?.trust?.value === true,
  }));
export type JujuConfig = z.output<typeof JujuConfigSchema>;
