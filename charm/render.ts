// Renders the controller configuration from what Juju gives the charm: the charm's config options,
// the s3 relation's application databag (v0 flat or v1 with a `secret-extra` secret) and the
// secret-typed options. Pure: secrets are read through the function passed in, and files the
// controller needs (kubeconfig, CA chain, credentials) are returned for the caller to write.
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { controllerConfigSchema, type ControllerConfigInput } from '../src/controller/config-schema.js';
import { describeIssues } from '../src/controller/config.js';

/** An option (or relation) whose value the controller cannot use; the message names it. */
export class CharmConfigError extends Error {
  constructor(
    readonly option: string,
    readonly reason: string,
  ) {
    super(`${option}: ${reason}`);
    this.name = 'CharmConfigError';
  }
}

export type SecretGet = (id: string) => Record<string, string>;

export interface RenderInput {
  /** `config-get --format=json`. */
  options: Record<string, unknown>;
  /** The remote application's databag on the s3 relation, when related. */
  s3?: Record<string, string>;
  secretGet: SecretGet;
  /** Where the rendered config and its side files live. */
  dataDir: string;
  /** Whether this unit is the leader. */
  leader?: boolean;
}

export interface Rendered {
  document: ControllerConfigInput;
  /** The YAML text of the document. */
  text: string;
  /** Side files (absolute path → content, mode 0600) the document refers to. */
  files: Record<string, string>;
}

export const OPERATOR_TRAIN = 'operator';
export const LISTEN_PORT = 8080;

const str = (options: Record<string, unknown>, key: string): string => {
  const v = options[key];
  if (typeof v === 'string') return v.trim();
  return typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';
};
const words = (value: string): string[] => value.split(/\s+/).filter(Boolean);

function secretValue(options: Record<string, unknown>, option: string, key: string, secretGet: SecretGet): string | undefined {
  const id = str(options, option);
  if (id === '') return undefined;
  let content: Record<string, string>;
  try {
    content = secretGet(id);
  } catch (error) {
    throw new CharmConfigError(option, `cannot read the secret: ${error instanceof Error ? error.message : String(error)}`);
  }
  const value = content[key];
  if (value === undefined || value === '') throw new CharmConfigError(option, `the secret has no "${key}" key`);
  return value;
}

/** Maps a validation issue path of the document to the juju option (or relation) it came from. */
function optionFor(path: readonly PropertyKey[]): string {
  const [top, second, third] = path.map(String);
  if (top === 'trains') {
    if (second !== '0') return 'extra-trains';
    const byField: Record<string, string> = { ppas: 'ppa', release: 'release', components: 'components', pocket: 'pocket', schedule: 'schedule', pin: 'pin', attach: 'attach' };
    return (third && byField[third]) ?? 'extra-trains';
  }
  if (top === 'reference') return 'reference-releases';
  if (top === 'juju') return 'model';
  if (top === 'registry') return second === 'namespace' ? 'registry-namespace' : second === 'username' || second === 'password' ? 'registry-credentials' : 'registry';
  if (top === 'retention') return 'retention-days';
  if (top === 'concurrency') return 'build-concurrency';
  if (top === 'mirror') return 's3-credentials';
  if (top === 'tokens') return 'api-token';
  return top ?? 'config';
}

function s3Section(bag: Record<string, string>, secretGet: SecretGet, dataDir: string, files: Record<string, string>) {
  let accessKey = bag['access-key'];
  let secretKey = bag['secret-key'];
  const ref = bag['secret-extra'];
  if (ref) {
    let content: Record<string, string>;
    try {
      content = secretGet(ref);
    } catch (error) {
      throw new CharmConfigError('s3-credentials', `cannot read the credentials secret: ${error instanceof Error ? error.message : String(error)}`);
    }
    accessKey = content['access-key'] ?? accessKey;
    secretKey = content['secret-key'] ?? secretKey;
  }
  if (!accessKey || !secretKey) return undefined;
  const bucket = bag['bucket'];
  if (!bucket) throw new CharmConfigError('s3-credentials', 'the relation gives no bucket');
  const prefix = (bag['path'] ?? '').replace(/^\/+|\/+$/g, '');
  const s3: NonNullable<NonNullable<ControllerConfigInput['mirror']>['s3']> = { accessKey, secretKey };
  if (bag['endpoint']) s3.endpoint = bag['endpoint'];
  if (bag['region']) s3.region = bag['region'];
  if (bag['s3-uri-style']) s3.pathStyle = bag['s3-uri-style'] === 'path';
  const chain = bag['tls-ca-chain'];
  if (chain) {
    let certs: unknown;
    try {
      certs = JSON.parse(chain);
    } catch {
      throw new CharmConfigError('s3-credentials', 'tls-ca-chain is not a JSON list');
    }
    if (!Array.isArray(certs) || !certs.every((c) => typeof c === 'string')) throw new CharmConfigError('s3-credentials', 'tls-ca-chain is not a JSON list of certificates');
    if (certs.length > 0) {
      const caFile = join(dataDir, 's3-ca.pem');
      files[caFile] = `${certs.join('\n').trim()}\n`;
      s3.caFile = caFile;
    }
  }
  return { store: `s3://${bucket}${prefix ? `/${prefix}` : ''}`, s3 };
}

