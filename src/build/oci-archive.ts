// Reads a `.rock` (an OCI image layout packed in a tar) in one streaming pass, without extracting
// it: every blob is hashed as it goes by, and only small entries (index, manifests, configs) are
// kept in memory, so a multi-gigabyte rock costs one read and little memory. The manifest digest
// returned is the archive's own, which is what `skopeo copy oci-archive:…` keeps when pushing.
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { z } from 'zod';

export type OciArchiveErrorKind = 'truncated' | 'corrupt' | 'invalid' | 'missing-blob' | 'digest-mismatch' | 'ambiguous';

export class OciArchiveError extends Error {
  override readonly name = 'OciArchiveError';
  constructor(
    readonly kind: OciArchiveErrorKind,
    message: string,
  ) {
    super(message);
  }
}

const digestSchema = z.string().regex(/^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/, 'not a sha256/sha512 digest');
const descriptorSchema = z.looseObject({
  mediaType: z.string(),
  digest: digestSchema,
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const indexSchema = z.looseObject({ schemaVersion: z.literal(2), manifests: z.array(descriptorSchema) });
const manifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});
const configSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  variant: z.string().optional(),
  config: z.looseObject({ Labels: z.record(z.string(), z.string()).nullish() }).optional(),
  rootfs: z.object({ type: z.literal('layers'), diff_ids: z.array(digestSchema) }),
});

export type OciDescriptor = z.infer<typeof descriptorSchema>;
export type OciManifest = z.infer<typeof manifestSchema>;
export type OciImageConfig = z.infer<typeof configSchema>;

export interface OciArchiveInfo {
  /** `sha256:…` of the manifest blob: the digest the image has once pushed. */
  manifestDigest: string;
  manifest: OciManifest;
  config: OciImageConfig;
  /** The `org.opencontainers.image.ref.name` annotation of the chosen image, if any. */
  refName: string | undefined;
  /** Size of the archive file in bytes. */
  size: number;
  /** `sha256:…` of the whole archive file, for content-addressed storage of the `.rock` itself. */
  archiveDigest: string;
}

export interface ReadOciArchiveOptions {
  /** Choose the image by ref name when the archive holds several. */
  refName?: string;
}

export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
const MANIFEST_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);
const BLOCK = 512;
// Manifests, configs and index.json are a few KiB; anything bigger is a layer and is only hashed.
const KEEP_LIMIT = 4 * 1024 * 1024;

/** Pull-style reader over a byte stream that also hashes and counts everything it reads. */
class StreamReader {
  private pending: Buffer[] = [];
  private ended = false;
  offset = 0;
  total = 0;
  readonly whole = createHash('sha256');
  constructor(private readonly source: AsyncIterator<Uint8Array | string>) {}

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.source.next();
    if (next.done) {
      this.ended = true;
      return false;
    }
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    this.whole.update(chunk);
    this.total += chunk.length;
    this.pending.push(chunk);
    return true;
  }

  /** Passes up to `n` bytes to `sink`; returns how many, fewer only at the end of the stream. */
  async pipe(n: number, sink?: (chunk: Buffer) => void): Promise<number> {
    let left = n;
    while (left > 0) {
      const head = this.pending[0];
      if (!head) {
        if (!(await this.fill())) break;
        continue;
      }
      const take = Math.min(left, head.length);
      sink?.(head.subarray(0, take));
      if (take === head.length) this.pending.shift();
      else this.pending[0] = head.subarray(take);
      left -= take;
      this.offset += take;
    }
    return n - left;
  }

  async read(n: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    await this.pipe(n, (chunk) => parts.push(chunk));
    return Buffer.concat(parts);
  }
}

type Blob = { size: number; data: Buffer | undefined };

function cString(buf: Buffer, start: number, length: number): string {
  const field = buf.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString('utf8');
}

function parseNumber(buf: Buffer, start: number, length: number, where: string): number {
  const first = buf[start] ?? 0;
  if (first & 0x80) {
    // base-256: big-endian binary after the marker bit, used by GNU/Go tar for sizes > 8 GiB.
    let value = BigInt(first & 0x7f);
    for (let i = start + 1; i < start + length; i++) value = (value << 8n) | BigInt(buf[i] ?? 0);
    return Number(value);
  }
  const text = cString(buf, start, length).trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new OciArchiveError('corrupt', `corrupt tar header ${where}: bad number field '${text}'`);
  return parseInt(text, 8);
}

function checkHeader(header: Buffer, where: string): void {
  const stored = parseNumber(header, 148, 8, where);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] ?? 0);
  if (sum !== stored) throw new OciArchiveError('corrupt', `corrupt tar header ${where}: checksum mismatch`);
}

