// What a rollback moves each train back to: per train, from the newest build it runs anywhere in
// the model to the successful build published just before it. Every plan is made before any is
// recorded, so a rollback is all or nothing.
import type { MirrorStore } from '../../mirror/stores/store.js';
import type { AttachTrain } from '../deploy/desired.js';
import { ControllerStateError } from './errors.js';
import { previousSuccess, seriesHolding } from './mirror-ops.js';
import type { RollbackResult } from './types.js';

export interface RunningBuild {
  app: string;
  train: string;
  buildId: string;
}

export async function planRollback(store: MirrorStore, running: readonly RunningBuild[], attached: readonly AttachTrain[], app?: string): Promise<RollbackResult['rolledBack']> {
  const concerned = running.filter((r) => app === undefined || r.app === app);
  if (concerned.length === 0) {
    throw new ControllerStateError(`nothing to roll back: heliostat runs no build ${app ? `in application ${app}` : 'in the model'}`, 409);
  }
  const current = new Map<string, string>();
  for (const r of concerned) if ((current.get(r.train) ?? '') < r.buildId) current.set(r.train, r.buildId);
  const plans: RollbackResult['rolledBack'] = [];
  for (const [train, from] of current) {
    const candidates = attached.filter((t) => t.train === train).map((t) => ({ train, release: t.release, series: t.series }));
    const ts = await seriesHolding(store, candidates, from);
    if (!ts) throw new ControllerStateError(`cannot roll back ${train}: build ${from} is not in the mirror any more (or the train is no longer attached); detach it to restore the original images`, 409);
    const to = await previousSuccess(store, ts, from);
    if (!to) throw new ControllerStateError(`cannot roll back ${train}/${ts.release}/${ts.series}: no successful build before ${from}; detach it to restore the original images`, 409);
    plans.push({ ...ts, from, to, apps: [...new Set(concerned.filter((r) => r.train === train).map((r) => r.app))].sort() });
  }
  return plans;
}
