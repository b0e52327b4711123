// Small HTTP helpers of the index fetcher: URL policy, bounded body reads, failure wording.
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { ArchiveError, IndexDecodeError } from './errors.js';

/** Throws unless the URL is absolute http(s): indices are never read from files or other schemes. */
export function assertHttpUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ArchiveError(`invalid index URL ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ArchiveError(`only http(s) index URLs are allowed, got ${JSON.stringify(url)}`);
  }
  return parsed;
}

/** Reads a response body, refusing more than maxBytes (declared or actually received). */
export async function readCappedBody(url: string, response: Response, maxBytes: number): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new IndexDecodeError(url, `response of ${declared} bytes exceeds the limit of ${maxBytes} bytes`);
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  // Leaving the loop early (break or throw) cancels the stream.
  for await (const chunk of response.body as unknown as WebReadableStream<Uint8Array>) {
    total += chunk.byteLength;
    if (total > maxBytes) throw new IndexDecodeError(url, `response exceeds the limit of ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

export function attempts(count: number): string {
  return count === 1 ? '1 attempt' : `${count} attempts`;
}

/** A short reason for a failed attempt: "timed out", or the fetch error with its cause. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return 'timed out';
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}`;
}
