// The .rock a remote builder uploaded to the store's staging area, brought back as a local file
// before it may enter the publish transaction: downloaded once, its sha256 compared with what the
// builder reported, and read as an OCI archive (every blob checked against its digest). Staging
// objects are deleted once taken, and leftovers (a build that never came back) by age.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { BuildFailure } from './builder.js';
import { OciArchiveError, readOciArchive } from './oci-archive.js';

export interface StagedRock {
  rockFile: string;
  digest: string;
  size: number;
}

/**
 * Downloads `key` into `outputDir/fileName`, verifying it. A missing object or a digest mismatch
 * is an infra failure (the upload went wrong, not the build); an invalid archive is a build one.
 */
export async function takeStagedRock(store: MirrorStore, key: string, outputDir: string, fileName: string, expectedDigest: string | undefined): Promise<StagedRock> {
  if (basename(fileName) !== fileName || !fileName.endsWith('.rock')) throw new BuildFailure('build', `the builder reported an unusable file name '${fileName}'`);
  await mkdir(outputDir, { recursive: true });
  const rockFile = join(outputDir, fileName);
  const hash = createHash('sha256');
  let size = 0;
  try {
    const body = await store.getStream(key);
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    await pipeline(body, tap, createWriteStream(rockFile));
  } catch (error) {
    await rm(rockFile, { force: true });
    throw new BuildFailure('infra', `cannot read the staged rock ${key}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const digest = `sha256:${hash.digest('hex')}`;
  if (expectedDigest !== undefined && digest !== expectedDigest) {
    await rm(rockFile, { force: true });
    throw new BuildFailure('infra', `the staged rock ${key} has digest ${digest}, but the builder reported ${expectedDigest}`);
  }
  try {
    const info = await readOciArchive(rockFile);
    if (info.archiveDigest !== digest) throw new OciArchiveError('digest-mismatch', `${rockFile} changed while being read`);
  } catch (error) {
    await rm(rockFile, { force: true });
    throw new BuildFailure('build', `the staged rock ${key} is not a valid OCI archive: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { rockFile, digest, size };
}

/** Deletes staging objects under `prefix` older than `maxAgeMs`; returns how many. */
export async function collectStaging(store: MirrorStore, prefix: string, maxAgeMs: number, now: Date = new Date()): Promise<number> {
  const old: string[] = [];
  for await (const o of store.list(prefix)) if (now.getTime() - o.modified.getTime() > maxAgeMs) old.push(o.key);
  if (old.length > 0) await store.delete(old);
  return old.length;
}
