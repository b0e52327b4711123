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

// A commit never changes, so its parsed rocks are kept for the next build of any release on the
// same branch: parsing ~80 rockcraft.yaml files is most of a build's planning time. Patches work on
// clones of these documents, never on them.
const PARSED_COMMITS = 16;
const parsed = new Map<string, readonly BranchRock[]>();

async function parsedRocks(repo: UpstreamRocksRepo, branch: string, commit: string): Promise<readonly BranchRock[]> {
  const key = `${repo.url}\0${branch}\0${commit}`;
  const cached = parsed.get(key);
  if (cached) {
    parsed.delete(key);
    parsed.set(key, cached);
    return cached;
  }
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
  parsed.set(key, rocks);
  for (const oldest of parsed.keys()) {
    if (parsed.size <= PARSED_COMMITS) break;
    parsed.delete(oldest);
  }
  return rocks;
}

export async function loadBranchRocks(repo: UpstreamRocksRepo, release: Release): Promise<BranchRocks> {
  const { branch, commit } = await repo.resolveBranch(release.rocksBranch);
  return { release, branch, commit, rocks: [...(await parsedRocks(repo, branch, commit))] };
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
