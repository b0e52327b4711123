// The InRelease of a suite lists the SHA256 and size of each of its index files; apt refuses an
// index that does not match, and so does heliostat: a truncated, stale or tampered Sources.gz or
// Packages.gz (a mirror caught mid-sync, a broken proxy) fails the build instead of feeding it
// wrong versions. Signatures are not checked here: the hashes tie each index to its suite.
import { parseDeb822 } from './deb822.js';
import { ArchiveError } from './errors.js';

export interface ReleaseEntry {
  sha256: string;
  size: number;
}

/** An index whose body does not match what its suite's InRelease says of it. */
export class IndexVerifyError extends ArchiveError {
  constructor(
    readonly url: string,
    reason: string,
  ) {
    super(`index ${url} does not match its InRelease: ${reason}`);
  }
}

/** The SHA256 entries of a Release or InRelease text: path (relative to the suite) → hash and size. */
export function parseReleaseHashes(text: string, origin: string): Map<string, ReleaseEntry> {
  const [paragraph] = parseDeb822(text, { origin });
  const lines = paragraph?.lines('SHA256');
  if (!lines) throw new ArchiveError(`${origin} has no SHA256 list`);
  const entries = new Map<string, ReleaseEntry>();
  for (const line of lines) {
    const match = /^\s*([0-9a-fA-F]{64})\s+(\d+)\s+(\S+)\s*$/.exec(line);
    if (match) entries.set(match[3]!, { sha256: match[1]!.toLowerCase(), size: Number(match[2]) });
  }
  return entries;
}

/** The index's path inside its suite: `<suite dir>/main/source/Sources.gz` → `main/source/Sources.gz`. */
export function pathInSuite(indexUrl: string, inReleaseUrl: string): string {
  const suiteDir = inReleaseUrl.slice(0, inReleaseUrl.lastIndexOf('/') + 1);
  if (!indexUrl.startsWith(suiteDir)) throw new ArchiveError(`index ${indexUrl} is not in the suite of ${inReleaseUrl}`);
  return indexUrl.slice(suiteDir.length);
}

/** Throws IndexVerifyError unless `body` (as fetched, compressed) is what the InRelease lists. */
export function verifyIndex(entries: ReadonlyMap<string, ReleaseEntry>, indexUrl: string, inReleaseUrl: string, body: ReleaseEntry): void {
  const path = pathInSuite(indexUrl, inReleaseUrl);
  const expected = entries.get(path);
  if (!expected) throw new IndexVerifyError(indexUrl, `${inReleaseUrl} lists no ${path}`);
  if (expected.size !== body.size) throw new IndexVerifyError(indexUrl, `${body.size} bytes, InRelease says ${expected.size}`);
  if (expected.sha256 !== body.sha256) throw new IndexVerifyError(indexUrl, `sha256 ${body.sha256.slice(0, 16)}…, InRelease says ${expected.sha256.slice(0, 16)}…`);
}
