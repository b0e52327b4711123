// Content digests in the one form the mirror uses everywhere: `sha256:<64 lower-case hex>`.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';

export interface Digested {
  digest: string;
  size: number;
}

export function digestBuffer(bytes: Buffer | string): Digested {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return { digest: `sha256:${createHash('sha256').update(buf).digest('hex')}`, size: buf.length };
}

/** Hashes a stream without holding it in memory. */
export async function digestStream(stream: Readable): Promise<Digested> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    const buf = chunk as Buffer;
    hash.update(buf);
    size += buf.length;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

export async function digestFile(path: string): Promise<Digested> {
  return digestStream(createReadStream(path));
}
