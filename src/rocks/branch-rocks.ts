// The rocks of one release: its branch resolved to a commit, every rockcraft.yaml read in one go
// and parsed. A rock whose yaml does not parse is still listed, with its error, so one broken file
// upstream never hides the others.
import type { Release } from '../catalog/releases.js';
import { UsageError } from '../errors.js';
import { RockcraftDocument } from './rockcraft.js';
import { similarNames } from './select.js';
import type { UpstreamRocksRepo } from './upstream.js';

export interface BranchRock {
  /** Folder name: how heliostat addresses the rock. */
  name: string;
  text: string;
  document?: RockcraftDocument;
  error?: string;
}

export interface BranchRocks {
  release: Release;
  branch: string;
  commit: string;
  rocks: BranchRock[];
}

export async function loadBranchRocks(repo: UpstreamRocksRepo, release: Release): Promise<BranchRocks> {
  const { branch, commit } = await repo.resolveBranch(release.rocksBranch);
  const texts = await repo.readRockcrafts(commit);
  const rocks = [...texts.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, text]): BranchRock => {
      try {
        return { name, text, document: RockcraftDocument.parse(text, `rocks/${name}/rockcraft.yaml@${branch}`) };
      } catch (error) {
        return { name, text, error: error instanceof Error ? error.message : String(error) };
      }
    });
  return { release, branch, commit, rocks };
}

/** One rock by folder name, parsed; an unknown name lists close matches. */
export function requireRock(set: BranchRocks, name: string): BranchRock & { document: RockcraftDocument } {
  const rock = set.rocks.find((r) => r.name === name);
  if (!rock) {
    const similar = similarNames(name, set.rocks.map((r) => r.name));
    const hint = similar.length > 0 ? `; did you mean ${similar.join(', ')}?` : `; 'heliostat rocks list --release ${set.release.codename}' lists them`;
    throw new UsageError(`no rock '${name}' on ${set.branch} (release ${set.release.codename})${hint}`);
  }
  if (!rock.document) throw new Error(rock.error ?? `rocks/${name}/rockcraft.yaml does not parse`);
  return { ...rock, document: rock.document };
}
