// The optional git publisher: after a successful build or a promotion, the build's images.json and
// manifest.yaml go into branch `heliostat/<train>-<release>-<build-id>` of a configured repository,
// where a deployment pipeline or a reviewer can pick them up. It keeps one clone of its own and
// runs one publication at a time; failures are logged, never thrown into the controller.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { simpleGit, type SimpleGit } from 'simple-git';
import { parseRef } from '../../../mirror/ref.js';
import { validateBuildId, validateRelease, validateSeries, validateTrain } from '../../../mirror/layout.js';
import { findRelease } from '../../catalog/releases.js';
import type { ControllerApi, ControllerEvent } from '../types.js';
import { redactCredentials } from './url.js';

export interface BuildCoordinates {
  train: string;
  release: string;
  series: string;
  buildId: string;
}

export const PUBLISHED_FILES = ['images.json', 'manifest.yaml'] as const;
export type PublishedFile = (typeof PUBLISHED_FILES)[number];

/** Reads one output file of a committed build from the mirror; undefined when the build has none. */
export type BuildFileReader = (build: BuildCoordinates, file: PublishedFile) => Promise<string | Uint8Array | undefined>;

export interface GitPublisherOptions {
  /** URL or path of the repository branches are pushed to. */
  repository: string;
  /** Where the publisher keeps its clone. */
  workDir: string;
  read: BuildFileReader;
  logger: Logger;
  /** Folder of the files inside the repository (default `heliostat/<train>/<release>/<series>`). */
  directory?: (build: BuildCoordinates) => string;
  author?: { name: string; email: string };
  /** Kills a git process silent for this long. */
  timeoutMs?: number;
}

export interface Publication {
  branch: string;
  commit: string;
  /** False when the branch already held exactly these files. */
  pushed: boolean;
}

const REMOTE = 'origin';
// Variables simple-git refuses to pass (they can run programs); inherited ones are dropped.
const GUARDED_ENV = new Set(['editor', 'pager', 'prefix', 'ssh_askpass', 'visual']);

export function branchFor(build: BuildCoordinates): string {
  return `heliostat/${build.train}-${build.release}-${build.buildId}`;
}

/** Validated coordinates; the release in its number form, so both spellings share a branch. */
function coordinates(build: BuildCoordinates): BuildCoordinates {
  return {
    train: validateTrain(build.train),
    release: validateRelease(findRelease(build.release)?.number ?? build.release),
    series: validateSeries(build.series),
    buildId: validateBuildId(build.buildId),
  };
}

