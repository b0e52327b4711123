// Strict validation of Launchpad PPA references ("ppa:owner/name" or "owner/name"). The value ends
// up in URLs, file names and logs, so anything outside Launchpad's name syntax is refused rather
// than cleaned up: lowercase [a-z0-9][a-z0-9+.-]*, no "+" in the owner, no "..", one "/".
import { InvalidPpaError } from './errors.js';

export interface PpaRef {
  owner: string;
  name: string;
}

/** Upper bound on the owner and on the name; real Launchpad names are far shorter. */
export const PPA_PART_MAX_LENGTH = 64;

const OWNER = /^[a-z0-9][a-z0-9.-]*$/;
const NAME = /^[a-z0-9][a-z0-9+.-]*$/;

function checkPart(value: string, part: string, what: 'owner' | 'name'): void {
  if (part === '') throw new InvalidPpaError(value, `the ${what} is empty; expected ppa:<owner>/<name>`);
  if (part.length > PPA_PART_MAX_LENGTH) {
    throw new InvalidPpaError(value, `the ${what} is longer than ${PPA_PART_MAX_LENGTH} characters`);
  }
  if (part.includes('..')) throw new InvalidPpaError(value, `the ${what} must not contain ".."`);
  const pattern = what === 'owner' ? OWNER : NAME;
  if (!pattern.test(part)) {
    const allowed = what === 'owner' ? 'a-z, 0-9, "." and "-"' : 'a-z, 0-9, "+", "." and "-"';
    throw new InvalidPpaError(value, `the ${what} ${JSON.stringify(part)} must start with a letter or digit and use only ${allowed}`);
  }
}

/**
 * Parses "ppa:owner/name" (or "owner/name") into its parts. Throws InvalidPpaError quoting the
 * value for anything else: uppercase, whitespace, shell metacharacters, "..", extra "/", empty parts.
 */
export function parsePpa(value: string): PpaRef {
  if (typeof value !== 'string' || value === '') throw new InvalidPpaError(String(value), 'empty; expected ppa:<owner>/<name>');
  if (/\s/.test(value)) throw new InvalidPpaError(value, 'must not contain whitespace');
  if (/[A-Z]/.test(value)) throw new InvalidPpaError(value, 'must be lowercase (Launchpad names are lowercase)');
  const body = value.startsWith('ppa:') ? value.slice(4) : value;
  if (body.includes(':')) throw new InvalidPpaError(value, 'expected ppa:<owner>/<name>');
  const parts = body.split('/');
  if (parts.length !== 2) throw new InvalidPpaError(value, 'expected exactly one "/" between owner and name (ppa:<owner>/<name>)');
  const [owner = '', name = ''] = parts;
  checkPart(value, owner, 'owner');
  checkPart(value, name, 'name');
  return { owner, name };
}

/** The canonical "ppa:owner/name" form. */
export function formatPpa(ref: PpaRef): string {
  return `ppa:${ref.owner}/${ref.name}`;
}
