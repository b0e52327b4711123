import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import shipped from '../../src/catalog/data/sunbeam-manifests.json' with { type: 'json' };
import { channelsFor, featuresOf, parseRisk, SUNBEAM_RISKS, type SunbeamRisk } from '../../src/catalog/sunbeam-channels.js';
import type { ChannelEntry, ChannelsFile, ChannelTemplate, ReleaseChannels } from '../../src/catalog/sunbeam-data.js';
import { sunbeamManifestSchema } from '../../src/catalog/sunbeam-manifest-schema.js';
import { buildManifest, manifestDocument, manifestForBuild, type BuiltImage } from '../../src/deploy/manifest.js';
import { UsageError } from '../../src/errors.js';

interface ShippedRelease {
  repo: string;
  branch: string;
  commit: string;
  manifests: Partial<Record<SunbeamRisk, { path: string; text: string }>>;
}
const SHIPPED = shipped.releases as Record<string, ShippedRelease>;

interface ShippedEntry {
  channel: string;
  config?: Record<string, string>;
}
type Charms = Record<string, ShippedEntry>;
interface ShippedDoc {
  core?: { software: { charms: Charms } };
  features?: Record<string, { software: { charms: Charms } }>;
  software?: { charms: Charms };
}

/** The sections of a shipped manifest: core then features, or one flat list (2023.2). */
function sections(doc: ShippedDoc): Array<[string, Charms]> {
  if (doc.software) return [['', doc.software.charms]];
  return [['core', doc.core?.software.charms ?? {}], ...Object.entries(doc.features ?? {}).map(([f, v]): [string, Charms] => [f, v.software.charms])];
}

/**
 * The template that reproduces a channel across risks: `{risk}` where the channel follows the
 * risk, a literal where it does not, and explicit exceptions for the risks neither covers.
 */
function template(values: Array<[SunbeamRisk, string]>): ChannelTemplate {
  const candidates = (risk: SunbeamRisk, value: string) => (value.endsWith(`/${risk}`) ? [`${value.slice(0, -risk.length)}{risk}`, value] : [value]);
  const counts = new Map<string, number>();
  for (const [risk, value] of values) for (const c of candidates(risk, value)) counts.set(c, (counts.get(c) ?? 0) + 1);
  const ranked = [...counts].sort(([a, x], [b, y]) => y - x || Number(b.includes('{risk}')) - Number(a.includes('{risk}')) || (a < b ? -1 : 1));
  const best = ranked[0]?.[0] ?? '';
  const exceptions = values.filter(([risk, value]) => !candidates(risk, value).includes(best));
  return exceptions.length === 0 ? best : { ...Object.fromEntries(exceptions), '*': best };
}

function deriveRelease(release: string, source: ShippedRelease, featureOf: Map<string, string>): ReleaseChannels {
  const risks = SUNBEAM_RISKS.filter((r) => source.manifests[r]);
  const seen = new Map<string, Map<string, Map<SunbeamRisk, ShippedEntry>>>();
  let flat = false;
  for (const risk of risks) {
    const doc = parse(source.manifests[risk]?.text ?? '') as ShippedDoc;
    for (const [name, charms] of sections(doc)) {
      flat ||= name === '';
      for (const [charm, entry] of Object.entries(charms)) {
        // The flat layout had no sections: file each charm where later releases put it.
        const section = name === '' ? (featureOf.get(charm) ?? 'core') : name;
        if (!seen.has(section)) seen.set(section, new Map());
        const bySection = seen.get(section)!;
        if (!bySection.has(charm)) bySection.set(charm, new Map());
        bySection.get(charm)!.set(risk, entry);
      }
    }
  }
  const entry = (byRisk: Map<SunbeamRisk, ShippedEntry>): ChannelEntry => {
    const present = [...byRisk.keys()];
    const configKeys = [...new Set(present.flatMap((r) => Object.keys(byRisk.get(r)?.config ?? {})))];
    if (present.some((r) => Object.keys(byRisk.get(r)?.config ?? {}).length !== configKeys.length)) throw new Error('config keys differ between risks');
    return {
      channel: template(present.map((r) => [r, byRisk.get(r)!.channel])),
      ...(configKeys.length > 0 ? { config: Object.fromEntries(configKeys.map((k) => [k, template(present.map((r) => [r, byRisk.get(r)!.config![k]!]))])) } : {}),
      ...(present.length < risks.length ? { risks: present } : {}),
    };
  };
  const table = (charms: Map<string, Map<SunbeamRisk, ShippedEntry>> = new Map()): Record<string, ChannelEntry> =>
    Object.fromEntries([...charms].map(([c, byRisk]) => [c, entry(byRisk)]));
  return {
    snap: { repo: source.repo, branch: source.branch, commit: source.commit },
    layout: flat ? 'flat' : 'features',
    shippedRisks: risks,
    core: table(seen.get('core')),
    features: Object.fromEntries([...seen.keys()].filter((s) => s !== 'core').map((f) => [f, table(seen.get(f))])),
  };
}

