// deb822 control-file parser (Sources, Packages, Release, InRelease), per deb822(5):
// paragraphs separated by blank lines, case-insensitive field names, continuation lines starting
// with a space or tab (a lone "." is an empty line), "#" comment lines, CRLF tolerated, and an
// OpenPGP clear-signature wrapper (InRelease) unwrapped. Line numbers in errors always refer to the
// original text.
import { Deb822SyntaxError } from './errors.js';

export interface Deb822Field {
  /** The name as written (case preserved). */
  readonly name: string;
  /**
   * The value. Single-line fields are trimmed. A multi-line field keeps its line structure: the
   * first line (possibly empty), then each continuation line without its leading space, joined
   * with "\n"; a continuation line of just "." becomes an empty line.
   */
  readonly value: string;
  /** 1-based line where the field starts. */
  readonly line: number;
}

export class Deb822Paragraph {
  private readonly byName = new Map<string, Deb822Field>();

  constructor(
    readonly fields: readonly Deb822Field[],
    /** 1-based line of the paragraph's first field. */
    readonly line: number,
    /** 1-based position of the paragraph in its document. */
    readonly index: number,
  ) {
    for (const field of fields) this.byName.set(field.name.toLowerCase(), field);
  }

  has(name: string): boolean {
    return this.byName.has(name.toLowerCase());
  }

  field(name: string): Deb822Field | undefined {
    return this.byName.get(name.toLowerCase());
  }

  /** The field's value (see Deb822Field.value), or undefined when absent. */
  get(name: string): string | undefined {
    return this.byName.get(name.toLowerCase())?.value;
  }

  /**
   * The value split into lines, without the empty first line that multi-line fields such as
   * Files or Package-List start with. Undefined when the field is absent.
   */
  lines(name: string): string[] | undefined {
    const value = this.get(name);
    if (value === undefined) return undefined;
    const lines = value.split('\n');
    if (lines.length > 1 && lines[0] === '') lines.shift();
    return lines;
  }
}

export interface Deb822Options {
  /** Where the text comes from, quoted in errors. */
  origin?: string;
  /**
   * Keep only these fields (case-insensitive). Other fields are still syntax-checked but not
   * stored, which keeps memory low on large indices.
   */
  only?: readonly string[];
}

const SIGNED_HEADER = '-----BEGIN PGP SIGNED MESSAGE-----';
const SIGNATURE_BEGIN = '-----BEGIN PGP SIGNATURE-----';
const SIGNATURE_END = '-----END PGP SIGNATURE-----';
/** Field names: printable US-ASCII except ":" and space, not starting with "#" or "-". */
const FIELD_NAME = /^[!-9;-~]+$/;
const ARMOR_HEADER = /^[A-Za-z][A-Za-z0-9-]*: ?/;

interface ContentLine {
  text: string;
  line: number;
}

function isBlank(text: string): boolean {
  return text.trim() === '';
}

