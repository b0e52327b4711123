// Who may call what. Writes (POST, DELETE) need a bearer token from the configured write tokens.
// Reads follow the mirror's read policy: public when the mirror is, otherwise a write token or a
// mirror read client (bearer token or basic password) is needed, because jobs, logs and history
// describe the same builds the mirror keeps private. Tokens are compared as sha256 digests with
// timingSafeEqual over every configured token, so timing reveals neither a token nor its position.
import { createHash, scrypt, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { MirrorReadAuth, NamedToken } from '../types.js';
import { ApiError } from './errors.js';

const REALM = 'heliostat';

interface Digested {
  name: string;
  digest: Buffer;
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

export function digestTokens(tokens: readonly NamedToken[]): Digested[] {
  return tokens.map((t) => ({ name: t.name, digest: sha256(t.token) }));
}

/** The name of the token presented, or undefined. Compares against every token, always. */
export function matchToken(presented: string, tokens: readonly Digested[]): string | undefined {
  const digest = sha256(presented);
  let name: string | undefined;
  for (const token of tokens) if (timingSafeEqual(digest, token.digest) && name === undefined) name = token.name;
  return name;
}

type Credentials = { kind: 'none' } | { kind: 'bearer'; token: string } | { kind: 'basic'; user: string; password: string } | { kind: 'malformed' };

function credentials(header: string | undefined): Credentials {
  if (header === undefined || header === '') return { kind: 'none' };
  const bearer = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(header);
  if (bearer?.[1]) return { kind: 'bearer', token: bearer[1] };
  const basic = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { kind: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return { kind: 'malformed' };
}

function challenge(schemes: readonly string[], error?: string): Record<string, string> {
  const value = schemes.map((s) => `${s} realm="${REALM}"${error && s === 'Bearer' ? `, error="${error}"` : ''}`).join(', ');
  return { 'WWW-Authenticate': value };
}

/** Requires a write token; the token's name becomes `res.locals.actor`. */
export function requireWriteToken(tokens: readonly NamedToken[]): RequestHandler {
  const digested = digestTokens(tokens);
  return (req, res, next) => {
    const given = credentials(req.get('authorization'));
    if (given.kind === 'none') throw new ApiError(401, 'unauthorized', 'this endpoint needs a bearer token: Authorization: Bearer <token>', challenge(['Bearer']));
    const name = given.kind === 'bearer' ? matchToken(given.token, digested) : undefined;
    if (name === undefined) throw new ApiError(401, 'unauthorized', 'the bearer token is not valid', challenge(['Bearer'], 'invalid_token'));
    res.locals['actor'] = name;
    next();
  };
}

const scryptAsync = (password: string, salt: Buffer, length: number) =>
  new Promise<Buffer>((resolve, reject) => scrypt(password, salt, length, (error, key) => (error ? reject(error) : resolve(key))));

/** Checks a password against `scrypt$<salt hex>$<hash hex>`; a malformed hash never matches. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const match = /^scrypt\$([0-9a-f]{16,128})\$([0-9a-f]{32,256})$/.exec(stored);
  if (!match?.[1] || !match[2]) return false;
  const expected = Buffer.from(match[2], 'hex');
  const actual = await scryptAsync(password, Buffer.from(match[1], 'hex'), expected.length);
  return timingSafeEqual(actual, expected);
}

/** Read access: open when the mirror is public, else any write token or mirror read client. */
export function requireReader(writeTokens: readonly NamedToken[], mirror: MirrorReadAuth): RequestHandler {
  const bearers = digestTokens([...writeTokens, ...mirror.clients.flatMap((c) => (c.token ? [{ name: c.name, token: c.token }] : []))]);
  const passwords = new Map(mirror.clients.flatMap((c) => (c.passwordHash ? [[c.name, c.passwordHash] as const] : [])));
  const schemes = passwords.size > 0 ? ['Bearer', 'Basic'] : ['Bearer'];
  return async (req, res, next) => {
    if (mirror.public) {
      next();
      return;
    }
    const given = credentials(req.get('authorization'));
    if (given.kind === 'none') throw new ApiError(401, 'unauthorized', 'reading this controller needs credentials', challenge(schemes));
    let name: string | undefined;
    if (given.kind === 'bearer') name = matchToken(given.token, bearers);
    if (given.kind === 'basic') {
      const hash = passwords.get(given.user);
      // An unknown user still costs one scrypt, so timing does not tell which names exist.
      const ok = await verifyPassword(given.password, hash ?? 'scrypt$00000000000000000000000000000000$00000000000000000000000000000000');
      if (ok && hash) name = given.user;
    }
    if (name === undefined) throw new ApiError(401, 'unauthorized', 'the credentials are not valid', challenge(schemes, 'invalid_token'));
    res.locals['reader'] = name;
    next();
  };
}
