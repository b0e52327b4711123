// The controller's configuration file, as a zod schema: one YAML document the charm renders (or an
// operator writes). Every field has a default that runs on a fresh machine, so an empty file is a
// valid configuration. Messages name the field and never echo a value: several fields are secrets.
import { httpUrlSchema } from '../schemas.js';
import { validate as validateCron } from 'node-cron';
import { z } from 'zod';
import { validateRockName, validateTrain } from '../../mirror/layout.js';
import { parseSelector } from '../../mirror/ref.js';
import { validatePolicy } from '../../mirror/retention.js';
import { notificationsConfigSchema } from './notify/start.js';
import { findRelease } from '../catalog/releases.js';
import { parsePpaFlag } from '../cli/flags.js';
import { validateHost, validateNamespace } from '../registry/config.js';
import { validatePackageName, validateSuffix } from '../rocks/patches.js';
import { expandTrains } from './trains.js';

/** Runs a validator that throws (the domain's own checks) as a zod refinement, keeping its message. */
export function checked<T>(validate: (value: T) => unknown, what?: string) {
  return (value: T, ctx: z.RefinementCtx): void => {
    try {
      validate(value);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      ctx.addIssue({ code: 'custom', message: what ? `${what}: ${message}` : message });
    }
  };
}

const name = (validate: (value: string) => unknown) => z.string().min(1).max(200).superRefine(checked(validate));

const httpUrl = httpUrlSchema;

export const releaseName = z
  .string()
  .min(1)
  .refine((value) => findRelease(value) !== undefined, 'unknown OpenStack release (give a codename like caracal or a number like 2024.1)');

export const cronExpression = z.string().refine((value) => validateCron(value), 'not a valid cron expression (five or six fields, e.g. "0 2 * * *")');

export const timeZone = z.string().refine((value) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: value });
    return true;
  } catch {
    return false;
  }
}, 'unknown time zone (use an IANA name such as UTC or Europe/Paris)');

const pinSelector = z.string().superRefine(checked(parseSelector));

export const retentionSchema = z
  .object({
    keepDays: z.number().min(0).optional(),
    keepMin: z.number().int().min(0).optional(),
    keepMax: z.number().int().min(0).optional(),
  })
  .strict()
  .superRefine(checked(validatePolicy));

const secretText = z.string().min(1);
const filePath = z.string().min(1);

/** A secret given inline or as a file (mounted from a Juju secret); exactly one of the two. */
function oneOf(value: Record<string, unknown>, a: string, b: string, ctx: z.RefinementCtx, required: boolean): void {
  const count = [a, b].filter((k) => value[k] !== undefined).length;
  if (count > 1) ctx.addIssue({ code: 'custom', path: [b], message: `give either ${a} or ${b}, not both` });
  if (required && count === 0) ctx.addIssue({ code: 'custom', path: [a], message: `${a} or ${b} is required` });
}

const tokenSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a short name of letters, digits, ".", "_" or "-"'),
    token: z.string().min(16, 'must be at least 16 characters').optional(),
    tokenFile: filePath.optional(),
  })
  .strict()
  .superRefine((t, ctx) => oneOf(t, 'token', 'tokenFile', ctx, true));

const mirrorClientSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be a short name of letters, digits, ".", "_" or "-"'),
    token: z.string().min(16, 'must be at least 16 characters').optional(),
    tokenFile: filePath.optional(),
    passwordHash: z.string().regex(/^scrypt\$[0-9a-f]+\$[0-9a-f]+$/, 'expected scrypt$<salt hex>$<hash hex>').optional(),
  })
  .strict()
  .superRefine((c, ctx) => {
    oneOf(c, 'token', 'tokenFile', ctx, false);
    if (c.token === undefined && c.tokenFile === undefined && c.passwordHash === undefined) {
      ctx.addIssue({ code: 'custom', path: ['token'], message: 'a mirror client needs token, tokenFile or passwordHash' });
    }
  });

