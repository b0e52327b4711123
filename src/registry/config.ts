// A registry target (where rocks are pushed) and the names that go into image references. Every
// host, namespace, repository, tag and digest is checked here against the OCI distribution grammar
// before any process runs, so a bad name fails with a message that says which part is wrong
// instead of a skopeo parse error — or, worse, a reference skopeo reads differently than meant.
import { z } from 'zod';
import { validateBuildId, validateRelease, validateSeries, validateTrain } from '../../mirror/layout.js';
import { findRelease } from '../catalog/releases.js';
import { RegistryError } from './errors.js';

// distribution/reference: one path component of a repository name.
const COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*$/;
// distribution/reference: tags are at most 128 characters and never start with '.' or '-'.
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const DOMAIN_COMPONENT_RE = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
// distribution/reference limits the whole name, registry host included.
const NAME_TOTAL_MAX = 255;
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function invalid(what: string, value: string, reason: string): RegistryError {
  return new RegistryError('invalid', `invalid registry ${what} ${JSON.stringify(value)}: ${reason}`);
}

/**
 * `host[:port]`. The host must contain a dot or a port, or be `localhost`: in a reference like
 * `registry/ns/rock` the docker grammar reads a first component without either as a Docker Hub
 * namespace, so the push would silently go to docker.io. IPv6 literals are refused because the
 * reference grammar of skopeo 1.9 (containers/image 5.23) has no form for them.
 */
export function validateHost(host: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(host)) {
    throw invalid('host', host, 'give host[:port] without a scheme; use tlsVerify: false for a plain-HTTP registry');
  }
  if (host.startsWith('[')) throw invalid('host', host, 'IPv6 literals are not supported in image references; use a host name');
  const m = /^([^:/]+)(?::(\d{1,5}))?$/.exec(host);
  if (!m?.[1]) throw invalid('host', host, 'expected host[:port], without path or spaces');
  const [, name, port] = m;
  if (!name.split('.').every((part) => DOMAIN_COMPONENT_RE.test(part))) {
    throw invalid('host', host, 'each dot-separated part must be letters, digits and inner hyphens');
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) throw invalid('host', host, 'port must be 1-65535');
  if (port === undefined && !name.includes('.') && name !== 'localhost') {
    throw invalid('host', host, 'a host without a dot or a port would be read as a Docker Hub namespace; add the domain or the port');
  }
  return host;
}

/** A repository path component: an image name or one segment of a namespace. */
export function validateComponent(component: string, what = 'repository name'): string {
  if (!COMPONENT_RE.test(component)) {
    throw invalid(what, component, 'expected lower-case letters and digits, separated by one of ".", "_", "__" or hyphens');
  }
  return component;
}

/** `a/b/c`, or '' to push straight under the host. */
export function validateNamespace(namespace: string): string {
  if (namespace === '') return namespace;
  if (namespace.startsWith('/') || namespace.endsWith('/')) throw invalid('namespace', namespace, 'no leading or trailing "/"');
  for (const segment of namespace.split('/')) {
    if (segment === '') throw invalid('namespace', namespace, 'empty path segment');
    if (!COMPONENT_RE.test(segment)) {
      throw invalid('namespace', namespace, `segment "${segment}" must be lower-case letters and digits, separated by ".", "_", "__" or hyphens`);
    }
  }
  return namespace;
}

export function validateTag(tag: string): string {
  if (!TAG_RE.test(tag)) {
    throw invalid('tag', tag, 'expected 1-128 letters, digits, "_", "." or "-", not starting with "." or "-"');
  }
  return tag;
}

export function validateDigest(digest: string): string {
  if (!DIGEST_RE.test(digest)) throw invalid('digest', digest, 'expected sha256:<64 lower-case hex>');
  return digest;
}

/** A full repository name `host/namespace/name`, checked component by component and in length. */
export function validateRepository(repository: string): string {
  const slash = repository.indexOf('/');
  if (slash === -1) throw invalid('repository', repository, 'expected host[:port]/path');
  validateHost(repository.slice(0, slash));
  const path = repository.slice(slash + 1);
  if (path === '' || path.split('/').some((segment) => !COMPONENT_RE.test(segment))) {
    throw invalid('repository', repository, 'each path segment must be lower-case letters and digits, separated by ".", "_", "__" or hyphens');
  }
  if (repository.length > NAME_TOTAL_MAX) throw invalid('repository', repository, `longer than ${NAME_TOTAL_MAX} characters`);
  return repository;
}

/**
 * Holds a username and password without ever showing the password: JSON, `util.inspect` and
 * string conversion all print it redacted, so logging a target (pino, console) cannot leak it.
 */
export class Credentials {
  readonly #password: string;
  constructor(
    readonly username: string,
    password: string,
  ) {
    this.#password = password;
  }

  /** The password, for the one place that needs it: the auth file. */
  reveal(): string {
    return this.#password;
  }

