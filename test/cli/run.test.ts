// The executable's error line: one line, short even when the input it echoes is giant.
import { describe, expect, it } from 'vitest';
import { validateRockName } from '../../mirror/layout.js';
import { oneLine } from '../../src/cli/run.js';
import { quoteInput } from '../../src/errors.js';
import { validatePackageName, validateSuffix } from '../../src/rocks/patches.js';

const message = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  throw new Error('no error');
};

describe('error lines', () => {
  it('quotes short input whole and cuts giant input, saying how long it was', () => {
    expect(quoteInput('x;rm')).toBe('"x;rm"');
    expect(quoteInput('a'.repeat(5000))).toBe(`"${'a'.repeat(64)}…" (5000 characters)`);
  });

  it.each([
    ['a suffix', () => validateSuffix('s'.repeat(100_000)), /^invalid version suffix "s{64}…" \(100000 characters\): use up to 32 letters/],
    ['a package name', () => validatePackageName(`x$(id)${'y'.repeat(10_000)}`), /^invalid Debian package name "x\$\(id\)y+…" \(10006 characters\)$/],
    ['a rock name', () => validateRockName('../'.repeat(10_000)), /^invalid rock name "(\.\.\/)+\.?…": expected lower-case/],
  ])('%s echoed in an error stays short', (_label, fn, expected) => {
    const text = message(fn);
    expect(text).toMatch(expected);
    expect(text.length).toBeLessThan(200);
  });

  it('keeps the first line, and cuts the middle of a giant one so its hint survives', () => {
    expect(oneLine('first\nsecond')).toBe('first');
    const line = oneLine(`bad value ${'v'.repeat(10_000)}: expected a number`);
    expect(line.length).toBeLessThan(600);
    expect(line.startsWith('bad value vvv')).toBe(true);
    expect(line.endsWith('vvv: expected a number')).toBe(true);
  });
});