/** Re-derives src/catalog/data/sunbeam-channels.json from the verbatim manifests beside it. */
function deriveChannelsFile(): ChannelsFile {
  const releases: ChannelsFile['releases'] = {};
  const featureOf = new Map<string, string>();
  // Newest first, so a flat (older) release files its charms by the newest layout.
  for (const release of Object.keys(SHIPPED).sort().reverse()) {
    const derived = deriveRelease(release, SHIPPED[release]!, featureOf);
    for (const [feature, charms] of Object.entries(derived.features)) for (const charm of Object.keys(charms)) if (!featureOf.has(charm)) featureOf.set(charm, feature);
    releases[release] = derived;
  }
  return {
    _source:
      "Charm channels per release, derived by test/deploy/manifest.test.ts from sunbeam-manifests.json (Sunbeam's own manifests); regenerate with `npx vitest run test/deploy/manifest.test.ts -u`. `{risk}` stands for the requested risk; a map gives the risks that depart from the `*` pattern; `risks` lists the only risks whose manifest carries the charm. The flat 2023.2 list is filed into core and features as later releases file the same charms.",
    releases: Object.fromEntries(Object.keys(releases).sort().map((r) => [r, releases[r]!])),
  };
}

const shippedCases = Object.entries(SHIPPED).flatMap(([release, s]) => SUNBEAM_RISKS.filter((r) => s.manifests[r]).map((risk) => [release, risk, s.manifests[risk]!.text] as const));

describe('sunbeam-channels.json', () => {
  it('is exactly what the shipped manifests derive', async () => {
    await expect(JSON.stringify(deriveChannelsFile(), null, 2) + '\n').toMatchFileSnapshot('../../src/catalog/data/sunbeam-channels.json');
  });
});

describe('buildManifest against the manifests Sunbeam ships', () => {
  it('covers every release and risk Sunbeam ships', () => {
    expect(shippedCases.map(([r, risk]) => `${r}/${risk}`)).toEqual([
      '2023.2/candidate',
      '2023.2/edge',
      ...['2024.1', '2025.1', '2026.1'].flatMap((r) => SUNBEAM_RISKS.map((risk) => `${r}/${risk}`)),
    ]);
  });

  it.each(shippedCases)('%s %s equals the shipped manifest', (release, risk, text) => {
    expect(parse(buildManifest({ release, risk }))).toEqual(parse(text));
  });
});

