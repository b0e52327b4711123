// RockcraftDocument.parse refuses broken or hostile upstream files with one line naming the file
// and the field.
import { describe, expect, it } from 'vitest';
import { RockcraftDocument } from '../../src/rocks/rockcraft.js';
import { isUsageError } from '../../src/errors.js';

const GOOD = ['name: keystone', 'version: "2024.1"', 'base: ubuntu@24.04', 'parts:', '  keystone:', '    plugin: nil', '  keystone-user:', '    plugin: nil', ''].join('\n');

function refusal(text: string): Error {
  try {
    RockcraftDocument.parse(text, 'rocks/keystone/rockcraft.yaml');
  } catch (error) {
    if (error instanceof Error) return error;
  }
  throw new Error('parsed');
}

describe('RockcraftDocument.parse', () => {
  it('accepts the part names upstream uses', () => {
    expect(RockcraftDocument.parse(GOOD).partNames).toEqual(['keystone', 'keystone-user']);
  });

  it.each([
    ['a part named with shell metacharacters', GOOD.replace('  keystone-user:', '  "x; rm -rf / #":'), /^rocks\/keystone\/rockcraft\.yaml: parts: invalid part name: .*, not "x; rm -rf \/ #"$/],
    ['a part name with a command substitution', GOOD.replace('  keystone-user:', '  "$(id)":'), /parts: invalid part name: .*, not "\$\(id\)"$/],
    ['a part name with a path', GOOD.replace('  keystone-user:', '  ../up:'), /parts: invalid part name/],
    ['a file cut before parts', GOOD.slice(0, GOOD.indexOf('parts:')), /^rocks\/keystone\/rockcraft\.yaml: parts: missing \(the file may be truncated\)$/],
    ['a file cut after the version', GOOD.slice(0, GOOD.indexOf('base:')), /: base: missing/],
    ['malformed YAML', `${GOOD}parts: [unclosed\n`, /^rocks\/keystone\/rockcraft\.yaml: invalid YAML: /],
    ['a wrong type', GOOD.replace('parts:\n', 'parts: 5\n').replace(/^ {2}.*\n/gm, ''), /: parts: .*expected record/],
  ])('refuses %s with one line naming the field', (_label, text, message) => {
    const error = refusal(text);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('\n');
    expect(error.message).not.toContain('undefined');
    expect(isUsageError(error)).toBe(true);
  });
});
