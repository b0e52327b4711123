// On-disk cache of fetched indices: <root>/<sha256(url)>/{body,meta.json}. The body is stored as
// received (gzip stays gzip); the metadata carries the HTTP validators and the body's sha256, so a
// body and a metadata file that do not belong together (a crash or a concurrent writer between the
// two renames) are detected and treated as a miss. Every write is a temp file + rename.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

const CacheMetaSchema = z.object({
  url: z.string(),
  etag: z.string().optional(),
  lastModified: z.string().optional(),
  fetchedAt: z.string(),
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export type CacheMeta = z.infer<typeof CacheMetaSchema>;

export interface CachedIndex {
  meta: CacheMeta;
  body: Buffer;
}

export interface Validators {
  etag?: string;
  lastModified?: string;
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function isMissing(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');
}

async function writeAtomic(path: string, data: string | Buffer): Promise<void> {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export class IndexCache {
  /** @param root the cache folder of this layer, e.g. `<cacheDir>/archive` */
  constructor(readonly root: string) {}

  /** The folder holding one URL's entry. */
  entryDir(url: string): string {
    return join(this.root, sha256Hex(url));
  }

  /** The validators and bookkeeping of a cached URL, or undefined when absent or unreadable. */
  async readMeta(url: string): Promise<CacheMeta | undefined> {
    let raw: string;
    try {
      raw = await readFile(join(this.entryDir(url), 'meta.json'), 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return undefined;
    }
    const parsed = CacheMetaSchema.safeParse(json);
    return parsed.success && parsed.data.url === url ? parsed.data : undefined;
  }

  /** The cached body and its metadata, or undefined when absent or inconsistent. */
  async read(url: string): Promise<CachedIndex | undefined> {
    const meta = await this.readMeta(url);
    if (!meta) return undefined;
    let body: Buffer;
    try {
      body = await readFile(join(this.entryDir(url), 'body'));
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    if (body.length !== meta.size || sha256Hex(body) !== meta.sha256) return undefined;
    return { meta, body };
  }

  /** Stores a body with its validators; body first, metadata last. */
  async write(url: string, body: Buffer, validators: Validators, fetchedAt: Date): Promise<CacheMeta> {
    const dir = this.entryDir(url);
    await mkdir(dir, { recursive: true });
    const meta: CacheMeta = {
      url,
      ...(validators.etag !== undefined ? { etag: validators.etag } : {}),
      ...(validators.lastModified !== undefined ? { lastModified: validators.lastModified } : {}),
      fetchedAt: fetchedAt.toISOString(),
      size: body.length,
      sha256: sha256Hex(body),
    };
    await writeAtomic(join(dir, 'body'), body);
    await writeAtomic(join(dir, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
    return meta;
  }

  /** Rewrites only the metadata (e.g. a new fetchedAt after a 304). */
  async touch(meta: CacheMeta, fetchedAt: Date): Promise<CacheMeta> {
    const updated = { ...meta, fetchedAt: fetchedAt.toISOString() };
    await writeAtomic(join(this.entryDir(meta.url), 'meta.json'), `${JSON.stringify(updated, null, 2)}\n`);
    return updated;
  }
}
