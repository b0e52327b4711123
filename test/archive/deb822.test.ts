import { describe, expect, it } from 'vitest';
import { isClearSigned, parseDeb822, stripClearSignature } from '../../src/archive/deb822.js';
import { Deb822SyntaxError } from '../../src/archive/errors.js';
import { clearSign } from '../fixtures/apt-archive.js';

function syntaxError(text: string): Deb822SyntaxError {
  try {
    parseDeb822(text, { origin: 'test-index' });
  } catch (error) {
    if (error instanceof Deb822SyntaxError) return error;
    throw error;
  }
  throw new Error('expected a syntax error');
}

describe('parseDeb822', () => {
  it('splits paragraphs on blank lines, including several and whitespace-only ones', () => {
    const paragraphs = parseDeb822('\n\nPackage: a\nVersion: 1\n\n\n \t\nPackage: b\nVersion: 2\n\n');
    expect(paragraphs.map((p) => p.get('Package'))).toEqual(['a', 'b']);
    expect(paragraphs.map((p) => [p.index, p.line])).toEqual([
      [1, 3],
      [2, 8],
    ]);
  });

  it('returns nothing for empty or blank input', () => {
    expect(parseDeb822('')).toEqual([]);
    expect(parseDeb822('\n\n  \n')).toEqual([]);
  });

  it('looks fields up case-insensitively and keeps the written name', () => {
    const [p] = parseDeb822('PACKAGE: cinder\npackage-list:\n cinder-api deb net optional arch=all\n');
    expect(p?.get('package')).toBe('cinder');
    expect(p?.get('Package')).toBe('cinder');
    expect(p?.has('PACKAGE-LIST')).toBe(true);
    expect(p?.field('Package-List')?.name).toBe('package-list');
    expect(p?.get('Version')).toBeUndefined();
    expect(p?.lines('Version')).toBeUndefined();
  });

  it('trims single-line values and accepts a value with no space after the colon', () => {
    const [p] = parseDeb822('Package:cinder  \nVersion:   2:24.0.0-0ubuntu1\t\nEmpty:\n');
    expect(p?.get('Package')).toBe('cinder');
    expect(p?.get('Version')).toBe('2:24.0.0-0ubuntu1');
    expect(p?.get('Empty')).toBe('');
  });

  it('keeps the value after the first colon intact (URLs, epochs)', () => {
    const [p] = parseDeb822('Homepage: https://opendev.org/openstack/cinder\nVersion: 2:1.0\n');
    expect(p?.get('Homepage')).toBe('https://opendev.org/openstack/cinder');
    expect(p?.get('Version')).toBe('2:1.0');
  });

  it('keeps the line structure of multi-line fields; a lone "." is an empty line', () => {
    const text = [
      'Package: cinder-api',
      'Description: OpenStack block storage - API server',
      ' Cinder is the block storage service.',
      ' .',
      '  verbatim indented line',
      '\tTab-indented continuation',
      'Files:',
      ' 0123 100 cinder_24.0.0-0ubuntu1.dsc',
      ' 4567 200 cinder_24.0.0.orig.tar.gz',
      '',
    ].join('\n');
    const [p] = parseDeb822(text);
    expect(p?.get('Description')).toBe(
      'OpenStack block storage - API server\nCinder is the block storage service.\n\n verbatim indented line\nTab-indented continuation',
    );
    expect(p?.get('Files')).toBe('\n0123 100 cinder_24.0.0-0ubuntu1.dsc\n4567 200 cinder_24.0.0.orig.tar.gz');
    expect(p?.lines('Files')).toEqual(['0123 100 cinder_24.0.0-0ubuntu1.dsc', '4567 200 cinder_24.0.0.orig.tar.gz']);
    expect(p?.lines('Description')?.[0]).toBe('OpenStack block storage - API server');
    expect(p?.field('Files')?.line).toBe(7);
  });

  it('ignores comment lines anywhere, even between continuation lines', () => {
    const [p, q] = parseDeb822('# header comment\nPackage: a\nBinary: a1,\n# inside\n a2\n\n#between\nPackage: b\n');
    expect(p?.get('Binary')).toBe('a1,\na2');
    expect(q?.get('Package')).toBe('b');
  });

  it('tolerates CRLF line endings and a byte-order mark', () => {
    const paragraphs = parseDeb822('\uFEFFPackage: a\r\nFiles:\r\n x 1 f\r\n\r\nPackage: b\r\n');
    expect(paragraphs.map((p) => p.get('Package'))).toEqual(['a', 'b']);
    expect(paragraphs[0]?.get('Files')).toBe('\nx 1 f');
  });

  it('handles a last line without newline', () => {
    expect(parseDeb822('Package: a\nVersion: 1').map((p) => p.get('Version'))).toEqual(['1']);
  });

  it('keeps only the requested fields but still checks the others', () => {
    const [p] = parseDeb822('Package: a\nDescription: x\n y\nVersion: 1\n', { only: ['package', 'VERSION'] });
    expect(p?.fields.map((f) => f.name)).toEqual(['Package', 'Version']);
    expect(() => parseDeb822('Package: a\nbroken line\n', { only: ['Package'] })).toThrow(Deb822SyntaxError);
  });

  it('rejects a continuation line before any field, with its line number', () => {
    const error = syntaxError('\n continuation first\nPackage: a\n');
    expect(error.line).toBe(2);
    expect(error.message).toBe('test-index: line 2: continuation line before any field: " continuation first"');
    expect(syntaxError('Package: a\n\n orphan\n').line).toBe(3);
  });

  it('rejects a line without a colon, with its line number', () => {
    const error = syntaxError('Package: a\nVersion: 1\nthis line has no colon\n');
    expect(error.line).toBe(3);
    expect(error.origin).toBe('test-index');
    expect(error.message).toContain('expected "Field: value"');
  });

  it('rejects bad field names and duplicate fields', () => {
    expect(syntaxError('Bad Name: x\n').message).toContain('invalid field name "Bad Name"');
    expect(syntaxError(': x\n').message).toContain('invalid field name ""');
    expect(syntaxError('-Dash: x\n').line).toBe(1);
    const duplicate = syntaxError('Package: a\nVersion: 1\npackage: b\n');
    expect(duplicate.line).toBe(3);
    expect(duplicate.message).toContain('duplicate field "package"');
  });

  it('reports the original line number inside a clear-signed document', () => {
    const signed = clearSign('Origin: Ubuntu\nSuite: noble\nbroken\n');
    expect(syntaxError(signed).line).toBe(6);
  });
});