function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}…` : text);
}

/** Physical lines with their numbers, CR of CRLF removed. The yielded object is reused. */
function* physicalLines(text: string): Generator<ContentLine> {
  const out: ContentLine = { text: '', line: 0 };
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (pos <= text.length) {
    let end = text.indexOf('\n', pos);
    if (end === -1) end = text.length;
    let lineText = text.slice(pos, end);
    if (lineText.endsWith('\r')) lineText = lineText.slice(0, -1);
    out.line += 1;
    out.text = lineText;
    if (!(end === text.length && lineText === '' && pos === end)) yield out;
    pos = end + 1;
  }
}

/**
 * The lines of the document proper: for a clear-signed message, the signed body with dash-escaping
 * undone; otherwise every line. Throws on a malformed signature wrapper.
 */
function* contentLines(text: string, origin?: string): Generator<ContentLine> {
  const lines = physicalLines(text);
  let state: 'start' | 'plain' | 'headers' | 'body' | 'signature' | 'done' = 'start';
  let lastLine = 0;
  for (const current of lines) {
    lastLine = current.line;
    if (state === 'start') {
      if (isBlank(current.text)) continue;
      if (current.text.trimEnd() === SIGNED_HEADER) {
        state = 'headers';
        continue;
      }
      state = 'plain';
    }
    if (state === 'plain') {
      yield current;
    } else if (state === 'headers') {
      if (isBlank(current.text)) state = 'body';
      else if (!ARMOR_HEADER.test(current.text)) {
        throw new Deb822SyntaxError(`invalid armor header ${quote(current.text)} in clear-signed message`, current.line, origin);
      }
    } else if (state === 'body') {
      if (current.text.trimEnd() === SIGNATURE_BEGIN) state = 'signature';
      else {
        if (current.text.startsWith('- ')) current.text = current.text.slice(2);
        yield current;
      }
    } else if (state === 'signature') {
      if (current.text.trimEnd() === SIGNATURE_END) state = 'done';
    }
  }
  if (state === 'headers' || state === 'body') {
    throw new Deb822SyntaxError('clear-signed message has no signature block', lastLine, origin);
  }
  if (state === 'signature') {
    throw new Deb822SyntaxError('unterminated signature block', lastLine, origin);
  }
}

/** Removes an OpenPGP clear-signature wrapper; text that is not clear-signed is returned as is. */
export function stripClearSignature(text: string, origin?: string): string {
  const out: string[] = [];
  for (const { text: line } of contentLines(text, origin)) out.push(line);
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

/** True when the text starts with an OpenPGP clear-signed message header. */
export function isClearSigned(text: string): boolean {
  return text.trimStart().startsWith(SIGNED_HEADER);
}

interface OpenField {
  name: string;
  first: string;
  rest: string[];
  line: number;
  keep: boolean;
}

/** Lazily parses paragraphs one at a time; a large index never needs all of them in memory. */
export function* iterateDeb822(text: string, options: Deb822Options = {}): Generator<Deb822Paragraph> {
  const { origin } = options;
  const only = options.only ? new Set(options.only.map((name) => name.toLowerCase())) : undefined;
  let fields: Deb822Field[] = [];
  let seen = new Set<string>();
  let open: OpenField | undefined;
  let paragraphLine = 0;
  let count = 0;

  const closeField = (): void => {
    if (open?.keep) {
      const value = open.rest.length > 0 ? [open.first, ...open.rest].join('\n') : open.first;
      fields.push({ name: open.name, value, line: open.line });
    }
    open = undefined;
  };
  const closeParagraph = (): Deb822Paragraph | undefined => {
    closeField();
    if (seen.size === 0) return undefined;
    count += 1;
    const paragraph = new Deb822Paragraph(fields, paragraphLine, count);
    fields = [];
    seen = new Set();
    return paragraph;
  };

  for (const { text: line, line: number } of contentLines(text, origin)) {
    if (line.startsWith('#')) continue;
    if (isBlank(line)) {
      const paragraph = closeParagraph();
      if (paragraph) yield paragraph;
      continue;
    }
    const first = line.charCodeAt(0);
    if (first === 0x20 || first === 0x09) {
      if (!open) {
        throw new Deb822SyntaxError(`continuation line before any field: ${quote(line)}`, number, origin);
      }
      if (open.keep) {
        const rest = line.slice(1).trimEnd();
        open.rest.push(rest === '.' ? '' : rest);
      }
      continue;
    }
    const colon = line.indexOf(':');
    if (colon === -1) {
      throw new Deb822SyntaxError(`expected "Field: value", found ${quote(line)}`, number, origin);
    }
    const name = line.slice(0, colon);
    if (!FIELD_NAME.test(name) || name.startsWith('-')) {
      throw new Deb822SyntaxError(`invalid field name ${quote(name)}`, number, origin);
    }
    const key = name.toLowerCase();
    if (seen.has(key)) {
      throw new Deb822SyntaxError(`duplicate field ${quote(name)} in paragraph`, number, origin);
    }
    closeField();
    if (seen.size === 0) paragraphLine = number;
    seen.add(key);
    open = { name, first: line.slice(colon + 1).trim(), rest: [], line: number, keep: !only || only.has(key) };
  }
  const last = closeParagraph();
  if (last) yield last;
}

/** Parses a whole deb822 document (clear-signed or not) into its paragraphs. */
export function parseDeb822(text: string, options: Deb822Options = {}): Deb822Paragraph[] {
  return Array.from(iterateDeb822(text, options));
}