// pax records: "<length> <key>=<value>\n", where length counts the whole record in bytes.
function parsePax(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const length = space === -1 ? NaN : parseInt(data.subarray(pos, space).toString('ascii'), 10);
    if (!Number.isFinite(length) || length <= 0 || pos + length > data.length) {
      throw new OciArchiveError('corrupt', 'corrupt pax extended header');
    }
    const record = data.subarray(space + 1, pos + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    pos += length;
  }
  return records;
}

async function readTar(reader: StreamReader, label: string): Promise<{ files: Map<string, Buffer>; blobs: Map<string, Blob> }> {
  const files = new Map<string, Buffer>();
  const blobs = new Map<string, Blob>();
  let pax = new Map<string, string>();
  let longName: string | undefined;
  for (;;) {
    const at = reader.offset;
    const header = await reader.read(BLOCK);
    if (header.length === 0) throw new OciArchiveError('truncated', `${label}: truncated archive: no end-of-archive marker after offset ${at}`);
    if (header.length < BLOCK) throw new OciArchiveError('truncated', `${label}: truncated archive: header at offset ${at} is cut short`);
    if (header.every((b) => b === 0)) break;
    const where = `at offset ${at} of ${label}`;
    try {
      checkHeader(header, where);
    } catch (err) {
      // A bad first header means the file is something else entirely: say so plainly.
      if (at === 0) throw new OciArchiveError('corrupt', `${label}: not a tar archive (invalid header at offset 0)`);
      throw err;
    }
    const type = String.fromCharCode(header[156] ?? 0);
    // 'x' (pax) and 'L' (GNU long name) describe the entry that follows; 'g' is global metadata.
    const meta = type === 'x' || type === 'g' || type === 'L';
    // Only POSIX ustar has a name prefix; old GNU headers keep other fields at that offset.
    const prefix = cString(header, 257, 6) === 'ustar' ? cString(header, 345, 155) : '';
    const plainName = prefix ? `${prefix}/${cString(header, 0, 100)}` : cString(header, 0, 100);
    const paxSize = meta ? undefined : pax.get('size');
    const size = paxSize !== undefined ? Number(paxSize) : parseNumber(header, 124, 12, where);
    if (!Number.isSafeInteger(size) || size < 0) throw new OciArchiveError('corrupt', `corrupt tar header ${where}: bad size`);
    const name = (meta ? plainName : (pax.get('path') ?? longName ?? plainName)).replace(/^(\.\/)+/, '');
    if (!meta) {
      pax = new Map();
      longName = undefined;
    }

    const cut = (got: number): void => {
      if (got < size) throw new OciArchiveError('truncated', `${label}: truncated archive: '${name}' should hold ${size} bytes, only ${got} present`);
    };
    const blobMatch = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(name);
    const regular = type === '0' || type === '\0' || type === '7';
    if (type === 'x' || type === 'L') {
      if (size > KEEP_LIMIT) throw new OciArchiveError('corrupt', `corrupt tar header ${where}: oversized extended header`);
      const data = await reader.read(size);
      cut(data.length);
      if (type === 'x') pax = parsePax(data);
      else longName = cString(data, 0, data.length);
    } else if (regular && blobMatch) {
      const [, algorithm = 'sha256', hex = ''] = blobMatch;
      const hash: Hash = createHash(algorithm);
      const keep: Buffer[] = [];
      const got = await reader.pipe(size, (chunk) => {
        hash.update(chunk);
        if (size <= KEEP_LIMIT) keep.push(chunk);
      });
      cut(got);
      const actual = hash.digest('hex');
      if (actual !== hex) {
        throw new OciArchiveError('digest-mismatch', `${label}: blob ${algorithm}:${hex} does not match its content (${algorithm}:${actual})`);
      }
      blobs.set(`${algorithm}:${hex}`, { size, data: size <= KEEP_LIMIT ? Buffer.concat(keep) : undefined });
    } else if (regular && (name === 'index.json' || name === 'oci-layout') && size <= KEEP_LIMIT) {
      const data = await reader.read(size);
      cut(data.length);
      files.set(name, data);
    } else if (type !== '1' && type !== '2' && type !== '5') {
      // Other entries (and links/dirs, which carry no data) are skipped over.
      cut(await reader.pipe(size));
    }
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (padding > 0 && (await reader.pipe(padding)) < padding) {
      throw new OciArchiveError('truncated', `${label}: truncated archive: ends inside the padding of '${name}'`);
    }
  }
  // Drain the rest (second zero block, record padding) so size and archive digest cover the file.
  while ((await reader.pipe(1 << 20)) > 0);
  return { files, blobs };
}