const SIGNED = [
  '-----BEGIN PGP SIGNED MESSAGE-----',
  'Hash: SHA512',
  'Hash: SHA256',
  '',
  'Origin: Ubuntu',
  'Suite: noble',
  'Description: a line',
  'SHA256:',
  ' abc 123 main/source/Sources.gz',
  '-----BEGIN PGP SIGNATURE-----',
  '',
  'iQIzBAEBCgAdFiEE',
  '=abcd',
  '-----END PGP SIGNATURE-----',
  '',
].join('\n');

describe('clear-signed documents', () => {
  it('detects and strips the wrapper', () => {
    expect(isClearSigned(SIGNED)).toBe(true);
    expect(isClearSigned('Origin: Ubuntu\n')).toBe(false);
    expect(stripClearSignature(SIGNED)).toBe(
      ['Origin: Ubuntu', 'Suite: noble', 'Description: a line', 'SHA256:', ' abc 123 main/source/Sources.gz', ''].join('\n'),
    );
  });

  it('undoes dash-escaping', () => {
    const dashed = SIGNED.replace('Description: a line\n', 'Description: a line\n- -----not a frame\n- - a dash line\n');
    expect(stripClearSignature(dashed)).toContain('Description: a line\n-----not a frame\n- a dash line\nSHA256:');
  });

  it('parses the signed body as the document', () => {
    const [p, ...rest] = parseDeb822(SIGNED);
    expect(rest).toEqual([]);
    expect(p?.get('Suite')).toBe('noble');
    expect(p?.lines('SHA256')).toEqual(['abc 123 main/source/Sources.gz']);
    expect(p?.line).toBe(5);
  });

  it('accepts CRLF and leading blank lines around the wrapper', () => {
    const crlf = `\n\n${SIGNED.replace(/\n/g, '\r\n')}`;
    expect(parseDeb822(crlf)[0]?.get('Origin')).toBe('Ubuntu');
  });

  it('round-trips the fixture signer', () => {
    const body = 'Origin: Canonical\nLabel: Ubuntu Cloud Archive\n';
    expect(stripClearSignature(clearSign(body))).toBe(body);
  });

  it('leaves unsigned text alone', () => {
    expect(stripClearSignature('Package: a\n')).toBe('Package: a\n');
  });

  it('rejects a signed message without a signature block', () => {
    const truncated = SIGNED.slice(0, SIGNED.indexOf('-----BEGIN PGP SIGNATURE-----'));
    expect(() => parseDeb822(truncated)).toThrow(/clear-signed message has no signature block/);
  });

  it('rejects an unterminated signature block', () => {
    const truncated = SIGNED.slice(0, SIGNED.indexOf('-----END PGP SIGNATURE-----'));
    expect(() => stripClearSignature(truncated)).toThrow(/unterminated signature block/);
  });

  it('rejects a malformed armor header', () => {
    const bad = SIGNED.replace('Hash: SHA256', 'not a header');
    expect(() => parseDeb822(bad)).toThrow(/line 3: invalid armor header/);
  });
});