describe('buildManifest', () => {
  const channel = (doc: Record<string, unknown>, path: string[]): unknown => path.reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], doc);

  it('pins OpenStack, OVN and other charms on their own tracks', () => {
    const doc = parse(buildManifest({ release: 'epoxy', risk: 'stable' })) as Record<string, unknown>;
    const core = ['core', 'software', 'charms'];
    expect(channel(doc, [...core, 'keystone-k8s', 'channel'])).toBe('2025.1/stable');
    expect(channel(doc, [...core, 'ovn-central-k8s', 'channel'])).toBe('25.03/stable');
    expect(channel(doc, [...core, 'microceph'])).toEqual({ channel: 'squid/stable', config: { 'snap-channel': 'squid/stable' } });
    expect(channel(doc, [...core, 'openstack-hypervisor', 'config', 'snap-channel'])).toBe('2025.1/stable');
    expect(channel(doc, ['features', 'dns', 'software', 'charms', 'designate-bind-k8s', 'channel'])).toBe('9/stable');
    expect(channel(doc, ['features', 'instance-recovery', 'software', 'charms', 'consul-k8s', 'channel'])).toBe('1.19/edge');
  });

  it('follows the risk where Sunbeam does, and only there', () => {
    const doc = parse(buildManifest({ release: '2024.1', risk: 'edge' })) as Record<string, unknown>;
    const core = ['core', 'software', 'charms'];
    expect(channel(doc, [...core, 'nova-k8s', 'channel'])).toBe('2024.1/edge');
    expect(channel(doc, [...core, 'ovn-relay-k8s', 'channel'])).toBe('24.03/edge');
    expect(channel(doc, [...core, 'microovn', 'channel'])).toBe('24.03/stable');
    expect(channel(doc, ['features', 'instance-recovery', 'software', 'charms', 'consul-client', 'channel'])).toBe('1.19/edge');
    expect(channel(doc, ['features', 'loadbalancer', 'software', 'charms', 'multus', 'channel'])).toBe('latest/stable');
  });

  it('drops the OVN k8s charms on 2026.1 and epa-orchestrator where Sunbeam does', () => {
    const charms = (release: string, risk: SunbeamRisk) => Object.keys(channelsFor(release, risk).core);
    expect(charms('2026.1', 'stable')).not.toContain('ovn-central-k8s');
    expect(charms('2026.1', 'beta')).not.toContain('epa-orchestrator');
    expect(charms('2026.1', 'edge')).toContain('epa-orchestrator');
    expect(charms('2024.1', 'beta')).toContain('epa-orchestrator');
  });

  it('extends 2023.2 to the risks Sunbeam shipped no manifest for, in its flat layout', () => {
    const doc = parse(buildManifest({ release: 'bobcat', risk: 'stable' })) as { software: { charms: Record<string, { channel: string }> } };
    expect(Object.keys(doc)).toEqual(['software']);
    expect(doc.software.charms['keystone-k8s']?.channel).toBe('2023.2/stable');
    expect(doc.software.charms['ovn-central-k8s']?.channel).toBe('23.09/stable');
    expect(doc.software.charms['designate-bind-k8s']?.channel).toBe('9/stable');
    expect(doc.software.charms['microceph']?.channel).toBe('reef/stable');
    expect(buildManifest({ release: 'bobcat', risk: 'stable' })).toContain(
      '# Sunbeam ships no stable manifest for 2023.2: channels follow its candidate/edge manifests (canonical/snap-openstack stable/2023.2 @3665a89d).',
    );
  });

  it('selects features; an empty list leaves only core', () => {
    const dns = manifestDocument({ release: '2025.1', risk: 'beta', features: ['dns'] }) as { features: Record<string, unknown> };
    expect(Object.keys(dns.features)).toEqual(['dns']);
    expect(manifestDocument({ release: '2025.1', risk: 'beta', features: [] })).not.toHaveProperty('features');
    const flat = manifestDocument({ release: '2023.2', risk: 'edge', features: ['telemetry'] }) as { software: { charms: Record<string, unknown> } };
    expect(flat.software.charms).toHaveProperty('keystone-k8s');
    expect(flat.software.charms).toHaveProperty('gnocchi-k8s');
    expect(flat.software.charms).not.toHaveProperty('designate-k8s');
  });

  it('lists the features Sunbeam pins charms for', () => {
    expect(featuresOf('2026.1')).toEqual([
      'baremetal',
      'caas',
      'dns',
      'images-sync',
      'instance-recovery',
      'ldap',
      'loadbalancer',
      'orchestration',
      'resource-optimization',
      'secrets',
      'shared-filesystem',
      'telemetry',
      'validation',
    ]);
  });

  it('starts with a comment naming the release, risk and source', () => {
    const text = buildManifest({ release: 'gazpacho', risk: 'candidate' });
    expect(text.split('\n').slice(0, 3)).toEqual([
      '# Sunbeam manifest for OpenStack 2026.1 (gazpacho), charm risk candidate.',
      '# Channels as in the manifests of canonical/snap-openstack main @4e57fa4f.',
      '# Written by heliostat. Apply with: sunbeam cluster refresh -m <this file>',
    ]);
  });

  it.each([
    [{ release: 'yoga', risk: 'stable' as const }, /release yoga \(2022\.1\) has no Sunbeam charms/],
    [{ release: 'nope', risk: 'stable' as const }, /unknown release 'nope'/],
    [{ release: '2024.1', risk: 'daily' as SunbeamRisk }, /unknown risk 'daily'; valid risks: stable, candidate, beta, edge/],
    [{ release: '2024.1', risk: 'stable' as const, features: ['dns', 'tls'] }, /unknown feature 'tls' for Sunbeam 2024\.1; features with charms: baremetal, caas, dns/],
  ])('rejects %j as a usage error', (options, message) => {
    expect(() => buildManifest(options)).toThrow(UsageError);
    expect(() => buildManifest(options)).toThrow(message);
  });

  it('parses risks', () => {
    expect(parseRisk('beta')).toBe('beta');
    expect(() => parseRisk('Stable')).toThrow(UsageError);
  });
});

