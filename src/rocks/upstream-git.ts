// simple-git plumbing for the upstream adapter: a controlled environment and `cat-file --batch`.
import { simpleGit, type SimpleGit } from 'simple-git';
import { UpstreamContentError } from './upstream-errors.js';

/** Transports git may use; blocks ext:: and fd:: even if a URL slipped through validation. */
const ALLOWED_PROTOCOLS = 'file:git:http:https:ssh';
const EXTRA_ENV = {
  GIT_TERMINAL_PROMPT: '0', // never hang on a credential prompt in a daemon
  GIT_ALLOW_PROTOCOL: ALLOWED_PROTOCOLS,
  LC_ALL: 'C', // stable messages in errors
};
// Variables simple-git refuses to pass unless allowed; inherited ones are dropped like it does.
const GUARDED = new Set(['editor', 'pager', 'prefix', 'ssh_askpass', 'visual']);

export interface GitOptions {
  baseDir: string;
  /** Kill a git process that produces no output for this long. */
  timeoutMs: number;
  /** Directory git must not enter when searching upwards for a repository. */
  ceiling?: string;
  /** Bytes to write to the process's stdin. */
  input?: string;
}

export function gitAt(options: GitOptions): SimpleGit {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    const k = key.toLowerCase();
    if (value !== undefined && !k.startsWith('git_') && !GUARDED.has(k)) env[key] = value;
  }
  Object.assign(env, EXTRA_ENV);
  if (options.ceiling) env.GIT_CEILING_DIRECTORIES = options.ceiling;
  const input = options.input;
  return simpleGit({
    baseDir: options.baseDir,
    maxConcurrentProcesses: 4,
    timeout: { block: options.timeoutMs },
    // By default a git process counts as done 50 ms after it exits, read or not; on a busy event
    // loop that truncates large outputs (cat-file --batch). Wait for stdout to close instead.
    completion: { onClose: true, onExit: false },
    allowEnvironment: [...Object.keys(EXTRA_ENV), 'GIT_CEILING_DIRECTORIES'],
    ...(input === undefined ? {} : { input: () => input }),
  }).env(env);
}

export type BatchObject =
  | { spec: string; missing: true }
  | { spec: string; missing: false; oid: string; type: string; content: Buffer };

/**
 * Reads many objects with one `git cat-file --batch` process. `specs` are object names such as
 * `<commit>:<path>`; none may contain a newline (the batch protocol is line based).
 */
export async function catFileBatch(options: Omit<GitOptions, 'input'>, specs: readonly string[]): Promise<BatchObject[]> {
  if (specs.length === 0) return [];
  for (const spec of specs) if (/[\r\n]/.test(spec)) throw new Error(`object name contains a newline: ${JSON.stringify(spec)}`);
  // simple-git types this result loosely; it is the raw stdout buffer.
  const raw: unknown = await gitAt({ ...options, input: specs.map((s) => `${s}\n`).join('') }).binaryCatFile(['--batch']);
  if (!Buffer.isBuffer(raw)) throw new Error('git cat-file --batch did not return bytes');
  const out = raw;
  const result: BatchObject[] = [];
  let pos = 0;
  for (const spec of specs) {
    const eol = out.indexOf(0x0a, pos);
    if (eol < 0) throw new Error(`truncated cat-file output at ${JSON.stringify(spec)}`);
    const header = out.subarray(pos, eol).toString('utf8');
    pos = eol + 1;
    const m = /^([0-9a-f]{40,64}) (\S+) (\d+)$/.exec(header);
    if (!m) {
      // "<spec> missing" or "<spec> ambiguous"
      result.push({ spec, missing: true });
      continue;
    }
    const size = Number(m[3]);
    if (pos + size > out.length) throw new Error(`truncated cat-file output for ${JSON.stringify(spec)}`);
    result.push({ spec, missing: false, oid: m[1] ?? '', type: m[2] ?? '', content: out.subarray(pos, pos + size) });
    pos += size + 1; // content is followed by a newline
  }
  return result;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes bytes as UTF-8 without changing any of them (a BOM is kept, invalid bytes throw). */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new UpstreamContentError(`${what} is not valid UTF-8`);
  }
}

/** `<oid>\trefs/heads/<name>` lines (ls-remote, for-each-ref) → branch → commit. */
export function parseHeads(out: string): Map<string, string> {
  const heads = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^([0-9a-f]{40,64})\trefs\/heads\/(.+)$/.exec(line);
    if (m?.[1] && m[2]) heads.set(m[2], m[1]);
  }
  return heads;
}

/** `git ls-tree -r -z` output → path → blob id, regular files only (no links, no submodules). */
export function parseLsTreeBlobs(out: string): Map<string, string> {
  const blobs = new Map<string, string>();
  for (const record of out.split('\0')) {
    const m = /^(?:100644|100755) blob ([0-9a-f]{40,64})\t(.*)$/s.exec(record);
    if (m?.[1] && m[2] !== undefined) blobs.set(m[2], m[1]);
  }
  return blobs;
}

/** `git ls-tree -z <commit> -- rocks/` output → folder name → tree id. */
export function parseLsTreeFolders(out: string, prefix: string): Map<string, string> {
  const trees = new Map<string, string>();
  for (const record of out.split('\0')) {
    const m = /^040000 tree ([0-9a-f]{40,64})\t(.*)$/s.exec(record);
    if (m?.[1] && m[2]?.startsWith(prefix)) trees.set(m[2].slice(prefix.length), m[1]);
  }
  return trees;
}
