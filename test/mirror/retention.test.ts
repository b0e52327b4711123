import { describe, expect, it } from 'vitest';
import { RetentionPolicyError, decideRetention, validatePolicy, type RetentionInput } from '../../mirror/retention.js';

const NOW = new Date('2024-06-01T00:00:00Z');
/** Build ids `days` days before NOW. */
const ago = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');

const S = (days: number) => ({ buildId: ago(days), result: 'success' as const });
const F = (days: number) => ({ buildId: ago(days), result: 'fail' as const });

function decide(input: Partial<RetentionInput>) {
  const d = decideRetention({ builds: [], policy: {}, now: NOW, ...input });
  return {
    keep: d.keep.map((k) => k.buildId),
    drop: Object.fromEntries(d.drop.map((x) => [x.buildId, x.reason])),
    reasons: Object.fromEntries(d.keep.map((k) => [k.buildId, k.reasons])),
  };
}

describe('decideRetention', () => {
  const builds = [S(1), F(2), S(10), S(40), F(50), S(60), S(90)];

  it('keeps everything without a policy', () => {
    expect(decide({ builds }).drop).toEqual({});
  });

  it('drops by age, newest first in both lists', () => {
    const r = decide({ builds, policy: { keepDays: 30 } });
    expect(r.keep).toEqual([ago(1), ago(2), ago(10)]);
    expect(Object.keys(r.drop)).toEqual([ago(40), ago(50), ago(60), ago(90)]);
    expect(r.drop[ago(40)]).toBe('older than keepDays=30');
  });

  it('keepMin keeps the newest successful builds whatever their age (failures do not count)', () => {
    const r = decide({ builds, policy: { keepDays: 0.5, keepMin: 3 } });
    expect(r.keep).toEqual([ago(1), ago(10), ago(40)]);
    expect(r.reasons[ago(40)]).toEqual(['keepMin=3']);
    expect(r.drop[ago(2)]).toMatch(/older than/);
  });

  it('keepMax trims the oldest age-kept builds but never keepMin or protected ones', () => {
    const r = decide({ builds, policy: { keepMax: 3, keepMin: 1 }, stable: ago(90) });
    expect(r.keep).toEqual([ago(1), ago(2), ago(90)]);
    expect(r.drop[ago(10)]).toBe('beyond keepMax=3');
    expect(r.reasons[ago(90)]).toEqual(['stable', 'no age limit']);
  });

  const protections: [string, Partial<RetentionInput>, string][] = [
    ['latest', { latest: ago(90) }, 'latest'],
    ['stable', { stable: ago(90) }, 'stable'],
    ['a live pin', { pins: [{ name: 'prod', buildId: ago(90), expiresAt: '2024-07-01T00:00:00Z' }] }, 'pin:prod'],
    ['a pin without expiry', { pins: [{ name: 'forever', buildId: ago(90) }] }, 'pin:forever'],
    ['a build in use', { inUse: [ago(90)] }, 'in use'],
  ];
  it.each(protections)('never drops the target of %s, even with keepDays=0 and keepMax=0', (_n, extra, reason) => {
    const r = decide({ builds, policy: { keepDays: 0, keepMax: 0 }, ...extra });
    expect(r.keep).toEqual([ago(90)]);
    expect(r.reasons[ago(90)]).toContain(reason);
    expect(Object.keys(r.drop)).toHaveLength(builds.length - 1);
  });

  it('an expired pin protects nothing', () => {
    const r = decide({ builds, policy: { keepDays: 30 }, pins: [{ name: 'old', buildId: ago(90), expiresAt: '2024-05-01T00:00:00Z' }] });
    expect(r.drop[ago(90)]).toMatch(/older than/);
  });

  it('lists every reason a build is kept', () => {
    const r = decide({ builds, policy: { keepDays: 30, keepMin: 1 }, latest: ago(1), stable: ago(1), inUse: [ago(1)] });
    expect(r.reasons[ago(1)]).toEqual(['latest', 'stable', 'in use', 'keepMin=1', 'within keepDays=30']);
  });

  it('validates policies', () => {
    expect(() => validatePolicy({ keepMin: 5, keepMax: 2 })).toThrow(RetentionPolicyError);
    expect(() => validatePolicy({ keepDays: -1 })).toThrow(/keepDays must be a number/);
    expect(() => validatePolicy({ keepMax: 1.5 })).toThrow(/keepMax must be an integer/);
    expect(() => validatePolicy({ keepDays: Number.NaN })).toThrow(RetentionPolicyError);
    expect(validatePolicy({ keepDays: 7, keepMin: 1, keepMax: 10 })).toEqual({ keepDays: 7, keepMin: 1, keepMax: 10 });
  });
});
