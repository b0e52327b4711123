// Turns a fetched index body into text: gunzip for ".gz" (or gzip magic), with the decompressed
// size capped so that a gzip bomb fails cleanly instead of exhausting memory.
import { gunzip } from 'node:zlib';
import { IndexDecodeError } from './errors.js';

function isGzipUrl(url: string): boolean {
  try {
    return new URL(url).pathname.endsWith('.gz');
  } catch {
    return url.endsWith('.gz');
  }
}

function hasGzipMagic(body: Uint8Array): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
}

function gunzipCapped(body: Buffer, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(body, { maxOutputLength: maxBytes }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

/** Decodes an index body to text; throws IndexDecodeError for corrupt, truncated or oversized data. */
export async function decodeIndexBody(url: string, body: Buffer, maxBytes: number): Promise<string> {
  let data = body;
  if (isGzipUrl(url) || hasGzipMagic(body)) {
    if (!hasGzipMagic(body)) throw new IndexDecodeError(url, 'not gzip data (bad magic bytes)');
    try {
      data = await gunzipCapped(body, maxBytes);
    } catch (error) {
      const code = error instanceof Error && 'code' in error ? String(error.code) : '';
      if (code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
        throw new IndexDecodeError(url, `decompressed size exceeds the limit of ${maxBytes} bytes`, { cause: error });
      }
      const reason = error instanceof Error ? error.message : String(error);
      throw new IndexDecodeError(url, `corrupt or truncated gzip data (${reason})`, { cause: error });
    }
  } else if (data.length > maxBytes) {
    throw new IndexDecodeError(url, `size exceeds the limit of ${maxBytes} bytes`);
  }
  return data.toString('utf8');
}
