// One reconcile pass: observe the model with one `juju status` and one pod list, resolve the
// desired attachments from the mirror, plan, and (unless dry-run) apply with verification and
// rollback. A pass with nothing to do makes no write of any kind.
import type { MirrorStore } from '../../mirror/stores/store.js';
import type { AttachmentStateFile } from './attachment-state.js';
import { applyPlan, type ApplyReport } from './apply.js';
import { desiredAttachments, type AttachTrain } from './desired.js';
import type { JujuClient } from './juju.js';
import type { KubeClient } from './kube.js';
import { waitForRollout } from './kube.js';
import { observeApps } from './observe.js';
import { planReconcile, type ReconcileAction } from './reconcile.js';

export interface ReconcilerDeps {
  juju: JujuClient;
  kube: KubeClient;
  store: MirrorStore;
  state: AttachmentStateFile;
  namespace: string;
  rolloutTimeoutMs: number;
  pollMs?: number;
  now?: () => Date;
  log?: (line: string) => void;
}

export interface ReconcileResult {
  actions: ReconcileAction[];
  problems: string[];
  report?: ApplyReport;
}

export async function reconcileOnce(trains: readonly AttachTrain[], deps: ReconcilerDeps, options: { dryRun?: boolean; force?: boolean } = {}): Promise<ReconcileResult> {
  const [status, pods, state] = await Promise.all([deps.juju.status(), deps.kube.listPods(deps.namespace), deps.state.load()]);
  const { desired, problems } = await desiredAttachments(trains, deps.store, status);
  const actions = planReconcile({ desired, observed: observeApps(pods), records: state.records, force: options.force });
  if (options.dryRun || actions.length === 0) return { actions, problems };
  const report = await applyPlan(actions, {
    juju: { attachResource: async (app, resource, ref) => void (await deps.juju.attachResource(app, resource, ref)) },
    rollout: { waitForRollout: (app, expected) => waitForRollout(deps.kube, deps.namespace, app, expected, { timeoutMs: deps.rolloutTimeoutMs, pollMs: deps.pollMs }) },
    state: deps.state,
    now: deps.now,
    log: deps.log,
  });
  return { actions, problems, report };
}
