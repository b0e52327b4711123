// applyPlan when juju refuses an attach: the record goes back to what it said before, so the next
// pass attaches again instead of waiting for a rollout of a digest that was never attached.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPlan } from '../../src/deploy/apply.js';
import { AttachmentStateFile } from '../../src/deploy/attachment-state.js';
import { planReconcile, type AttachmentRecord, type DesiredAttachment, type ObservedApp } from '../../src/deploy/reconcile.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const ORIGINAL = digest('a');
const EARLIER = digest('b');
const NEW = digest('c');

const desired: DesiredAttachment = {
  app: 'cinder',
  charm: 'cinder-k8s',
  resource: 'cinder-api-image',
  containers: ['cinder-api'],
  rock: 'cinder-consolidated',
  ref: `registry.test/heliostat/cinder-consolidated@${NEW}`,
  digest: NEW,
  train: 'fix',
  buildId: '20260101T000000Z',
};

function running(d: string): Map<string, ObservedApp> {
  return new Map([['cinder', { app: 'cinder', containers: new Map([['cinder-api', { digests: new Set([d]), image: `ghcr.io/canonical/cinder-consolidated@${d}` }]]) }]]);
}

const refusing = { attachResource: () => Promise.reject(new Error('juju attach-resource failed (exit 1): permission denied')) };
const noRollout = { waitForRollout: () => Promise.reject(new Error('no rollout expected after a refused attach')) };

describe('applyPlan when juju refuses the attach', () => {
  let dir: string;
  let state: AttachmentStateFile;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'heliostat-apply-'));
    state = new AttachmentStateFile(join(dir, 'state.json'), 'openstack');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps no record of a first attach that never happened, and the next pass attaches again', async () => {
    const actions = planReconcile({ desired: [desired], observed: running(ORIGINAL), records: [] });
    const report = await applyPlan(actions, { juju: refusing, rollout: noRollout, state });
    expect(report.apps).toEqual([{ app: 'cinder', resources: ['cinder-api-image'], result: 'rolled-back', reason: expect.stringMatching(/permission denied/) as string }]);
    const saved = await state.load();
    expect(saved.records).toEqual([]);
    expect(saved.history.at(-1)).toMatchObject({ action: 'rollback', from: NEW, to: ORIGINAL, why: expect.stringMatching(/permission denied/) as string });
    expect(planReconcile({ desired: [desired], observed: running(ORIGINAL), records: saved.records }).map((a) => a.kind)).toEqual(['attach']);
  });

  it('puts back the earlier attachment when the attach replacing it is refused', async () => {
    const earlier: AttachmentRecord = {
      app: 'cinder',
      resource: 'cinder-api-image',
      containers: ['cinder-api'],
      original: { ref: `ghcr.io/canonical/cinder-consolidated@${ORIGINAL}`, digest: ORIGINAL },
      current: { ref: `registry.test/heliostat/cinder-consolidated@${EARLIER}`, digest: EARLIER, train: 'fix', buildId: '20250101T000000Z', rock: 'cinder-consolidated', at: '2025-01-01T00:00:00.000Z' },
    };
    await state.save({ model: 'openstack', records: [earlier], history: [] });
    const actions = planReconcile({ desired: [desired], observed: running(EARLIER), records: [earlier] });
    await applyPlan(actions, { juju: refusing, rollout: noRollout, state });
    const saved = await state.load();
    expect(saved.records).toEqual([earlier]);
    expect(planReconcile({ desired: [desired], observed: running(EARLIER), records: saved.records }).map((a) => a.kind)).toEqual(['attach']);
  });
});
