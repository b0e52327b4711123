// rockcraft's `package-repositories` entries (type: apt with cloud/pocket or ppa, plus priority)
// mapped to apt source descriptions, so the versions heliostat resolves come from exactly the
// repositories a rock build enables.
import { z } from 'zod';
import { ArchiveError } from './errors.js';
import type { AptSource } from './sources-list.js';
import { parseAptSource } from './sources-list.js';

const RockcraftAptRepositorySchema = z.looseObject({
  type: z.literal('apt'),
  cloud: z.string().optional(),
  pocket: z.string().optional(),
  ppa: z.string().optional(),
  priority: z.union([z.string(), z.number()]).optional(),
});

export interface PackageRepositoryOverrides {
  /** Alternative UCA base URL (a mirror or a test server). */
  cloudUrl?: string;
  /** Alternative PPA base URL. */
  ppaUrl?: string;
}

/**
 * Converts one package-repositories entry. Only the `cloud:` and `ppa:` forms are supported; a
 * generic `url:`/`suites:` repository raises an ArchiveError naming the entry.
 */
export function aptSourceFromPackageRepository(entry: unknown, overrides: PackageRepositoryOverrides = {}): AptSource {
  const parsed = RockcraftAptRepositorySchema.safeParse(entry);
  if (!parsed.success) {
    throw new ArchiveError(`unsupported package repository ${JSON.stringify(entry)}: ${z.prettifyError(parsed.error)}`);
  }
  const repo = parsed.data;
  const priority = repo.priority !== undefined ? { priority: repo.priority } : {};
  if (repo.cloud !== undefined && repo.ppa !== undefined) {
    throw new ArchiveError(`package repository ${JSON.stringify(entry)} sets both cloud and ppa`);
  }
  if (repo.cloud !== undefined) {
    return parseAptSource({
      type: 'cloud',
      cloud: repo.cloud,
      ...(repo.pocket !== undefined ? { pocket: repo.pocket } : {}),
      ...(overrides.cloudUrl !== undefined ? { url: overrides.cloudUrl } : {}),
      ...priority,
    });
  }
  if (repo.ppa !== undefined) {
    return parseAptSource({ type: 'ppa', ppa: repo.ppa, ...(overrides.ppaUrl !== undefined ? { url: overrides.ppaUrl } : {}), ...priority });
  }
  throw new ArchiveError(`unsupported package repository ${JSON.stringify(entry)}: only "cloud:" and "ppa:" apt repositories are supported`);
}
