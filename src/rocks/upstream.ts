// The upstream rocks repository (canonical/ubuntu-openstack-rocks or a fork): one bare cache
// clone per URL, refreshed branch by branch only when `ls-remote` says the head moved, and read
// with plumbing (ls-tree, cat-file) so that no branch is ever checked out and many branches can be
// read at once.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  CacheConflictError,
  NotCachedError,
  UnknownBranchError,
  UpstreamGitError,
  UpstreamNotFoundError,
} from './upstream-errors.js';
import { catFileBatch, decodeUtf8, gitAt, parseHeads, parseLsTreeBlobs, parseLsTreeFolders, type GitOptions } from './upstream-git.js';
import { withFileLock, type FileLockOptions } from './upstream-lock.js';
import { normalizeUpstreamUrl, validateBranch, validateCommit, validateRepoPath, validateRockName } from './upstream-validate.js';

export * from './upstream-errors.js';
export { normalizeUpstreamUrl } from './upstream-validate.js';

export interface UpstreamLogEvent {
  op: 'ls-remote' | 'fetch' | 'clone';
  detail: string;
}

export interface UpstreamRocksRepoOptions {
  /** https/http/git/ssh/file URL, scp-like ssh address, or local path of the repository. */
  url: string;
  /** Heliostat cache directory; the clone goes to `<cacheDir>/rocks/<key>`. */
  cacheDir: string;
  /** Never contact the remote; use what the cache holds. */
  offline?: boolean;
  /** Called before every network operation. */
  log?: (event: UpstreamLogEvent) => void;
  /** Kill a git process that stays silent this long (default 5 minutes). */
  gitTimeoutMs?: number;
  /** Cache lock tuning (mostly for tests). */
  lock?: FileLockOptions;
}

export interface ResolvedBranch {
  branch: string;
  commit: string;
}

const ROCKCRAFT = /^rocks\/([^/]+)\/rockcraft\.yaml$/;
const TREE_MEMO = 16;

/** The cache folder name of a URL: the first 16 hex digits of its sha256. */
export function upstreamCacheKey(normalizedUrl: string): string {
  return createHash('sha256').update(normalizedUrl).digest('hex').slice(0, 16);
}

export class UpstreamRocksRepo {
  /** The URL in canonical form (absolute path for local repositories). */
  readonly url: string;
  /** The bare cache clone. */
  readonly repoDir: string;
  private readonly cacheRoot: string;
  private readonly lockPath: string;
  private readonly offline: boolean;
  private readonly emit: (event: UpstreamLogEvent) => void;
  private readonly timeoutMs: number;
  private readonly lockOptions: FileLockOptions;
  private queue: Promise<unknown> = Promise.resolve();
  private markerChecked = false;
  // Commits are immutable, so their rock listings (rock → blob id) can be kept.
  private readonly trees = new Map<string, Map<string, string>>();
  /** Rock folder trees per commit: a commit never changes. */
  private readonly folderTrees = new Map<string, Map<string, string>>();
  /** The ls-remote in flight: callers at the same moment (builds starting together) share it. */
  private headsInFlight: Promise<Map<string, string>> | undefined;

  constructor(options: UpstreamRocksRepoOptions) {
    this.url = normalizeUpstreamUrl(options.url);
    this.cacheRoot = path.join(path.resolve(options.cacheDir), 'rocks');
    const key = upstreamCacheKey(this.url);
    this.repoDir = path.join(this.cacheRoot, key);
    this.lockPath = `${this.repoDir}.lock`;
    this.offline = options.offline ?? false;
    this.emit = options.log ?? (() => undefined);
    this.timeoutMs = options.gitTimeoutMs ?? 5 * 60_000;
    this.lockOptions = options.lock ?? {};
  }

  /**
   * The current head of `branch`. Online: one `ls-remote`, then a fetch of that branch only if
   * the cache is behind (a clone if there is no cache yet). Offline: the cached head.
   */
  async resolveBranch(branch: string): Promise<ResolvedBranch> {
    validateBranch(branch);
    if (this.offline) {
      if (!(await this.cacheExists())) {
        throw new NotCachedError(`offline and no cached clone of ${this.url} in ${this.repoDir}; run once online first`);
      }
      const heads = await this.cachedHeads();
      const commit = heads.get(branch);
      if (commit === undefined) throw new UnknownBranchError(branch, [...heads.keys()].sort(), `the offline cache of ${this.url}`);
      return { branch, commit };
    }

    const remote = await this.lsRemote(branch);
    const wanted = remote.get(branch);
    if (wanted === undefined) throw new UnknownBranchError(branch, [...remote.keys()].sort(), this.url);
    // Up to date: no need to wait for a lock that a long clone elsewhere may hold.
    if ((await this.cacheExists()) && (await this.cachedHeads()).get(branch) === wanted) return { branch, commit: wanted };
    return this.exclusive(async () => {
      let heads: Map<string, string>;
      if (!(await this.cacheExists())) {
        await this.clone();
        heads = await this.cachedHeads();
      } else {
        heads = await this.cachedHeads();
        // Checked under the lock: another process may have fetched while this one waited.
        const cached = heads.get(branch);
        if (cached !== wanted) {
          await this.fetch(branch, cached, wanted);
          heads = await this.cachedHeads();
        }
      }
      const commit = heads.get(branch);
      if (commit === undefined) throw new UnknownBranchError(branch, [...remote.keys()].sort(), `the cache of ${this.url}`);
      return { branch, commit };
    });
  }

