// Serving one stored file over HTTP the way download tools expect: HEAD, a single byte range (206,
// or 416 when it cannot be satisfied), validators (the blob digest as a strong ETag, the commit
// time as Last-Modified) with conditional requests (304, If-Range), and a content type by name.
// The body is streamed straight from the store with backpressure: a 500 MiB rock never sits in
// memory, and the store stream is destroyed as soon as the client goes away.
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import type { Request, Response } from 'express';
import type { ByteRange } from '../stores/store.js';
import { HttpError } from './errors.js';

export interface ServedFile {
  /** `sha256:<hex>`: the content's identity, hence a strong validator. */
  digest: string;
  size: number;
  modified?: Date;
  /** The name the content type is chosen by. */
  name: string;
  /** Cache-Control for the response (an immutable build's file may be cached for good). */
  cacheControl: string;
  open(range?: ByteRange): Promise<Readable>;
}

const TEXT = 'text/plain; charset=utf-8';
const BY_NAME: Record<string, string> = { BUILD_RESULT: TEXT, CONTEXT: TEXT, SHA256SUMS: TEXT };
const BY_EXTENSION: Record<string, string> = {
  // A rock is an OCI image layout in a tar archive; tar is what every tool recognises it as.
  rock: 'application/x-tar',
  tar: 'application/x-tar',
  gz: 'application/gzip',
  json: 'application/json',
  // Logs, YAML and patches are read in the browser, so plain text rather than a download.
  log: TEXT,
  txt: TEXT,
  yaml: TEXT,
  yml: TEXT,
  patch: TEXT,
  diff: TEXT,
  md: TEXT,
};

export function contentTypeFor(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const dot = name.lastIndexOf('.');
  return BY_NAME[name] ?? (dot > 0 ? BY_EXTENSION[name.slice(dot + 1).toLowerCase()] : undefined) ?? 'application/octet-stream';
}

export const etagOf = (digest: string) => `"${digest}"`;

/** The one range a `Range` header asks for: a range, `unsatisfiable`, or undefined to send it all. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  // Several ranges, other units or nonsense: RFC 9110 lets a server ignore the header and send 200.
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  const [first, last] = [m[1] ?? '', m[2] ?? ''];
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined; // invalid: ignored, like a malformed header
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

const seconds = (d: Date) => Math.floor(d.getTime() / 1000);

function notModified(req: Request, etag: string, modified: Date | undefined): boolean {
  const inm = req.get('if-none-match');
  if (inm !== undefined) {
    // Weak comparison, as RFC 9110 prescribes for If-None-Match.
    return inm.trim() === '*' || inm.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
  }
  const ims = req.get('if-modified-since');
  if (ims === undefined || !modified || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && seconds(modified) <= Math.floor(since / 1000);
}

/** Whether an If-Range precondition still holds (strong comparison); absent means it does. */
function ifRangeHolds(req: Request, etag: string, modified: Date | undefined): boolean {
  const ifRange = req.get('if-range');
  if (ifRange === undefined) return true;
  if (ifRange.trim().startsWith('"')) return ifRange.trim() === etag;
  const at = Date.parse(ifRange);
  return modified !== undefined && !Number.isNaN(at) && seconds(modified) === Math.floor(at / 1000);
}

/**
 * Passes exactly `length` bytes and fails otherwise. A stored object shorter or longer than its
 * record says (a damaged mirror) must not be sent under the promised Content-Length: the client
 * would wait for bytes that never come. Failing cuts the connection at once instead.
 */
function exactly(length: number, name: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      done(seen > length ? new Error(`${name}: the store holds more than the ${length} bytes its record says`) : null, chunk);
    },
    flush(done) {
      done(seen < length ? new Error(`${name}: the store holds ${seen} bytes, its record says ${length}`) : null);
    },
  });
}

function isPrematureClose(err: unknown): boolean {
  return typeof err === 'object' && err !== null && 'code' in err && err.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

export async function sendFile(req: Request, res: Response, file: ServedFile): Promise<void> {
  const etag = etagOf(file.digest);
  res.set({
    ETag: etag,
    'Accept-Ranges': 'bytes',
    'Cache-Control': res.get('Cache-Control') ?? file.cacheControl,
    'Content-Type': contentTypeFor(file.name),
  });
  if (file.modified) res.set('Last-Modified', file.modified.toUTCString());
  if (notModified(req, etag, file.modified)) {
    res.status(304).end();
    return;
  }
  const range = ifRangeHolds(req, etag, file.modified) ? parseRange(req.get('range'), file.size) : undefined;
  if (range === 'unsatisfiable') {
    throw new HttpError(416, `range not satisfiable: the file has ${file.size} bytes`, { 'Content-Range': `bytes */${file.size}` });
  }
  if (range) {
    res.status(206).set('Content-Range', `bytes ${range.start}-${range.end}/${file.size}`);
  }
  const length = range ? range.end - range.start + 1 : file.size;
  res.set('Content-Length', String(length));
  if (req.method === 'HEAD' || length === 0) {
    res.end();
    return;
  }
  const stream = await file.open(range ? { start: range.start, end: range.end } : undefined);
  try {
    // pipeline waits for the client to take each chunk, and destroys the store stream when the
    // client disconnects or the store fails.
    await pipeline(stream, exactly(length, file.name), res);
  } catch (err) {
    // A client that hung up mid-download is not a server error; a store that failed mid-way is,
    // and the connection is cut (pipeline already did) so the client sees a short body.
    if (!isPrematureClose(err) && !res.writableFinished) throw err;
  }
}
