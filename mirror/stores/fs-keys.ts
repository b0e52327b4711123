// Key → path mapping for the filesystem store, kept apart so the rule that no key can leave the
// store root is one small function that is easy to audit.
import { resolve, sep } from 'node:path';

/** Temporary files carry this prefix; listings hide them and keys may not use it. */
export const TEMP_PREFIX = '.tmp-';

export class InvalidKeyError extends Error {
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`invalid key ${JSON.stringify(key)}: ${reason}`);
    this.name = 'InvalidKeyError';
  }
}

/** The absolute path of `key` under `root` (already resolved), refusing anything that could escape it. */
export function keyPath(root: string, key: string): string {
  if (key.length === 0) throw new InvalidKeyError(key, 'empty');
  if (key.startsWith('/')) throw new InvalidKeyError(key, 'absolute');
  if (key.includes('\\')) throw new InvalidKeyError(key, 'backslash');
  if (key.includes('\0')) throw new InvalidKeyError(key, 'NUL byte');
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') throw new InvalidKeyError(key, `"${segment}" segment`);
    if (segment.startsWith(TEMP_PREFIX)) throw new InvalidKeyError(key, `segment starts with ${TEMP_PREFIX}`);
  }
  // Belt and braces: after the checks above this cannot fail, but it is the property that matters.
  const path = resolve(root, key);
  if (!path.startsWith(root + sep)) throw new InvalidKeyError(key, 'outside the store root');
  return path;
}

/** Store keys compare by code unit, the order S3 lists in. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function errno(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}