  /** Branch names: the remote's, or the cache's when offline. */
  async listBranches(): Promise<string[]> {
    if (!this.offline) return [...(await this.lsRemote('*')).keys()].sort();
    await this.requireCache();
    return [...(await this.cachedHeads()).keys()].sort();
  }

  /** Folders under rocks/ holding a rockcraft.yaml at `commit`, sorted. */
  async listRocks(commit: string): Promise<string[]> {
    return [...(await this.rockTree(validateCommit(commit))).keys()].sort();
  }

  /**
   * Git tree id of every rock folder at `commit`: it changes exactly when something in the
   * folder changes, which is what a build key needs from upstream.
   */
  async rockFolderTrees(commit: string): Promise<Map<string, string>> {
    const sha = validateCommit(commit);
    const known = this.folderTrees.get(sha);
    if (known) return new Map(known);
    await this.requireCache(false);
    let out: string;
    try {
      out = await this.git().raw(['ls-tree', '-z', `${sha}^{commit}`, '--', 'rocks/']);
    } catch (error) {
      await this.requireCommit(sha);
      throw new UpstreamGitError('ls-tree', `${this.url} ${sha}`, error);
    }
    const folders = parseLsTreeFolders(out, 'rocks/');
    if (this.folderTrees.size >= 16) this.folderTrees.delete(this.folderTrees.keys().next().value ?? '');
    this.folderTrees.set(sha, folders);
    return new Map(folders);
  }

  /** rocks/<rock>/rockcraft.yaml at `commit`, exactly as stored. */
  async readRockcraft(commit: string, rock: string): Promise<string> {
    const texts = await this.readRockcrafts(commit, [rock]);
    return texts.get(rock) ?? '';
  }

  /** rockcraft.yaml of `rocks` (default: every rock) at `commit`, read with one git process. */
  async readRockcrafts(commit: string, rocks?: readonly string[]): Promise<Map<string, string>> {
    const sha = validateCommit(commit);
    const tree = await this.rockTree(sha);
    const names = rocks ? [...new Set(rocks.map(validateRockName))] : [...tree.keys()].sort();
    const missing = names.filter((n) => !tree.has(n));
    if (missing.length > 0) {
      throw new UpstreamNotFoundError(
        `no rockcraft.yaml for ${missing.join(', ')} at commit ${sha.slice(0, 12)} of ${this.url} (it has ${tree.size} rocks)`,
      );
    }
    const objects = await this.batch(names.map((n) => tree.get(n) ?? ''));
    const result = new Map<string, string>();
    names.forEach((name, i) => {
      const object = objects[i];
      if (!object || object.missing) throw new UpstreamNotFoundError(`object of rocks/${name}/rockcraft.yaml is missing from the cache`);
      result.set(name, decodeUtf8(object.content, `rocks/${name}/rockcraft.yaml at ${sha.slice(0, 12)}`));
    });
    return result;
  }

  /** Any file of the tree at `commit` (e.g. inputs of workarounds), as bytes. */
  async readFile(commit: string, filePath: string): Promise<Buffer> {
    const sha = validateCommit(commit);
    validateRepoPath(filePath);
    await this.requireCache(false);
    const [object] = await this.batch([`${sha}:${filePath}`]);
    if (!object || object.missing) {
      await this.requireCommit(sha);
      throw new UpstreamNotFoundError(`${filePath} does not exist at commit ${sha.slice(0, 12)} of ${this.url}`);
    }
    if (object.type !== 'blob') throw new UpstreamNotFoundError(`${filePath} at commit ${sha.slice(0, 12)} is a ${object.type}, not a file`);
    return Buffer.from(object.content);
  }

  // --- cache maintenance -------------------------------------------------------------------