describe('the manifest schema', () => {
  const schema = { safeParse: (doc: unknown) => sunbeamManifestSchema('2025.1').safeParse(doc) };

  it('accepts what Sunbeam accepts: revision, config, extra charm keys', () => {
    const doc = { core: { software: { charms: { 'nova-k8s': { channel: '2025.1/edge', revision: 12, config: { debug: true }, storage: { x: '1G' } } } } } };
    expect(schema.safeParse(doc).success).toBe(true);
  });

  it.each([
    [{ core: { software: { charms: { 'foo-k8s': { channel: 'x/stable' } } } } }, "'foo-k8s' is not a charm of Sunbeam 2025.1 core"],
    [{ features: { dns: { software: { charms: { 'nova-k8s': { channel: 'x/stable' } } } } } }, "'nova-k8s' is not a charm of feature dns"],
    [{ core: { software: { charms: { 'nova-k8s': { revision: '12' } } } } }, 'expected number'],
    [{ features: { rating: {} } }, 'Unrecognized key'],
  ])('rejects %j', (doc, message) => {
    const result = schema.safeParse(doc);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.message).join('\n')).toContain(message);
  });

  it('validates the flat 2023.2 layout against all its charms', () => {
    const flat = sunbeamManifestSchema('2023.2');
    expect(flat.safeParse({ software: { charms: { 'cinder-ceph-k8s': { channel: '2023.2/stable' } } } }).success).toBe(true);
    expect(flat.safeParse({ software: { charms: { 'epa-orchestrator': { channel: '2023.2/stable' } } } }).success).toBe(false);
    expect(flat.safeParse({ core: {} }).success).toBe(false);
  });
});

describe('manifestForBuild', () => {
  const digest = (c: string) => `sha256:${c.repeat(64)}`;
  const images: BuiltImage[] = [
    { rock: 'nova-consolidated', ref: 'registry.example:5000/heliostat/nova-consolidated:2026.1-fix1', digest: digest('a') },
    { rock: 'designate-consolidated', ref: `registry.example:5000/heliostat/designate-consolidated@${digest('b')}`, digest: digest('b') },
    { rock: 'cinder-volume', ref: 'registry.example:5000/heliostat/cinder-volume:2026.1', digest: digest('c') },
  ];

  it('is the same manifest, with the attached resources as comments', () => {
    const text = manifestForBuild('2026.1', images);
    expect(parse(text)).toEqual(parse(buildManifest({ release: '2026.1', risk: 'stable' })));
    const comments = text.split('\n').filter((l) => l.startsWith('#'));
    const nova = comments.filter((l) => l.includes('(nova-k8s)'));
    expect(nova).toHaveLength(4);
    expect(nova[0]).toMatch(/^# {3}nova +nova-api-image +\(nova-k8s\) +registry\.example:5000\/heliostat\/nova-consolidated:2026\.1-fix1@sha256:a{64}$/);
    expect(comments.some((l) => /designate +designate-image +\(designate-k8s\) +registry\.example:5000\/heliostat\/designate-consolidated@sha256:b{64}$/.test(l))).toBe(true);
    expect(comments.at(-1)).toBe('# Built rocks no Sunbeam charm of this release runs (not attached): cinder-volume');
    expect(text).toContain('# OCI images. A Sunbeam manifest cannot set them');
  });

  it('takes the risk and features of the manifest', () => {
    const doc = parse(manifestForBuild('2024.1', [], { risk: 'edge', features: [] })) as Record<string, unknown>;
    expect(doc).toEqual(manifestDocument({ release: '2024.1', risk: 'edge', features: [] }));
    expect(manifestForBuild('2024.1', [])).toContain('#   (none)');
  });

  it.each([
    [[{ rock: 'keystone', ref: 'r/keystone', digest: 'sha256:abc' }], /invalid digest 'sha256:abc' for rock keystone/],
    [[{ rock: 'keystone', ref: 'r/key stone', digest: digest('a') }], /invalid image reference/],
    [[{ rock: 'keystone', ref: `r/keystone@${digest('b')}`, digest: digest('a') }], /does not carry digest/],
    [
      [
        { rock: 'keystone', ref: 'r/keystone', digest: digest('a') },
        { rock: 'keystone', ref: 'r/keystone', digest: digest('b') },
      ],
      /rock keystone is listed twice/,
    ],
  ])('rejects bad images (%#)', (bad, message) => {
    expect(() => manifestForBuild('2025.1', bad)).toThrow(UsageError);
    expect(() => manifestForBuild('2025.1', bad)).toThrow(message);
  });
});
