import { describe, expect, it } from 'vitest';
import { RELEASES, findRelease, getRelease, resolveTarget, seriesFor, seriesOfBase, clampNote } from '../../src/catalog/releases.js';
import { UsageError } from '../../src/errors.js';

describe('release catalog', () => {
  it('knows the nine releases yoga…gazpacho in order', () => {
    expect(RELEASES.map((r) => r.codename)).toEqual([
      'yoga', 'zed', 'antelope', 'bobcat', 'caracal', 'dalmatian', 'epoxy', 'flamingo', 'gazpacho',
    ]);
  });

  it.each([
    ['caracal', '2024.1'], ['2024.1', 'caracal'], ['Epoxy', 'epoxy'], [' gazpacho ', 'gazpacho'], ['2023.2', 'bobcat'],
  ])('accepts %s', (name, expected) => {
    const release = getRelease(name);
    expect([release.codename, release.number]).toContain(expected);
  });

  it.each(['havana', '2024.3', '', 'caracal;rm -rf /', '../etc'])('rejects %j listing the valid releases', (name) => {
    expect(() => getRelease(name)).toThrow(UsageError);
    expect(() => getRelease(name)).toThrow(/valid releases: yoga \(2022\.1\), zed .*gazpacho \(2026\.1\)/);
  });

  it('maps releases to branches, clamping yoga/zed and flamingo as documented', () => {
    const branch = (n: string) => getRelease(n).rocksBranch;
    expect(branch('yoga')).toBe('stable/2023.1');
    expect(branch('zed')).toBe('stable/2023.1');
    expect(branch('antelope')).toBe('stable/2023.1');
    expect(branch('bobcat')).toBe('stable/2023.2');
    expect(branch('caracal')).toBe('stable/2024.1');
    expect(branch('dalmatian')).toBe('dalmatian');
    expect(branch('epoxy')).toBe('stable/2025.1');
    expect(branch('flamingo')).toBe('main');
    expect(branch('gazpacho')).toBe('main');
    expect(clampNote(getRelease('flamingo'))).toMatch(/flamingo has no branch.*main/);
    expect(clampNote(getRelease('caracal'))).toBeUndefined();
  });

  it('needs no UCA cloud where the series ships the release natively', () => {
    expect(resolveTarget('caracal', 'noble')).toMatchObject({ cloud: null, base: 'ubuntu@24.04' });
    expect(resolveTarget('caracal', 'jammy')).toMatchObject({ cloud: 'caracal', base: 'ubuntu@22.04' });
    expect(resolveTarget('epoxy')).toMatchObject({ cloud: 'epoxy', base: 'ubuntu@24.04' });
    expect(resolveTarget('yoga')).toMatchObject({ cloud: null, base: 'ubuntu@22.04' });
    expect(resolveTarget('gazpacho', 'resolute')).toMatchObject({ cloud: null, base: 'ubuntu@26.04' });
  });

  it('rejects a series that cannot carry the release, naming the valid ones', () => {
    expect(() => resolveTarget('antelope', 'noble')).toThrow(/cannot be built on noble; valid series for antelope: jammy/);
    expect(() => resolveTarget('caracal', 'bionic')).toThrow(/unknown series 'bionic'/);
    expect(seriesFor(getRelease('caracal'))).toEqual(['jammy', 'noble']);
  });

  it('reads both base syntaxes', () => {
    expect(seriesOfBase('ubuntu:22.04')?.name).toBe('jammy');
    expect(seriesOfBase('ubuntu@24.04')?.name).toBe('noble');
    expect(seriesOfBase('bare')).toBeUndefined();
    expect(findRelease('nope')).toBeUndefined();
  });
});