  /** Serialises maintenance within this instance, and across processes with the lock file. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      await mkdir(this.cacheRoot, { recursive: true });
      return withFileLock(this.lockPath, fn, this.lockOptions);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private lsRemote(branch: string): Promise<Map<string, string>> {
    // It lists every head, so one answer serves every caller that asked while it ran.
    this.headsInFlight ??= this.listRemoteHeads(branch).finally(() => {
      this.headsInFlight = undefined;
    });
    return this.headsInFlight;
  }

  private async listRemoteHeads(branch: string): Promise<Map<string, string>> {
    await mkdir(this.cacheRoot, { recursive: true });
    this.emit({ op: 'ls-remote', detail: `${this.url} ${branch}` });
    let out: string;
    try {
      out = await this.git(this.cacheRoot).raw(['ls-remote', '--heads', '--', this.url]);
    } catch (error) {
      throw new UpstreamGitError('ls-remote', this.url, error);
    }
    return parseHeads(out);
  }

  private async clone(): Promise<void> {
    const base = path.basename(this.repoDir);
    // Leftovers of clones interrupted before their rename; safe to drop while holding the lock.
    for (const name of await readdir(this.cacheRoot)) {
      if (name.startsWith(`${base}.tmp-`)) await rm(path.join(this.cacheRoot, name), { recursive: true, force: true });
    }
    const tmp = `${this.repoDir}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.emit({ op: 'clone', detail: `${this.url} -> ${this.repoDir}` });
    try {
      await this.git(this.cacheRoot).raw(['clone', '--bare', '--no-tags', '--quiet', '--', this.url, tmp]);
      await this.git(tmp).raw(['config', 'heliostat.url', this.url]);
      // Rename last so a cache directory is always complete; a directory without HEAD there is
      // debris of a broken cache (cacheExists said no), replaced as a whole.
      await rm(this.repoDir, { recursive: true, force: true });
      await rename(tmp, this.repoDir);
    } catch (error) {
      await rm(tmp, { recursive: true, force: true });
      throw new UpstreamGitError('clone', this.url, error);
    }
    this.markerChecked = true;
  }

  private async fetch(branch: string, from: string | undefined, to: string): Promise<void> {
    this.emit({ op: 'fetch', detail: `${this.url} ${branch} ${from?.slice(0, 12) ?? '(new)'}..${to.slice(0, 12)}` });
    try {
      // Forced: upstream branches are sometimes rewritten, and the cache mirrors them.
      await this.git().raw(['fetch', '--no-tags', '--quiet', '--', this.url, `+refs/heads/${branch}:refs/heads/${branch}`]);
    } catch (error) {
      throw new UpstreamGitError('fetch', this.url, error);
    }
  }

  /**
   * Whether the cache clone exists. `checkMarker` verifies it was made for this URL; reads by
   * full commit id skip that (an object id names the same content in any repository), which
   * keeps a cold read at two git processes.
   */
  private async cacheExists(checkMarker = true): Promise<boolean> {
    try {
      await stat(path.join(this.repoDir, 'HEAD'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    if (checkMarker && !this.markerChecked) {
      const recorded = (await this.git().raw(['config', '--default', '', '--get', 'heliostat.url'])).trim();
      if (recorded !== this.url) throw new CacheConflictError(this.repoDir, this.url, recorded || '(no heliostat.url)');
      this.markerChecked = true;
    }
    return true;
  }

  private async requireCache(checkMarker = true): Promise<void> {
    if (!(await this.cacheExists(checkMarker))) {
      throw new NotCachedError(`no cached clone of ${this.url} in ${this.repoDir}; resolve a branch first`);
    }
  }

  private async requireCommit(sha: string): Promise<void> {
    const [object] = await this.batch([sha]);
    if (!object || object.missing || object.type !== 'commit') {
      throw new UpstreamNotFoundError(`commit ${sha} is not in the cache of ${this.url}; resolve its branch first`);
    }
  }

  private async cachedHeads(): Promise<Map<string, string>> {
    return parseHeads(await this.git().raw(['for-each-ref', '--format=%(objectname)%09%(refname)', 'refs/heads/']));
  }

  // --- reading -------------------------------------------------------------------------------

  private async rockTree(sha: string): Promise<Map<string, string>> {
    const known = this.trees.get(sha);
    if (known) return known;
    await this.requireCache(false);
    let out: string;
    try {
      out = await this.git().raw(['ls-tree', '-r', '-z', `${sha}^{commit}`, '--', 'rocks']);
    } catch (error) {
      await this.requireCommit(sha);
      throw new UpstreamGitError('ls-tree', `${this.url} ${sha}`, error);
    }
    const tree = new Map<string, string>();
    for (const [file, oid] of parseLsTreeBlobs(out)) {
      const rock = ROCKCRAFT.exec(file)?.[1];
      if (rock !== undefined) tree.set(rock, oid);
    }
    if (this.trees.size >= TREE_MEMO) this.trees.delete(this.trees.keys().next().value ?? '');
    this.trees.set(sha, tree);
    return tree;
  }

  private async batch(specs: string[]): ReturnType<typeof catFileBatch> {
    try {
      return await catFileBatch(this.gitOptions(this.repoDir), specs);
    } catch (error) {
      throw new UpstreamGitError('cat-file', this.url, error);
    }
  }

  private gitOptions(baseDir: string): GitOptions {
    // Git never looks above the cache for a repository (the cache may live inside a work tree).
    return { baseDir, timeoutMs: this.timeoutMs, ceiling: path.dirname(this.cacheRoot) };
  }

  private git(baseDir: string = this.repoDir): ReturnType<typeof gitAt> {
    return gitAt(this.gitOptions(baseDir));
  }
}