const s3Schema = z
  .object({
    endpoint: httpUrl.optional(),
    region: z.string().min(1).optional(),
    caFile: filePath.optional(),
    insecure: z.boolean().optional(),
    pathStyle: z.boolean().optional(),
    accessKey: secretText.optional(),
    accessKeyFile: filePath.optional(),
    secretKey: secretText.optional(),
    secretKeyFile: filePath.optional(),
    /** A request the store leaves unanswered this long fails and is retried. */
    timeoutSeconds: z.number().int().min(1).max(3600).optional(),
    retries: z.number().int().min(0).max(20).optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    oneOf(s, 'accessKey', 'accessKeyFile', ctx, false);
    oneOf(s, 'secretKey', 'secretKeyFile', ctx, false);
  });

const mirrorSchema = z
  .object({
    /** `fs:PATH` or `s3://BUCKET/PREFIX` (default: fs under the data dir). */
    store: z.string().regex(/^(fs:.+|s3:\/\/.+)$/, 'expected fs:PATH or s3://BUCKET[/PREFIX]').optional(),
    s3: s3Schema.default({}),
    /** Read access to the mirror over HTTP: public, or only for the clients listed. */
    public: z.boolean().default(true),
    clients: z.array(mirrorClientSchema).max(200).default([]),
  })
  .strict();

const registrySchema = z
  .object({
    host: z.string().superRefine(checked(validateHost)),
    namespace: z.string().superRefine(checked(validateNamespace)).default(''),
    tlsVerify: z.boolean().default(true),
    certDir: filePath.optional(),
    username: z.string().min(1).regex(/^[^:\s]+$/, 'must not contain ":" or whitespace').optional(),
    password: secretText.optional(),
    passwordFile: filePath.optional(),
    retries: z.number().int().min(0).max(10).default(3),
    timeoutSeconds: z.number().int().min(1).max(86_400).default(900),
  })
  .strict()
  .superRefine((r, ctx) => {
    oneOf(r, 'password', 'passwordFile', ctx, false);
    const hasPassword = r.password !== undefined || r.passwordFile !== undefined;
    if (hasPassword && r.username === undefined) ctx.addIssue({ code: 'custom', path: ['username'], message: 'a password needs a username' });
    if (!hasPassword && r.username !== undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'a username needs password or passwordFile' });
  });

const k8sName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected [a-z0-9][a-z0-9-]{0,62}');

export const BUILDER_KINDS = ['local', 'kubernetes'] as const;
/** Which builder packs a train's rocks: rockcraft on this machine, or one Kubernetes Job per rock. */
const builderField = { builder: z.enum(BUILDER_KINDS).default('local') };

const quantity = z.string().regex(/^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti|E|Ei)?$/, 'expected a Kubernetes quantity such as 500m, 2 or 4Gi');
const resourceList = z.object({ cpu: quantity.optional(), memory: quantity.optional(), 'ephemeral-storage': quantity.optional() }).strict();
const labelKey = z.string().regex(/^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/, 'not a Kubernetes label key');
const labelValue = z.string().regex(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/, 'not a Kubernetes label value');

/** The Kubernetes Job builder: where and how its pods run. */
export const kubernetesBuilderSchema = z
  .object({
    namespace: k8sName.default('heliostat-builds'),
    /** An image with rockcraft, sh, sha256sum and curl. */
    image: z.string().min(1).max(500).regex(/^[^\s]+$/, 'must not contain whitespace').optional(),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
    serviceAccount: k8sName.optional(),
    nodeSelector: z.record(labelKey, labelValue).default({}),
    resources: z.object({ requests: resourceList.optional(), limits: resourceList.optional() }).strict().default({}),
    /** Destructive mode installs packages into the build container: it runs as root, privileged by default. */
    privileged: z.boolean().default(true),
    /** Rocks built at once by the Kubernetes builder, across every build. */
    concurrency: z.number().int().min(1).max(256).default(4),
    ttlSecondsAfterFinished: z.number().int().min(0).max(604_800).default(3600),
    /** Default: the controller's kubeconfig. */
    kubeconfig: filePath.optional(),
    context: z.string().min(1).optional(),
    /** Where pods upload in the mirror's store; under meta/ so it never meets a train's name. */
    stagingPrefix: z
      .string()
      .regex(/^meta(\/[A-Za-z0-9][A-Za-z0-9._-]*)+\/?$/, 'expected a prefix under meta/, e.g. meta/staging')
      .default('meta/staging'),
    /** Lifetime of each upload URL (default: the build timeout plus ten minutes). */
    presignExpirySeconds: z.number().int().min(60).max(604_800).optional(),
    /** How long an image pull or pod setup error may last before the rock fails. */
    stuckGraceSeconds: z.number().int().min(0).max(3600).default(120),
  })
  .strict();
