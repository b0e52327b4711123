import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { InvalidVersionError } from '../../src/archive/errors.js';
import { compareDebianVersions, maxDebianVersion, parseDebianVersion } from '../../src/archive/version.js';

// Each row: a, b, and what `dpkg --compare-versions` answers (-1: a < b, 0: equal, 1: a > b).
const DPKG_TABLE: [string, string, -1 | 0 | 1][] = [
  ['1.0~rc1', '1.0', -1],
  ['1:0.1', '2.0', 1],
  ['2:24.0.0-0ubuntu1~cloud0', '2:24.0.0-0ubuntu1', -1],
  ['1.0-1', '1.0-1ubuntu1', -1],
  ['1.0+b1', '1.0', 1],
  ['1.0', '1.0', 0],
  ['1.0', '1.0-0', 0],
  ['0:1.0', '1.0', 0],
  ['1.0', '1.00', 0],
  ['009', '9', 0],
  ['1.001', '1.1', 0],
  ['1.2.3', '1.2.10', -1],
  ['10', '9', 1],
  ['1.0~~', '1.0~', -1],
  ['1.0~', '1.0', -1],
  ['1.0~~a', '1.0~~', 1],
  ['1.0a', '1.0', 1],
  ['1.0a', '1.0+', -1],
  ['1.0+', '1.0.', -1],
  ['1.0.', '1.0', 1],
  ['1.0.0', '1.0', 1],
  ['1.0rc1', '1.0', 1],
  ['a', '1', 1],
  ['1.0-1', '1.0-2', -1],
  ['1.0-10', '1.0-9', 1],
  ['1.0-1', '1.0-1.1', -1],
  ['1.0-a', '1.0-1', 1],
  ['1.0-1a', '1.0-1', 1],
  ['1.0-1~bpo1', '1.0-1', -1],
  ['1.0~rc1-1', '1.0-1', -1],
  ['1:1.0-1', '1:1.0', 1],
  ['2:1.0', '1:9.9', 1],
  ['1.18.36-0.17.35', '1.18.36', 1],
  ['7.4.052-1ubuntu3.1', '7.4.052-1ubuntu3', 1],
  ['3.0.0~beta1+dfsg-1', '3.0.0~alpha2+dfsg-1', 1],
  ['1.2+git20200101-1', '1.2-1', 1],
  ['1.0-0ubuntu0.24.04.1', '1.0-0ubuntu1', -1],
  ['2:28.0.0-0ubuntu1~cloud0', '2:28.0.0-0ubuntu1', -1],
  ['2:28.0.0-0ubuntu1~cloud1', '2:28.0.0-0ubuntu1~cloud0', 1],
  ['2:24.1.0-0ubuntu1', '2:24.0.0-0ubuntu1~cloud0', 1],
  ['2:24.0.0-0ubuntu1.1', '2:24.0.0-0ubuntu1', 1],
  ['2:24.0.0-0ubuntu1', '2:24.0.0~b1-0ubuntu1', 1],
  ['2:9.1.0-0ubuntu1', '2:9.1.0~rc1-0ubuntu1', 1],
  ['99999999999999999999999', '99999999999999999999998', 1],
];

describe('compareDebianVersions', () => {
  it.each(DPKG_TABLE)('%s vs %s → %i (as dpkg)', (a, b, expected) => {
    expect(compareDebianVersions(a, b)).toBe(expected);
    expect(compareDebianVersions(b, a)).toBe(-expected === 0 ? 0 : -expected);
  });

  it('sorts a list the way apt would', () => {
    const versions = ['1.0', '1.0~rc1', '1:0.1', '1.0+b1', '1.0-1ubuntu1', '1.0~~', '1.0-1'];
    const sorted = [...versions].sort(compareDebianVersions);
    expect(sorted).toEqual(['1.0~~', '1.0~rc1', '1.0', '1.0-1', '1.0-1ubuntu1', '1.0+b1', '1:0.1']);
    expect(maxDebianVersion(versions)).toBe('1:0.1');
    expect(maxDebianVersion([])).toBeUndefined();
  });

  it('refuses malformed versions', () => {
    for (const bad of ['', '  ', 'x:1.0', '1.18.36:5.4', '1:', '1.0-', '1 0', '-1']) {
      expect(() => compareDebianVersions(bad, '1.0'), bad).toThrow(InvalidVersionError);
    }
  });

  it('splits epoch, upstream and revision at the first colon and the last hyphen', () => {
    expect(parseDebianVersion('2:24.0.0-0ubuntu1~cloud0')).toEqual({ epoch: 2, upstream: '24.0.0', revision: '0ubuntu1~cloud0' });
    expect(parseDebianVersion('1.2-3-4')).toEqual({ epoch: 0, upstream: '1.2-3', revision: '4' });
    expect(parseDebianVersion('1:2:3')).toEqual({ epoch: 1, upstream: '2:3', revision: '' });
  });
});

function hasDpkg(): boolean {
  try {
    execFileSync('dpkg', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe.runIf(hasDpkg())('compareDebianVersions against the installed dpkg', () => {
  it('agrees on 300 generated pairs', () => {
    // Deterministic generator so that a failure is reproducible.
    let seed = 42;
    const next = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const parts = ['0', '1', '2', '10', '01', 'a', 'b', 'rc', '~', '~~', '+', '.', 'ubuntu', 'cloud', 'dfsg'];
    const piece = (): string => Array.from({ length: 1 + next(4) }, () => parts[next(parts.length)] ?? '').join('');
    const version = (): string => {
      const epoch = next(4) === 0 ? `${next(3)}:` : '';
      const revision = next(2) === 0 ? `-${piece()}` : '';
      return `${epoch}${next(10)}${piece()}${revision}`;
    };
    const pairs = Array.from({ length: 300 }, () => [version(), version()] as const);
    const script = pairs
      .map(([a, b]) => `if dpkg --compare-versions '${a}' lt '${b}'; then echo -1; elif dpkg --compare-versions '${a}' eq '${b}'; then echo 0; else echo 1; fi`)
      .join('\n');
    const answers = execFileSync('sh', ['-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
    pairs.forEach(([a, b], index) => {
      expect(compareDebianVersions(a, b), `${a} vs ${b}`).toBe(Number(answers[index]));
    });
  });
});
