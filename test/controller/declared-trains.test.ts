import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveControllerConfig } from '../../src/controller/config.js';
import { buildFingerprint, DeclaredTrainsFile, trainsToBuild } from '../../src/controller/declared-trains.js';
import type { TrainSpec } from '../../src/controller/trains.js';
import { configDoc, openController, startFixtures, waitForJob, type Fixtures } from './harness.js';

const train = (over: Partial<TrainSpec> = {}): TrainSpec => ({
  name: 'operator',
  release: '2024.1',
  series: 'noble',
  components: ['cinder'],
  rocks: [],
  ppas: ['ppa:team/fix'],
  packages: [],
  pocket: 'updates',
  attach: false,
  pin: 'latest',
  buildOnChange: true,
  ...over,
});

describe('trainsToBuild', () => {
  it('picks trains that build on change and are new or build something else', () => {
    const seen = { 'operator/2024.1/noble': buildFingerprint(train()) };
    expect(trainsToBuild([train()], seen)).toEqual([]);
    expect(trainsToBuild([train({ components: ['cinder', 'nova'] })], seen)).toHaveLength(1);
    expect(trainsToBuild([train({ ppas: ['ppa:team/other'] })], seen)).toHaveLength(1);
    expect(trainsToBuild([train({ name: 'other' })], seen)).toHaveLength(1);
    expect(trainsToBuild([train({ name: 'other', buildOnChange: false })], seen)).toEqual([]);
  });

  it('ignores what does not change the build: attach, pin, schedule, component order', () => {
    const seen = { 'operator/2024.1/noble': buildFingerprint(train({ components: ['cinder', 'nova'] })) };
    expect(trainsToBuild([train({ components: ['nova', 'cinder'], attach: true, pin: 'stable', schedule: '0 2 * * *' })], seen)).toEqual([]);
  });

  it('remembers only the trains saved last, and reads a missing or broken file as empty', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'declared-'));
    try {
      const file = new DeclaredTrainsFile(dir);
      expect(await file.load()).toEqual({});
      await file.save([train()]);
      expect(await file.load()).toEqual({ 'operator/2024.1/noble': buildFingerprint(train()) });
      await file.save([]);
      expect(await file.load()).toEqual({});
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a train that builds on change, in the controller', () => {
  let f: Fixtures;
  beforeAll(async () => {
    f = await startFixtures();
  });
  afterAll(async () => {
    await f?.close();
  });

  it('builds when declared and when changed, not again on a restart or an unrelated reload', async () => {
    const trains = [{ name: 'fix', release: 'caracal', components: ['keystone'], buildOnChange: true }];
    const doc = configDoc(f, { trains });
    const first = await openController(f, doc);
    try {
      const [declared] = first.controller.jobs();
      expect(declared).toMatchObject({ trigger: 'change', request: { train: 'fix', components: ['keystone'] } });
      expect((await waitForJob(first.controller, declared!.id, 60_000)).state).toBe('succeeded');
    } finally {
      await first.controller.drain(0);
    }

    const second = await openController(f, doc);
    try {
      expect(second.controller.jobs().filter((j) => j.trigger === 'change')).toHaveLength(1);
      await second.controller.applyConfig(await resolveControllerConfig({ ...doc, reconcile: { intervalSeconds: 60 } }, { baseDir: f.root, env: {} }));
      expect(second.controller.jobs()).toHaveLength(1);
      await second.controller.applyConfig(await resolveControllerConfig(configDoc(f, { trains: [{ ...trains[0]!, components: ['keystone', 'glance'] }] }), { baseDir: f.root, env: {} }));
      const changed = second.controller.jobs().filter((j) => j.trigger === 'change');
      expect(changed).toHaveLength(2);
      expect(changed.map((j) => j.request.components)).toContainEqual(['keystone', 'glance']);
    } finally {
      await second.controller.drain(0);
    }
  }, 120_000);
});