const appName = z.string().regex(/^[a-z][a-z0-9]*(-[a-z0-9]*[a-z][a-z0-9]*)*$/, 'not a Juju application name');

/** What a train builds: the fields of a build request that a schedule repeats. */
const buildFields = {
  release: releaseName,
  series: z.string().min(1).optional(),
  components: z.array(name(validatePackageName)).max(100).default([]),
  rocks: z.array(name(validateRockName)).max(200).default([]),
  ppas: z.array(name(parsePpaFlag)).max(20).default([]),
  packages: z.array(name(validatePackageName)).max(100).default([]),
  pocket: z.enum(['updates', 'proposed']).default('updates'),
  suffix: z.string().superRefine(checked(validateSuffix)).optional(),
};

const scheduleFields = {
  /** Cron expression; each tick builds only when upstream or the apt indices changed. */
  schedule: cronExpression.optional(),
  timezone: timeZone.optional(),
  /** Also build when the train is declared or what it builds changes (e.g. a `juju config`). */
  buildOnChange: z.boolean().optional(),
  /** Keep the model's applications on this train's `pin`. */
  attach: z.boolean().default(false),
  /** latest, stable, a build id, pin:NAME or as-of:TIME. */
  pin: pinSelector.default('latest'),
  /** Only these applications (default: every application of the charms concerned). */
  apps: z.array(appName).max(200).optional(),
  retention: retentionSchema.optional(),
};

export const trainConfigSchema = z
  .object({ name: name(validateTrain), ...buildFields, ...scheduleFields, ...builderField })
  .strict();

const referenceReleaseSchema = z.union([releaseName, z.object({ release: releaseName, series: z.string().min(1).optional() }).strict()]);

export const referenceConfigSchema = z
  .object({
    /** Releases built unpatched as train `reference`. */
    releases: z.array(referenceReleaseSchema).max(20).default([]),
    /** Also build each release from the UCA -proposed pocket as train `proposed`. */
    proposed: z.boolean().default(false),
    ...scheduleFields,
    ...builderField,
  })
  .strict();

