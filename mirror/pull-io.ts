// Small file helpers of a pull: reading a stream whole, hashing what a partial download already
// holds, and keeping every destination inside the directory the caller chose.
import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, realpath } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { LayoutError, validateOutputPath } from './layout.js';

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Feeds a local file into `hash`; returns its length. */
export async function hashInto(hash: Hash, path: string): Promise<number> {
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return size;
}

export function errnoOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * The local path of an output under `root`, with its parent directories created. The path comes
 * from a build record, i.e. from the mirror, so it is validated again here; and since a directory
 * on the way could be a symlink planted to lead elsewhere, the real location of the parent must
 * still be inside the real root.
 */
export async function destinationOf(root: string, realRoot: string, path: string): Promise<string> {
  validateOutputPath(path);
  const dest = resolve(root, path);
  if (!inside(resolve(root), dest) || dest === resolve(root)) throw new LayoutError('output path', path, 'leaves the destination directory');
  await mkdir(dirname(dest), { recursive: true });
  if (!inside(realRoot, await realpath(dirname(dest)))) throw new LayoutError('output path', path, 'leads outside the destination directory through a symbolic link');
  return dest;
}
