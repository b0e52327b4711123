// Carries out a reconcile plan: one `juju attach-resource` per resource, by digest; then waits
// until every pod of the application runs the new digests and is Ready. A rollout that fails or
// times out is rolled back by attaching again what was there before. Every step is recorded in the
// attachment state before the next one starts, so a crash never loses what the original was.
import type { AttachmentState, AttachmentStateFile, HistoryEntry } from './attachment-state.js';
import { findRecord, upsertRecord } from './attachment-state.js';
import type { RolloutOutcome } from './kube.js';
import type { AttachmentRecord, ReconcileAction } from './reconcile.js';

export interface Attacher {
  attachResource(app: string, resource: string, ref: string): Promise<void>;
}

export interface RolloutWaiter {
  /** Waits until the app's pods run `expected` (container → digest) and are Ready. */
  waitForRollout(app: string, expected: Readonly<Record<string, string>>): Promise<RolloutOutcome>;
}

export interface ApplyDeps {
  juju: Attacher;
  rollout: RolloutWaiter;
  state: AttachmentStateFile;
  now?: () => Date;
  log?: (line: string) => void;
}

export interface AppOutcome {
  app: string;
  resources: string[];
  result: 'attached' | 'restored' | 'verified' | 'rolled-back' | 'failed';
  reason?: string;
}

export interface ApplyReport {
  apps: AppOutcome[];
  held: Array<{ app: string; resource: string; why: string }>;
  /** juju attach-resource calls made. */
  attaches: number;
}

type Change = Extract<ReconcileAction, { kind: 'attach' | 'restore' | 'verify' }>;

export async function applyPlan(actions: readonly ReconcileAction[], deps: ApplyDeps): Promise<ApplyReport> {
  const now = () => (deps.now ?? (() => new Date()))().toISOString();
  const report: ApplyReport = { apps: [], held: [], attaches: 0 };
  if (actions.length === 0) return report;
  const state = await deps.state.load();
  const history = (entry: Omit<HistoryEntry, 'at'>) => state.history.push({ at: now(), ...entry });

  for (const hold of actions.filter((a) => a.kind === 'hold')) {
    report.held.push({ app: hold.app, resource: hold.resource, why: hold.why });
    history({ action: 'hold', app: hold.app, resource: hold.resource, why: hold.why });
  }
  const byApp = new Map<string, Change[]>();
  for (const action of actions) {
    if (action.kind === 'hold') continue;
    byApp.set(action.app, [...(byApp.get(action.app) ?? []), action]);
  }

  for (const [app, changes] of byApp) {
    // What each record said before this run: a rollback puts it back as it was.
    const before = new Map(changes.map((c) => [c.resource, structuredClone(findRecord(state, app, c.resource))]));
    const expected: Record<string, string> = {};
    const done: Change[] = [];
    let failure: string | undefined;
    for (const change of changes) {
      const target = change.kind === 'verify' ? change.digest : change.to.digest;
      for (const c of change.containers) expected[c] = target;
      if (change.kind === 'verify') continue;
      // Recorded first: if heliostat dies during the attach, the original is still known.
      recordChange(state, change, now());
      history({ action: change.kind, app, resource: change.resource, from: change.replaces.digest, to: change.to.digest, why: change.why });
      await deps.state.save(state);
      try {
        deps.log?.(`attach ${app} ${change.resource}=${change.to.ref}`);
        await deps.juju.attachResource(app, change.resource, change.to.ref);
        report.attaches += 1;
        done.push(change);
      } catch (error) {
        failure = `attach of ${change.resource} failed: ${error instanceof Error ? error.message : String(error)}`;
        // Juju refused it, so the resource still runs what it ran. Left naming the refused digest,
        // the record would make every later pass wait for a rollout that never comes.
        putBack(state, app, change.resource, before.get(change.resource));
        history({ action: 'rollback', app, resource: change.resource, from: change.to.digest, to: change.replaces.digest, why: failure });
        break;
      }
    }
    const outcome = failure ? undefined : await deps.rollout.waitForRollout(app, expected);
    const resources = changes.map((c) => c.resource);
    if (outcome?.state === 'done') {
      const restored = changes.every((c) => c.kind === 'restore');
      for (const change of changes) history({ action: 'verified', app, resource: change.resource, to: expected[change.containers[0] ?? ''], why: 'pods ready on the digest' });
      report.apps.push({ app, resources, result: restored ? 'restored' : changes.every((c) => c.kind === 'verify') ? 'verified' : 'attached' });
      await deps.state.save(state);
      continue;
    }
    const reason = failure ?? (outcome ? `${outcome.state}: ${outcome.reason}` : 'unknown');
    report.attaches += await rollBack(app, [...done, ...changes.filter((c) => c.kind === 'verify')], before, reason, state, deps, now, history);
    report.apps.push({ app, resources, result: 'rolled-back', reason });
    await deps.state.save(state);
  }
  if (report.held.length > 0 && byApp.size === 0) await deps.state.save(state);
  return report;
}

function recordChange(state: AttachmentState, change: Extract<Change, { kind: 'attach' | 'restore' }>, at: string): void {
  const existing = findRecord(state, change.app, change.resource);
  if (change.kind === 'restore') {
    if (existing) upsertRecord(state, { ...existing, current: undefined });
    return;
  }
  const record: AttachmentRecord = {
    app: change.app,
    resource: change.resource,
    containers: change.containers,
    original: existing?.original ?? change.original,
    current: { ...change.to, train: change.desired.train, buildId: change.desired.buildId, rock: change.desired.rock, at },
  };
  upsertRecord(state, record);
}

/** Puts a record back as it was before this run (none at all when there was none). */
function putBack(state: AttachmentState, app: string, resource: string, previous: AttachmentRecord | undefined): void {
  if (previous) upsertRecord(state, previous);
  else state.records = state.records.filter((r) => r.app !== app || r.resource !== resource);
}

/** Attaches back what each changed resource ran before; returns how many attaches that took. */
async function rollBack(
  app: string,
  changes: readonly Change[],
  before: ReadonlyMap<string, AttachmentRecord | undefined>,
  reason: string,
  state: AttachmentState,
  deps: ApplyDeps,
  now: () => string,
  history: (entry: Omit<HistoryEntry, 'at'>) => void,
): Promise<number> {
  let attaches = 0;
  for (const change of changes) {
    const record = findRecord(state, app, change.resource);
    const back = change.kind === 'verify' ? record?.original : change.replaces;
    if (!back || !record) continue;
    const failedDigest = change.kind === 'verify' ? change.digest : change.to.digest;
    deps.log?.(`roll back ${app} ${change.resource}=${back.ref}: ${reason}`);
    try {
      await deps.juju.attachResource(app, change.resource, back.ref);
      attaches += 1;
    } catch (error) {
      history({ action: 'rollback', app, resource: change.resource, to: back.digest, why: `rollback attach failed: ${error instanceof Error ? error.message : String(error)}` });
      continue;
    }
    const previous = before.get(change.resource);
    const restoredOriginal = back.digest === record.original.digest;
    upsertRecord(state, {
      ...(previous ?? record),
      current: restoredOriginal ? undefined : previous?.current,
      failed: { digest: failedDigest, at: now(), why: reason },
    });
    history({ action: 'rollback', app, resource: change.resource, from: failedDigest, to: back.digest, why: reason });
  }
  return attaches;
}
