// Read access to the HTTP mirror. Public by default; otherwise every request must carry a client's
// bearer token or basic-auth password. Secrets are compared in constant time (as equal-length
// digests, so not even their length leaks), passwords are stored only as scrypt hashes, and no
// credential is ever logged, echoed or told apart in a response ("wrong user" and "wrong password"
// get the same 401).
import { createHash, randomBytes, scrypt, timingSafeEqual, type BinaryLike } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpError } from './errors.js';

/**
 * Who may read the mirror (the same shape as the controller's configuration): public, or only the
 * listed clients, each with a bearer token and/or a password hash `scrypt$<salt hex>$<hash hex>`.
 */
export interface MirrorReadAuth {
  public: boolean;
  clients: Array<{ name: string; token?: string; passwordHash?: string }>;
}

const HASH_RE = /^scrypt\$([0-9a-f]{16,128})\$([0-9a-f]{32,256})$/;
const REALM = 'heliostat mirror';

function scryptAsync(password: BinaryLike, salt: Buffer, keylen: number): Promise<Buffer> {
  // Async: a 16 MiB scrypt on the event loop would stall every download in flight.
  return new Promise((resolve, reject) => scrypt(password, salt, keylen, (err, key) => (err ? reject(err) : resolve(key))));
}

/** `scrypt$<salt hex>$<hash hex>` for a password (node's default cost: N=16384, r=8, p=1). */
export async function hashPassword(password: string, salt: Buffer = randomBytes(16)): Promise<string> {
  if (password.length === 0) throw new Error('empty password');
  const key = await scryptAsync(password, salt, 32);
  return `scrypt$${salt.toString('hex')}$${key.toString('hex')}`;
}

export function isPasswordHash(text: string): boolean {
  return HASH_RE.test(text);
}

/** Whether `password` matches `encoded`; a malformed hash matches nothing. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const m = HASH_RE.exec(encoded);
  if (!m?.[1] || !m[2] || m[1].length % 2 !== 0 || m[2].length % 2 !== 0) return false;
  const expected = Buffer.from(m[2], 'hex');
  const actual = await scryptAsync(password, Buffer.from(m[1], 'hex'), expected.length);
  return timingSafeEqual(actual, expected);
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** Constant-time equality of two secrets of any length: their digests have equal length. */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

/** Checks the configuration once, so a typo in a hash fails at start-up rather than as a 401 later. */
export function validateReadAuth(auth: MirrorReadAuth): void {
  for (const client of auth.clients) {
    if (!client.token && !client.passwordHash) throw new Error(`mirror read client ${client.name}: needs a token or a password hash`);
    if (client.passwordHash !== undefined && !isPasswordHash(client.passwordHash)) {
      throw new Error(`mirror read client ${client.name}: password hash must look like scrypt$<salt hex>$<hash hex>`);
    }
  }
  if (!auth.public && auth.clients.length === 0) throw new Error('mirror read access is not public but lists no clients');
}

type Credentials = { kind: 'bearer'; token: string } | { kind: 'basic'; user: string; password: string } | undefined;

function parseAuthorization(header: string | undefined): Credentials {
  if (!header) return undefined;
  const m = /^(Bearer|Basic) +(\S+)$/i.exec(header.trim());
  if (!m?.[1] || !m[2]) return undefined;
  if (m[1].toLowerCase() === 'bearer') return { kind: 'bearer', token: m[2] };
  const decoded = Buffer.from(m[2], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { kind: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Remembers accepted basic-auth credentials for a few minutes: a browser sends them with every
 * request, and one scrypt per page and per download would be the slowest part of serving. Entries
 * are keyed by a keyed digest (the key lives only in this process), never by the password.
 */
class AcceptedCache {
  private readonly key = randomBytes(32);
  private readonly entries = new Map<string, { client: string; until: number }>();
  constructor(
    private readonly ttlMs = 5 * 60_000,
    private readonly max = 1024,
  ) {}
  private id(user: string, password: string, hash: string): string {
    return createHash('sha256').update(this.key).update(user).update('\0').update(password).update('\0').update(hash).digest('hex');
  }
  get(user: string, password: string, hash: string): string | undefined {
    const hit = this.entries.get(this.id(user, password, hash));
    return hit && hit.until > Date.now() ? hit.client : undefined;
  }
  set(user: string, password: string, hash: string, client: string): void {
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(this.id(user, password, hash), { client, until: Date.now() + this.ttlMs });
  }
}

// Verifying against this when the user is unknown keeps "no such user" as slow as "wrong password".
const DUMMY_HASH = `scrypt$${'00'.repeat(16)}$${'00'.repeat(32)}`;

/** The client the credentials belong to, or undefined. */
async function authenticate(auth: MirrorReadAuth, creds: Credentials, cache: AcceptedCache): Promise<string | undefined> {
  if (!creds) return undefined;
  if (creds.kind === 'bearer') {
    let found: string | undefined;
    // Every client is compared, so the time taken does not tell which one (if any) matched.
    for (const client of auth.clients) if (client.token && sameSecret(creds.token, client.token) && !found) found = client.name;
    return found;
  }
  const client = auth.clients.find((c) => c.passwordHash && sameSecret(c.name, creds.user));
  const hash = client?.passwordHash ?? DUMMY_HASH;
  const cached = cache.get(creds.user, creds.password, hash);
  if (cached) return cached;
  const ok = (await verifyPassword(creds.password, hash)) && client !== undefined;
  if (!ok || !client) return undefined;
  cache.set(creds.user, creds.password, hash, client.name);
  return client.name;
}

/** Middleware that lets a request through when read access allows it, else answers 401. */
export function readGuard(auth: MirrorReadAuth | undefined): RequestHandler {
  if (!auth || auth.public) return (_req, _res, next) => next();
  validateReadAuth(auth);
  const cache = new AcceptedCache();
  return async (req, res, next) => {
    // Responses depend on who asks: shared caches must neither store nor mix them.
    res.set('Cache-Control', 'private, no-cache').vary('Authorization');
    const creds = parseAuthorization(req.get('authorization'));
    const client = await authenticate(auth, creds, cache);
    if (client) {
      res.locals['mirrorClient'] = client;
      next();
      return;
    }
    // Basic first: a browser then offers its login prompt; programs use the bearer token.
    const challenge = { 'WWW-Authenticate': [`Basic realm="${REALM}", charset="UTF-8"`, `Bearer realm="${REALM}"`] };
    throw new HttpError(401, creds ? 'credentials not accepted' : 'authentication required: send a bearer token or basic auth', challenge);
  };
}