  /** Every string that must never appear in output: the password and the auth-file token. */
  secrets(): string[] {
    return [this.#password, Buffer.from(`${this.username}:${this.#password}`).toString('base64')];
  }

  toJSON(): { username: string; password: string } {
    return { username: this.username, password: '[redacted]' };
  }

  toString(): string {
    return `${this.username}:[redacted]`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Credentials { username: ${JSON.stringify(this.username)}, password: [redacted] }`;
  }
}

/** Runs a validator (which throws RegistryError) as a zod check, keeping its message. */
function checked(validate: (value: string) => string) {
  return z.string().superRefine((value, ctx) => {
    try {
      validate(value);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
    }
  });
}

/** The target as written in the controller config (or on the command line, minus the password). */
export const registryTargetSchema = z
  .object({
    host: checked(validateHost),
    namespace: checked(validateNamespace).default(''),
    /** false for a plain-HTTP registry or one with a certificate that cannot be verified. */
    tlsVerify: z.boolean().default(true),
    /** Directory of `*.crt` (CA) and `*.cert`/`*.key` (client) files for this registry. */
    certDir: z.string().min(1).optional(),
    username: z.string().min(1).regex(/^[^:\s]+$/, 'must not contain ":" or whitespace').optional(),
    /** Only from the config file; command lines show up in `ps`. */
    password: z.string().min(1).optional(),
    /** Name of an environment variable holding the password, e.g. from a Juju secret. */
    passwordEnv: z.string().regex(ENV_NAME_RE, 'expected an environment variable name').optional(),
    /** Extra attempts after a transient failure. */
    retries: z.number().int().min(0).max(10).default(3),
    /** First backoff delay; doubles on every retry. */
    retryDelayMs: z.number().int().min(0).max(60_000).default(1_000),
    /** Per skopeo invocation; a push moves a whole rock, so the default is generous. */
    timeoutMs: z.number().int().min(100).default(15 * 60_000),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.password !== undefined && t.passwordEnv !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['passwordEnv'], message: 'give either password or passwordEnv, not both' });
    }
    const hasPassword = t.password !== undefined || t.passwordEnv !== undefined;
    if (hasPassword && t.username === undefined) ctx.addIssue({ code: 'custom', path: ['username'], message: 'a password needs a username' });
    if (!hasPassword && t.username !== undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'a username needs password or passwordEnv' });
  });

export type RegistryTargetInput = z.input<typeof registryTargetSchema>;

/** A validated target with the password resolved. */
export interface RegistryTarget {
  host: string;
  namespace: string;
  tlsVerify: boolean;
  certDir?: string;
  credentials?: Credentials;
  retries: number;
  retryDelayMs: number;
  timeoutMs: number;
}

/** Validates a target and resolves its password (from the config or the named variable in `env`). */
export function parseRegistryTarget(input: unknown, env: NodeJS.ProcessEnv = process.env): RegistryTarget {
  const parsed = registryTargetSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(target)'}: ${i.message}`).join('; ');
    throw new RegistryError('invalid', `invalid registry target: ${issues}`);
  }
  const { password, passwordEnv, username, certDir, ...rest } = parsed.data;
  let secret = password;
  if (passwordEnv !== undefined) {
    secret = env[passwordEnv];
    if (!secret) throw new RegistryError('invalid', `invalid registry target: passwordEnv: environment variable ${passwordEnv} is not set or empty`);
  }
  return {
    ...rest,
    ...(certDir !== undefined ? { certDir } : {}),
    ...(username !== undefined && secret !== undefined ? { credentials: new Credentials(username, secret) } : {}),
  };
}

/** `host/namespace/imageName`, the repository a rock is pushed to. */
export function repositoryFor(target: Pick<RegistryTarget, 'host' | 'namespace'>, imageName: string): string {
  validateComponent(imageName, 'image name');
  const path = target.namespace === '' ? imageName : `${target.namespace}/${imageName}`;
  return validateRepository(`${validateHost(target.host)}/${path}`);
}

/**
 * The series a tag names: none for the release's default series (`2024.1-reference-latest`), the
 * series otherwise (`2024.1-jammy-reference-latest`), so one train built for two series never
 * shares a moving tag while the common tags stay short.
 */
export function tagSeries(release: string, series: string): string | undefined {
  return findRelease(release)?.defaultSeries === series ? undefined : series;
}

function tagPrefix(release: string, train: string, series: string | undefined): string {
  const qualifier = series === undefined ? '' : `-${checkedPart(validateSeries, series)}`;
  return `${checkedPart(validateRelease, release)}${qualifier}-${checkedPart(validateTrain, train)}`;
}

/** The immutable tag of one build: `<release>[-<series>]-<train>-<build-id>`, e.g. `2024.1-reference-20261122T010203Z`. */
export function buildTag(release: string, train: string, buildId: string, series?: string): string {
  return validateTag(`${tagPrefix(release, train, series)}-${checkedPart(validateBuildId, buildId)}`);
}

export type MovingTagName = 'latest' | 'stable';

/** A moving tag `<release>[-<series>]-<train>-latest` / `-stable`, re-pushed (never deleted) to move it. */
export function movingTag(release: string, train: string, which: MovingTagName, series?: string): string {
  return validateTag(`${tagPrefix(release, train, series)}-${which}`);
}

export function isMovingTag(tag: string): boolean {
  return tag.endsWith('-latest') || tag.endsWith('-stable');
}

// The mirror's validators throw LayoutError; here they become RegistryError like every other input.
function checkedPart(validate: (value: string) => string, value: string): string {
  try {
    return validate(value);
  } catch (err) {
    throw new RegistryError('invalid', err instanceof Error ? err.message : String(err));
  }
}