function intOption(options: Record<string, unknown>, option: string): number | undefined {
  const raw = options[option];
  if (raw === undefined || raw === null || raw === '') return undefined;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isInteger(n)) throw new CharmConfigError(option, 'must be an integer');
  return n;
}

/** Builds and validates the controller config; throws CharmConfigError naming the option at fault. */
export function renderControllerConfig(input: RenderInput): Rendered {
  const { options, secretGet, dataDir } = input;
  const files: Record<string, string> = {};
  const doc: ControllerConfigInput = {
    leader: input.leader ?? true,
    listen: `0.0.0.0:${LISTEN_PORT}`,
    dataDir,
    juju: { model: str(options, 'model') || 'openstack' },
  };

  const concurrency = intOption(options, 'build-concurrency');
  if (concurrency !== undefined) doc.concurrency = { builds: concurrency };
  const days = intOption(options, 'retention-days');
  if (days !== undefined && days < 0) throw new CharmConfigError('retention-days', 'must be 0 or more');
  if (days) doc.retention = { keepDays: days };

  const pocket = str(options, 'pocket') || 'updates';
  if (pocket !== 'updates' && pocket !== 'proposed') throw new CharmConfigError('pocket', `invalid pocket ${JSON.stringify(pocket)}: expected updates or proposed`);

  const trains: NonNullable<ControllerConfigInput['trains']> = [];
  const release = str(options, 'release');
  const components = words(str(options, 'components'));
  const ppas = words(str(options, 'ppa'));
  if (release === '' && (components.length > 0 || ppas.length > 0)) throw new CharmConfigError('release', 'required when components or ppa is set');
  if (release !== '') {
    const schedule = str(options, 'schedule');
    trains.push({
      name: OPERATOR_TRAIN,
      release,
      components,
      ppas,
      pocket,
      attach: options['attach'] === true || options['attach'] === 'true',
      pin: str(options, 'pin') || 'latest',
      ...(schedule ? { schedule } : {}),
    });
  }
  const extra = str(options, 'extra-trains');
  if (extra !== '') {
    let parsed: unknown;
    try {
      parsed = parseYaml(extra);
    } catch {
      throw new CharmConfigError('extra-trains', 'not valid YAML');
    }
    if (parsed !== null && !Array.isArray(parsed)) throw new CharmConfigError('extra-trains', 'expected a YAML list of trains');
    for (const t of (parsed ?? []) as unknown[]) {
      if (typeof t === 'object' && t !== null && (t as { name?: unknown }).name === OPERATOR_TRAIN) {
        throw new CharmConfigError('extra-trains', `the train name "${OPERATOR_TRAIN}" is taken by the flat options`);
      }
      trains.push(t as NonNullable<ControllerConfigInput['trains']>[number]);
    }
  }
  if (trains.length > 0) doc.trains = trains;

  const references = words(str(options, 'reference-releases'));
  if (references.length > 0) doc.reference = { releases: references };

  const registryHost = str(options, 'registry');
  const registryNamespace = str(options, 'registry-namespace');
  if (registryHost === '' && registryNamespace !== '') throw new CharmConfigError('registry', 'required when registry-namespace is set');
  if (registryHost !== '') {
    doc.registry = { host: registryHost, namespace: registryNamespace };
    const username = secretValue(options, 'registry-credentials', 'username', secretGet);
    if (username !== undefined) {
      doc.registry.username = username;
      doc.registry.password = secretValue(options, 'registry-credentials', 'password', secretGet);
    }
  }

  const kubeconfig = secretValue(options, 'kubeconfig', 'kubeconfig', secretGet);
  if (kubeconfig !== undefined) {
    const file = join(dataDir, 'kubeconfig');
    files[file] = kubeconfig;
    doc.kubeconfig = file;
  }
  const jujuCredentials = secretValue(options, 'juju-credentials', 'credentials', secretGet);
  if (jujuCredentials !== undefined) files[join(dataDir, 'juju', 'credentials.yaml')] = jujuCredentials;
  const token = secretValue(options, 'api-token', 'token', secretGet);
  if (token !== undefined) doc.tokens = [{ name: 'juju', token }];

  if (input.s3) {
    const mirror = s3Section(input.s3, secretGet, dataDir, files);
    if (mirror) doc.mirror = mirror;
  }

  const parsed = controllerConfigSchema.safeParse(doc);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const option = first ? optionFor(first.path) : 'config';
    // The options' own validators name the value (e.g. `invalid PPA "x"`); the path is dropped.
    const reason = first?.message ?? describeIssues(parsed.error);
    throw new CharmConfigError(option, option === 'extra-trains' && first ? `${first.path.slice(1).join('.')}: ${reason}` : reason);
  }
  return { document: doc, text: stringify(doc), files };
}

/** Whether the rendered config stores the mirror in S3 (so the relation is needed). */
export function usesS3(document: ControllerConfigInput): boolean {
  return document.mirror?.store?.startsWith('s3://') ?? false;
}
