import { describe, expect, it } from 'vitest';
import { planReconcile, type AttachmentRecord, type DesiredAttachment, type ObservedApp } from '../../src/deploy/reconcile.js';

const d = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const ORIGINAL = d(1);
const BUILT = d(2);
const NEWER = d(3);
const HAND = d(9);

const desired = (digest = BUILT, resource = 'cinder-api-image', containers = ['cinder-api']): DesiredAttachment => ({
  app: 'cinder', charm: 'cinder-k8s', resource, containers, rock: 'cinder-consolidated',
  ref: `127.0.0.1:5000/heliostat/cinder-consolidated@${digest}`, digest, train: 'fix', buildId: '20261101T100000Z',
});

const observed = (byContainer: Record<string, string[]>): Map<string, ObservedApp> =>
  new Map([['cinder', { app: 'cinder', containers: new Map(Object.entries(byContainer).map(([c, ds]) => [c, { digests: new Set(ds), image: 'ghcr.io/canonical/cinder-consolidated:2024.1-24.04_edge' }])) }]]);

const record = (over: Partial<AttachmentRecord> = {}): AttachmentRecord => ({
  app: 'cinder', resource: 'cinder-api-image', containers: ['cinder-api'],
  original: { ref: `ghcr.io/canonical/cinder-consolidated@${ORIGINAL}`, digest: ORIGINAL },
  current: { ref: `127.0.0.1:5000/heliostat/cinder-consolidated@${BUILT}`, digest: BUILT, train: 'fix', buildId: '20261101T100000Z', rock: 'cinder-consolidated', at: '2026-11-01T10:05:00Z' },
  ...over,
});

describe('planReconcile', () => {
  it('attaches by digest where desired differs from what runs, remembering the original', () => {
    const actions = planReconcile({ desired: [desired()], observed: observed({ 'cinder-api': [ORIGINAL] }), records: [] });
    expect(actions).toHaveLength(1);
    expect(actions[0]).toMatchObject({
      kind: 'attach', app: 'cinder', resource: 'cinder-api-image',
      to: { digest: BUILT, ref: `127.0.0.1:5000/heliostat/cinder-consolidated@${BUILT}` },
      replaces: { digest: ORIGINAL, ref: `ghcr.io/canonical/cinder-consolidated@${ORIGINAL}` },
      original: { digest: ORIGINAL },
    });
  });

  it('does nothing at all when the pods already run the desired digest', () => {
    expect(planReconcile({ desired: [desired()], observed: observed({ 'cinder-api': [BUILT] }), records: [record()] })).toEqual([]);
  });

  it('waits (verify, no attach) while pods roll to a digest already attached', () => {
    const actions = planReconcile({ desired: [desired()], observed: observed({ 'cinder-api': [ORIGINAL, BUILT] }), records: [record()] });
    expect(actions).toEqual([expect.objectContaining({ kind: 'verify', digest: BUILT })]);
  });

  it('holds a hand-made change instead of overwriting it, unless forced', () => {
    const input = { desired: [desired(NEWER)], observed: observed({ 'cinder-api': [HAND] }), records: [record()] };
    expect(planReconcile(input)).toEqual([expect.objectContaining({ kind: 'hold', running: [HAND] })]);
    expect(planReconcile({ ...input, force: true })).toEqual([expect.objectContaining({ kind: 'attach', to: expect.objectContaining({ digest: NEWER }) as unknown })]);
  });

  it('moves to a newer build, replacing its own last attachment', () => {
    const actions = planReconcile({ desired: [desired(NEWER)], observed: observed({ 'cinder-api': [BUILT] }), records: [record()] });
    expect(actions).toEqual([expect.objectContaining({ kind: 'attach', replaces: { ref: expect.stringContaining(BUILT) as string, digest: BUILT }, original: expect.objectContaining({ digest: ORIGINAL }) as unknown })]);
  });

  it('restores the original when no train wants the resource any more', () => {
    const actions = planReconcile({ desired: [], observed: observed({ 'cinder-api': [BUILT] }), records: [record()] });
    expect(actions).toEqual([expect.objectContaining({ kind: 'restore', to: { ref: `ghcr.io/canonical/cinder-consolidated@${ORIGINAL}`, digest: ORIGINAL } })]);
    expect(planReconcile({ desired: [], observed: observed({ 'cinder-api': [ORIGINAL] }), records: [record({ current: undefined })] })).toEqual([]);
  });

  it('does not retry a digest whose rollout failed, unless forced', () => {
    const failed = record({ current: undefined, failed: { digest: BUILT, at: '2026-11-01T10:10:00Z', why: 'ImagePullBackOff' } });
    const input = { desired: [desired()], observed: observed({ 'cinder-api': [ORIGINAL] }), records: [failed] };
    expect(planReconcile(input)).toEqual([expect.objectContaining({ kind: 'hold', why: expect.stringMatching(/failed.*ImagePullBackOff/) as string })]);
    expect(planReconcile({ ...input, force: true })[0]?.kind).toBe('attach');
  });

  it('holds when two trains want different images for one resource', () => {
    const other = { ...desired(NEWER), train: 'other' };
    const actions = planReconcile({ desired: [desired(), other], observed: observed({ 'cinder-api': [ORIGINAL] }), records: [] });
    expect(actions).toEqual([expect.objectContaining({ kind: 'hold', why: expect.stringMatching(/fix and other both want/) as string })]);
  });

  it('holds when no pod runs the resource yet', () => {
    expect(planReconcile({ desired: [desired()], observed: new Map(), records: [] })).toEqual([expect.objectContaining({ kind: 'hold' })]);
  });

  it('plans one attach per resource of an app fed by one consolidated rock', () => {
    const actions = planReconcile({
      desired: [desired(BUILT, 'cinder-api-image', ['cinder-api']), desired(BUILT, 'cinder-scheduler-image', ['cinder-scheduler'])],
      observed: observed({ 'cinder-api': [ORIGINAL], 'cinder-scheduler': [ORIGINAL] }),
      records: [],
    });
    expect(actions.map((a) => `${a.kind} ${a.resource}`)).toEqual(['attach cinder-api-image', 'attach cinder-scheduler-image']);
  });
});
