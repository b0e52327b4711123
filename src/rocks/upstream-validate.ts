// Input validation for the upstream adapter. Every value that reaches a git command line goes
// through here first, so none can be read by git as an option, a remote helper or a path outside
// the tree.
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidUpstreamArgumentError, InvalidUpstreamUrlError } from './upstream-errors.js';

const SCHEMES = new Set(['https', 'http', 'git', 'ssh', 'file']);
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const HOST = /^[A-Za-z0-9_.[\]:-]+$/;
const SCP_LIKE = /^(?:([^@/:]+)@)?([^/:]+):(.+)$/;

/**
 * Checks a repository location and returns its canonical form: a URL (as `new URL` writes it),
 * or an absolute path for local repositories. Throws InvalidUpstreamUrlError naming the value.
 */
export function normalizeUpstreamUrl(value: string): string {
  const fail = (reason: string): never => {
    throw new InvalidUpstreamUrlError(value, reason);
  };
  if (typeof value !== 'string' || value.trim() === '') return fail('it is empty');
  if (value !== value.trim()) fail('it has leading or trailing whitespace');
  if (CONTROL.test(value)) fail('it contains control characters');
  if (value.startsWith('-')) fail('it must not start with "-"');
  // `<helper>::<address>` runs arbitrary remote helpers (ext::, fd::).
  if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(value)) fail('remote helper syntax ("<transport>::") is not supported');

  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)?.[1]?.toLowerCase();
  if (scheme !== undefined) {
    if (!SCHEMES.has(scheme)) fail(`unsupported scheme "${scheme}" (use https, http, git, ssh, file or a local path)`);
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      return fail('it is not a valid URL');
    }
    if (scheme === 'file') {
      if (url.host !== '') fail('file URLs must not name a host');
      checkLocalDir(value, fileURLToPath(url));
      return url.href;
    }
    if (url.hostname === '') fail('it has no host');
    if (url.hostname.startsWith('-') || url.username.startsWith('-')) fail('host and user must not start with "-"');
    return url.href;
  }

  // scp-like ssh syntax `[user@]host:path`: a colon before any slash, as git decides.
  const scp = SCP_LIKE.exec(value);
  if (scp && !value.slice(0, value.indexOf(':')).includes('/')) {
    const [, user = '', host = '', repoPath = ''] = scp;
    if (!HOST.test(host) || host.startsWith('-') || user.startsWith('-')) fail('invalid host in scp-like ssh address');
    if (repoPath.startsWith('-')) fail('the repository path must not start with "-"');
    return value;
  }

  const absolute = path.resolve(value);
  checkLocalDir(value, absolute);
  return absolute;
}

function checkLocalDir(value: string, dir: string): void {
  if (!existsSync(dir)) throw new InvalidUpstreamUrlError(value, `local path ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new InvalidUpstreamUrlError(value, `local path ${dir} is not a directory`);
}

/** A branch name as `git check-ref-format --branch` would accept it, minus exotic cases. */
export function validateBranch(branch: string): string {
  const fail = (reason: string): never => {
    throw new InvalidUpstreamArgumentError('branch', branch, reason);
  };
  if (typeof branch !== 'string' || branch === '') fail('it is empty');
  if (branch.startsWith('-')) fail('it must not start with "-"');
  if (!/^[A-Za-z0-9._/+@-]+$/.test(branch)) fail('only letters, digits and . _ / + @ - are allowed');
  if (branch.includes('..') || branch.includes('//') || branch.includes('@{')) fail('it contains "..", "//" or "@{"');
  if (/(^|\/)\./.test(branch) || /(\/|\.|\.lock)$/.test(branch) || branch.startsWith('/') || branch === '@') {
    fail('it is not a valid git branch name');
  }
  return branch;
}

/** A full commit id (SHA-1 or SHA-256), lower-cased. Abbreviations are refused: they can be ambiguous. */
export function validateCommit(commit: string): string {
  if (typeof commit !== 'string' || !/^([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/.test(commit)) {
    throw new InvalidUpstreamArgumentError('commit', String(commit), 'expected a full hexadecimal commit id');
  }
  return commit.toLowerCase();
}

/** A rock folder name under rocks/. */
export function validateRockName(rock: string): string {
  if (typeof rock !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(rock)) {
    throw new InvalidUpstreamArgumentError('rock', String(rock), 'expected a folder name under rocks/ (letters, digits, . _ + -)');
  }
  return rock;
}

/** A relative path inside the repository tree: no absolute paths, no "." or ".." segments. */
export function validateRepoPath(p: string): string {
  const fail = (reason: string): never => {
    throw new InvalidUpstreamArgumentError('path', String(p), reason);
  };
  if (typeof p !== 'string' || p === '') fail('it is empty');
  if (CONTROL.test(p)) fail('it contains control characters');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) fail('it must be relative to the repository root');
  if (p.includes('\\')) fail('use "/" as separator');
  const segments = p.split('/');
  if (segments.some((s) => s === '..')) fail('".." is not allowed');
  if (segments.some((s) => s === '' || s === '.')) fail('empty or "." segments are not allowed');
  return p;
}