function parseJson<T>(schema: z.ZodType<T>, data: Buffer, what: string, label: string): T {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw new OciArchiveError('invalid', `${label}: ${what} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new OciArchiveError('invalid', `${label}: invalid ${what}: ${issues}`);
  }
  return parsed.data;
}

function blobFor(blobs: Map<string, Blob>, desc: OciDescriptor, what: string, label: string): Blob {
  const blob = blobs.get(desc.digest);
  if (!blob) throw new OciArchiveError('missing-blob', `${label}: ${what} blob ${desc.digest} is missing from the archive`);
  if (blob.size !== desc.size) {
    throw new OciArchiveError('digest-mismatch', `${label}: ${what} blob ${desc.digest} has ${blob.size} bytes, descriptor says ${desc.size}`);
  }
  return blob;
}

function selectImage(index: z.infer<typeof indexSchema>, refName: string | undefined, label: string): OciDescriptor {
  const candidates = refName === undefined ? index.manifests : index.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] === refName);
  if (candidates.length === 1 && candidates[0]) return candidates[0];
  if (candidates.length === 0) {
    const which = refName === undefined ? '' : ` named '${refName}'`;
    throw new OciArchiveError('invalid', `${label}: index.json lists no image${which}`);
  }
  const names = candidates.map((m) => m.annotations?.[REF_NAME_ANNOTATION] ?? m.digest).join(', ');
  throw new OciArchiveError('ambiguous', `${label}: archive holds ${candidates.length} images (${names}); choose one by ref name`);
}

/** Reads an OCI archive from any byte stream; `label` names it in error messages. */
export async function readOciArchiveStream(
  source: AsyncIterable<Uint8Array | string>,
  label: string,
  options: ReadOciArchiveOptions = {},
): Promise<OciArchiveInfo> {
  const iterator = source[Symbol.asyncIterator]();
  const reader = new StreamReader(iterator);
  // Closing the iterator on failure releases the file descriptor of a half-read stream.
  const { files, blobs } = await readTar(reader, label).finally(() => iterator.return?.().catch(() => undefined));

  const layout = files.get('oci-layout');
  if (!layout) throw new OciArchiveError('invalid', `${label}: not an OCI archive: no oci-layout file`);
  parseJson(z.looseObject({ imageLayoutVersion: z.string() }), layout, 'oci-layout', label);
  const indexData = files.get('index.json');
  if (!indexData) throw new OciArchiveError('invalid', `${label}: not an OCI archive: no index.json`);
  const index = parseJson(indexSchema, indexData, 'index.json', label);

  const chosen = selectImage(index, options.refName, label);
  if (!MANIFEST_TYPES.has(chosen.mediaType)) {
    throw new OciArchiveError('invalid', `${label}: index.json points at ${chosen.mediaType}, expected an image manifest`);
  }
  const manifestBlob = blobFor(blobs, chosen, 'manifest', label);
  if (!manifestBlob.data) throw new OciArchiveError('invalid', `${label}: manifest ${chosen.digest} is too large`);
  const manifest = parseJson(manifestSchema, manifestBlob.data, `manifest ${chosen.digest}`, label);

  const configBlob = blobFor(blobs, manifest.config, 'config', label);
  if (!configBlob.data) throw new OciArchiveError('invalid', `${label}: config ${manifest.config.digest} is too large`);
  const config = parseJson(configSchema, configBlob.data, `config ${manifest.config.digest}`, label);
  manifest.layers.forEach((layer, i) => blobFor(blobs, layer, `layer ${i}`, label));
  if (config.rootfs.diff_ids.length !== manifest.layers.length) {
    throw new OciArchiveError(
      'invalid',
      `${label}: config lists ${config.rootfs.diff_ids.length} diff_ids for ${manifest.layers.length} layers`,
    );
  }
  return {
    manifestDigest: chosen.digest,
    manifest,
    config,
    refName: chosen.annotations?.[REF_NAME_ANNOTATION],
    size: reader.total,
    archiveDigest: `sha256:${reader.whole.digest('hex')}`,
  };
}

/** Reads and verifies the `.rock` (OCI archive) at `file`. */
export async function readOciArchive(file: string, options: ReadOciArchiveOptions = {}): Promise<OciArchiveInfo> {
  return readOciArchiveStream(createReadStream(file, { highWaterMark: 1 << 20 }), file, options);
}