export const controllerConfigSchema = z
  .object({
    /** Only the leader schedules, builds and reconciles; other units serve read-only. */
    leader: z.boolean().default(true),
    /** `host:port`; IPv6 as `[::1]:8080`. */
    listen: z
      .string()
      .regex(/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:8080')
      .refine((v) => Number(v.slice(v.lastIndexOf(':') + 1)) <= 65535, 'port must be 0-65535')
      .default('127.0.0.1:8080'),
    dataDir: filePath.optional(),
    cacheDir: filePath.optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    upstream: z.object({ url: z.string().min(1).optional(), offline: z.boolean().default(false) }).strict().default({ offline: false }),
    archives: z.object({ ubuntu: httpUrl.optional(), cloud: httpUrl.optional(), ppa: httpUrl.optional() }).strict().default({}),
    builder: z
      .object({
        rockcraft: z.string().min(1).default('rockcraft'),
        packArgs: z.array(z.string().min(1)).max(20).default([]),
        timeoutSeconds: z.number().int().min(1).max(86_400).default(3600),
      })
      .strict()
      .default({ rockcraft: 'rockcraft', packArgs: [], timeoutSeconds: 3600 }),
    concurrency: z
      .object({
        /** Builds (jobs) running at once across every train. */
        builds: z.number().int().min(1).max(32).default(1),
        /** Rocks of one build packed at once. */
        rocksPerBuild: z.number().int().min(1).max(64).default(2),
      })
      .strict()
      .default({ builds: 1, rocksPerBuild: 2 }),
    mirror: mirrorSchema.default({ s3: {}, public: true, clients: [] }),
    registry: registrySchema.optional(),
    juju: z
      .object({
        executable: z.string().min(1).default('juju'),
        model: k8sName.default('openstack'),
        controller: k8sName.optional(),
        /** The Juju client's data directory (JUJU_DATA: controllers.yaml, accounts.yaml); default the user's. */
        dataDir: filePath.optional(),
        /** One juju command that runs longer is killed and counts as a transient failure. */
        timeoutSeconds: z.number().int().min(1).max(3600).default(120),
      })
      .strict()
      .default({ executable: 'juju', model: 'openstack', timeoutSeconds: 120 }),
    kubeconfig: filePath.optional(),
    namespace: k8sName.optional(),
    kubernetesBuilder: kubernetesBuilderSchema.optional(),
    reconcile: z
      .object({
        intervalSeconds: z.number().int().min(10).max(86_400).default(300),
        rolloutTimeoutSeconds: z.number().int().min(1).max(86_400).default(600),
      })
      .strict()
      .default({ intervalSeconds: 300, rolloutTimeoutSeconds: 600 }),
    /** Default policy of every train, applied after each publish; a train's own replaces it. */
    retention: retentionSchema.optional(),
    tokens: z.array(tokenSchema).max(100).default([]),
    signingSecret: z.string().min(16, 'must be at least 16 characters').optional(),
    signingSecretFile: filePath.optional(),
    bodyLimitBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(1024 * 1024),
    /** On SIGTERM, running builds get this long to finish before they are cancelled. */
    drainGraceSeconds: z.number().int().min(0).max(86_400).default(300),
    reference: referenceConfigSchema.default({ releases: [], proposed: false, attach: false, pin: 'latest', builder: 'local' }),
    trains: z.array(trainConfigSchema).max(200).default([]),
    /** Webhooks on build results, promotions, attaches and rollbacks; an optional git publisher. */
    notifications: notificationsConfigSchema.default({ webhooks: [] }),
  })
  .strict()
  .superRefine((c, ctx) => {
    oneOf(c, 'signingSecret', 'signingSecretFile', ctx, false);
    for (const p of expandTrains(c).problems) ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
    const kube: (string | number)[][] = [...(c.reference.builder === 'kubernetes' ? [['reference', 'builder']] : []), ...c.trains.flatMap((t, i) => (t.builder === 'kubernetes' ? [['trains', i, 'builder']] : []))];
    for (const path of kube) {
      if (!c.mirror.store?.startsWith('s3://')) {
        ctx.addIssue({ code: 'custom', path, message: 'the kubernetes builder uploads rocks to the mirror\'s S3 store; set mirror.store to s3://BUCKET[/PREFIX]' });
      }
    }
    if (kube.length > 0 && c.kubernetesBuilder?.image === undefined) {
      ctx.addIssue({ code: 'custom', path: ['kubernetesBuilder', 'image'], message: 'the kubernetes builder needs the image its pods run (with rockcraft, sh, sha256sum and curl)' });
    }
  });

export type ControllerConfigInput = z.input<typeof controllerConfigSchema>;
export type ParsedControllerConfig = z.output<typeof controllerConfigSchema>;
export type TrainConfig = z.output<typeof trainConfigSchema>;
export type BuilderKind = (typeof BUILDER_KINDS)[number];
export type KubernetesBuilderConfigInput = z.output<typeof kubernetesBuilderSchema>;
export type RetentionConfig = z.output<typeof retentionSchema>;
