import { describe, expect, it } from 'vitest';
import { preferConsolidated, rocksUsingPackages, similarNames } from '../../src/rocks/select.js';

const ROCKS = [
  { name: 'cinder-api', packages: ['sudo', 'cinder-api', 'apache2'] },
  { name: 'cinder-consolidated', packages: ['sudo', 'cinder-api', 'cinder-scheduler', 'cinder-volume', 'ceph-common'] },
  { name: 'cinder-scheduler', packages: ['sudo', 'cinder-scheduler'] },
  { name: 'cinder-volume', packages: ['sudo', 'cinder-volume'] },
  { name: 'nova-api', packages: ['sudo', 'nova-api'] },
  { name: 'keystone', packages: ['keystone', 'python3-cinderclient'] },
];
const CINDER = new Set(['cinder-api', 'cinder-scheduler', 'cinder-volume', 'cinder-backup', 'cinder-common', 'python3-cinder']);

describe('rocksUsingPackages', () => {
  it('finds every rock that installs a binary of the source', () => {
    expect(rocksUsingPackages(ROCKS, CINDER)).toEqual([
      { name: 'cinder-api', packages: ['cinder-api'] },
      { name: 'cinder-consolidated', packages: ['cinder-api', 'cinder-scheduler', 'cinder-volume'] },
      { name: 'cinder-scheduler', packages: ['cinder-scheduler'] },
      { name: 'cinder-volume', packages: ['cinder-volume'] },
    ]);
  });

  it('matches exact package names only', () => {
    expect(rocksUsingPackages(ROCKS, new Set(['python3-cinder']))).toEqual([]);
    expect(rocksUsingPackages(ROCKS, new Set(['python3-cinderclient']))).toEqual([{ name: 'keystone', packages: ['python3-cinderclient'] }]);
  });
});

describe('preferConsolidated', () => {
  it('keeps only the consolidated rock of a component that has one', () => {
    const matches = rocksUsingPackages(ROCKS, new Set([...CINDER, 'nova-api']));
    expect(preferConsolidated(matches, ['cinder', 'nova']).map((m) => m.name)).toEqual(['cinder-consolidated', 'nova-api']);
  });

  it('changes nothing when no consolidated rock matches', () => {
    const matches = rocksUsingPackages(ROCKS.filter((r) => r.name !== 'cinder-consolidated'), CINDER);
    expect(preferConsolidated(matches, ['cinder'])).toEqual(matches);
  });
});

describe('similarNames', () => {
  it('suggests close rock names', () => {
    expect(similarNames('cinder', ROCKS.map((r) => r.name))).toEqual(['cinder-api', 'cinder-consolidated', 'cinder-scheduler']);
    expect(similarNames('zzz', ROCKS.map((r) => r.name))).toEqual([]);
  });
});
