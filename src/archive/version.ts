// Debian version comparison, exactly as dpkg does it (Debian Policy §5.6.12):
// [epoch:]upstream_version[-debian_revision]; epochs compare numerically, then upstream, then
// revision with dpkg's verrevcmp: alternating non-digit runs (compared character by character with
// "~" before everything, even the end, and letters before non-letters) and digit runs (compared
// numerically).
import { InvalidVersionError } from './errors.js';

export interface DebianVersion {
  epoch: number;
  upstream: string;
  /** "" when the version has no revision (dpkg treats "1.0" and "1.0-0" as equal). */
  revision: string;
}

/** Splits a version into epoch, upstream and revision. Throws InvalidVersionError when malformed. */
export function parseDebianVersion(version: string): DebianVersion {
  const text = version.trim();
  if (text === '') throw new InvalidVersionError(version, 'empty version');
  if (/\s/.test(text)) throw new InvalidVersionError(version, 'contains whitespace');
  let epoch = 0;
  let rest = text;
  const colon = text.indexOf(':');
  if (colon !== -1) {
    const epochText = text.slice(0, colon);
    if (!/^\d+$/.test(epochText)) throw new InvalidVersionError(version, 'epoch is not a number');
    epoch = Number(epochText);
    if (!Number.isSafeInteger(epoch)) throw new InvalidVersionError(version, 'epoch is too large');
    rest = text.slice(colon + 1);
  }
  const dash = rest.lastIndexOf('-');
  const upstream = dash === -1 ? rest : rest.slice(0, dash);
  const revision = dash === -1 ? '' : rest.slice(dash + 1);
  if (upstream === '') throw new InvalidVersionError(version, 'empty upstream version');
  if (dash !== -1 && revision === '') throw new InvalidVersionError(version, 'empty revision');
  return { epoch, upstream, revision };
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function isLetter(code: number): boolean {
  return (code >= 0x41 && code <= 0x5a) || (code >= 0x61 && code <= 0x7a);
}

/** dpkg's order(): "~" < end of string = digits < letters < everything else. */
function order(code: number): number {
  if (Number.isNaN(code) || isDigit(code)) return 0;
  if (isLetter(code)) return code;
  if (code === 0x7e) return -1;
  return code + 256;
}

/** dpkg's verrevcmp() on one part (upstream or revision). */
function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit prefix, character by character.
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(a.charCodeAt(i));
      const bc = order(b.charCodeAt(j));
      if (ac !== bc) return ac - bc;
      i += 1;
      j += 1;
    }
    // Digit run, numerically: skip leading zeros, then the longer run wins, else the first difference.
    while (a.charCodeAt(i) === 0x30) i += 1;
    while (b.charCodeAt(j) === 0x30) j += 1;
    let firstDiff = 0;
    while (isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i += 1;
      j += 1;
    }
    if (isDigit(a.charCodeAt(i))) return 1;
    if (isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

function sign(value: number): -1 | 0 | 1 {
  return value < 0 ? -1 : value > 0 ? 1 : 0;
}

/**
 * Compares two Debian versions: -1 when a < b, 0 when equal, 1 when a > b (the same answer as
 * `dpkg --compare-versions`). Throws InvalidVersionError for malformed versions.
 */
export function compareDebianVersions(a: string, b: string): -1 | 0 | 1 {
  const va = parseDebianVersion(a);
  const vb = parseDebianVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  const upstream = compareFragment(va.upstream, vb.upstream);
  if (upstream !== 0) return sign(upstream);
  return sign(compareFragment(va.revision, vb.revision));
}

/** The highest of the given versions, or undefined for an empty list. */
export function maxDebianVersion(versions: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const version of versions) {
    if (best === undefined || compareDebianVersions(version, best) > 0) best = version;
  }
  return best;
}