export class GitPublisher {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: GitPublisherOptions) {}

  private gitIn(baseDir: string): SimpleGit {
    const author = this.options.author ?? { name: 'heliostat', email: 'heliostat@localhost' };
    // Identity and signing come from -c, so the machine's global git config cannot change them.
    const config = [`user.name=${author.name}`, `user.email=${author.email}`, 'commit.gpgsign=false', 'core.autocrlf=false'];
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (value !== undefined && !key.toLowerCase().startsWith('git_') && !GUARDED_ENV.has(key.toLowerCase())) env[key] = value;
    }
    // A daemon must fail, not wait for a password nobody will type.
    env['GIT_TERMINAL_PROMPT'] = '0';
    return simpleGit({ baseDir, config, timeout: { block: this.options.timeoutMs ?? 120_000 }, maxConcurrentProcesses: 1, allowEnvironment: ['GIT_TERMINAL_PROMPT'] }).env(env);
  }

  /** Publishes after successful builds and promotions; returns the unsubscribe function. */
  attach(controller: Pick<ControllerApi, 'onEvent'>): () => void {
    return controller.onEvent((event) => this.handle(event));
  }

  handle(event: ControllerEvent): void {
    let work: { build: BuildCoordinates; reason: string } | undefined;
    try {
      if (event.type === 'published' && event.result === 'success') work = { build: event, reason: 'build' };
      if (event.type === 'promoted') {
        const ref = parseRef(event.ref);
        work = { build: { train: ref.train, release: ref.release, series: ref.series, buildId: event.buildId }, reason: 'promotion to stable' };
      }
    } catch (error) {
      this.options.logger.warn({ err: error }, 'git publisher: event names no build');
    }
    if (!work) return;
    const { build, reason } = work;
    this.publish(build, reason).catch((error: unknown) => {
      const message = redactCredentials(error instanceof Error ? error.message : String(error));
      this.options.logger.error({ build: `${build.train}/${build.release}/${build.series}/${build.buildId}`, reason: message.split('\n')[0] }, 'git publisher: could not publish');
    });
  }

  /** Commits the build's files to its branch and pushes it; one publication at a time. */
  publish(build: BuildCoordinates, reason: string): Promise<Publication> {
    const run = this.chain.then(() => this.publishNow(coordinates(build), reason));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Resolves when every queued publication has ended (tests, shutdown). */
  async idle(): Promise<void> {
    await this.chain;
  }

  private async publishNow(build: BuildCoordinates, reason: string): Promise<Publication> {
    const files = await this.readFiles(build);
    const git = await this.clone();
    const branch = branchFor(build);
    await git.raw(['fetch', '--prune', REMOTE, `+refs/heads/*:refs/remotes/${REMOTE}/*`]);
    const existing = await this.remoteBranch(git, branch);
    const base = existing ?? (await this.defaultBranch(git));
    if (base) await git.raw(['checkout', '--force', '-B', branch, base]);
    else {
      // An empty repository: the branch starts from nothing.
      await git.raw(['checkout', '--force', '--orphan', branch]);
      await git.raw(['rm', '-r', '-q', '--cached', '--ignore-unmatch', '.']);
    }
    await git.raw(['clean', '-f', '-d', '-x', '-q']);
    const dir = (this.options.directory ?? ((b) => `heliostat/${b.train}/${b.release}/${b.series}`))(build);
    for (const [name, content] of files) {
      const path = join(this.options.workDir, dir, name);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, content);
    }
    await git.raw(['add', '--', dir]);
    const changed = (await git.raw(['diff', '--cached', '--name-only'])).trim() !== '';
    // A promotion is recorded even when the files are unchanged; a rebuilt identical build is not.
    if (!changed && existing && reason === 'build') {
      return { branch, commit: (await git.raw(['rev-parse', 'HEAD'])).trim(), pushed: false };
    }
    const subject = `heliostat: ${build.train}/${build.release}/${build.series} build ${build.buildId} (${reason})`;
    await git.raw(['commit', '--quiet', '--allow-empty', '--no-verify', '-m', subject, '-m', `Files: ${files.map(([n]) => n).join(', ')}`]);
    const commit = (await git.raw(['rev-parse', 'HEAD'])).trim();
    await git.raw(['push', '--quiet', REMOTE, `HEAD:refs/heads/${branch}`]);
    this.options.logger.info({ branch, commit, reason }, 'git publisher: pushed');
    return { branch, commit, pushed: true };
  }

  private async readFiles(build: BuildCoordinates): Promise<Array<[PublishedFile, string | Uint8Array]>> {
    const files: Array<[PublishedFile, string | Uint8Array]> = [];
    for (const name of PUBLISHED_FILES) {
      const content = await this.options.read(build, name);
      if (content !== undefined) files.push([name, content]);
    }
    if (files.length === 0) throw new Error(`build ${build.train}/${build.release}/${build.series}/${build.buildId} has neither ${PUBLISHED_FILES.join(' nor ')}`);
    return files;
  }

  private async clone(): Promise<SimpleGit> {
    const dir = this.options.workDir;
    if (!existsSync(join(dir, '.git'))) {
      await mkdir(dirname(dir), { recursive: true });
      await this.gitIn(dirname(dir)).raw(['clone', '--quiet', '--no-checkout', '--origin', REMOTE, '--', this.options.repository, dir]);
    }
    const git = this.gitIn(dir);
    // The configured repository wins over whatever the clone was made from.
    await git.raw(['remote', 'set-url', REMOTE, this.options.repository]);
    return git;
  }

  private async remoteBranch(git: SimpleGit, branch: string): Promise<string | undefined> {
    const ref = `refs/remotes/${REMOTE}/${branch}`;
    const out = await git.raw(['for-each-ref', '--format=%(refname)', ref]);
    return out.trim() === ref ? ref : undefined;
  }

  /** The remote's default branch (its HEAD), if it has any commit. */
  private async defaultBranch(git: SimpleGit): Promise<string | undefined> {
    const out = await git.raw(['ls-remote', '--symref', REMOTE, 'HEAD']);
    const match = /^ref: refs\/heads\/(\S+)\tHEAD$/m.exec(out);
    const head = match ? `refs/remotes/${REMOTE}/${match[1] ?? ''}` : undefined;
    if (head && (await git.raw(['for-each-ref', '--format=%(refname)', head])).trim() === head) return head;
    return undefined;
  }
}
