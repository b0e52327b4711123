// The controller's side of reconciling: which trains are attached (the configuration's attach
// trains, plus builds a request asked to attach), the Juju and Kubernetes adapters built from the
// configuration, one reconcile pass at a time, and the events each pass produced. The attachment
// state file is the one the CLI uses for the same model, so both see the same originals.
import { join } from 'node:path';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { AttachmentStateFile } from '../deploy/attachment-state.js';
import type { AttachTrain } from '../deploy/desired.js';
import { DesiredTrainsFile, withTrain } from '../deploy/desired-file.js';
import { JujuClient } from '../deploy/juju.js';
import { KubeClient } from '../deploy/kube.js';
import type { ReconcileAction } from '../deploy/reconcile.js';
import { reconcileOnce, type ReconcileResult } from '../deploy/reconciler.js';
import type { ControllerConfig } from './config.js';
import { ControllerStateError } from './errors.js';
import { trainKey } from './trains.js';
import type { ControllerEvent } from './types.js';

export interface ReconcileSummary {
  at: string;
  result: 'nothing to do' | 'applied' | 'planned' | 'failed';
  held: number;
  error?: string;
}

export class Deployer {
  private running: Promise<unknown> = Promise.resolve();
  private readonly extra: DesiredTrainsFile;
  last?: ReconcileSummary;

  constructor(
    private config: ControllerConfig,
    private readonly store: MirrorStore,
    private readonly log: (line: string) => void,
    private readonly env?: NodeJS.ProcessEnv,
  ) {
    this.extra = new DesiredTrainsFile(join(config.dataDir, 'controller', 'attached-builds.json'));
  }

  setConfig(config: ControllerConfig): void {
    this.config = config;
  }

  juju(): JujuClient {
    const j = this.config.juju;
    // JUJU_DATA points the client at the controller and account the charm was given.
    const env = j.dataDir ? { ...(this.env ?? {}), JUJU_DATA: j.dataDir } : this.env;
    return new JujuClient({ executable: j.executable, model: j.model, ...(j.controller ? { controller: j.controller } : {}), ...(env ? { env } : {}), timeoutMs: j.timeoutMs, retries: 2 });
  }

  /**
   * The configuration's attach trains and the builds attached on request (API attach, rollback, a
   * build asked to attach). A request for a train the configuration attaches overrides its pin
   * (keeping its apps) until it is detached.
   */
  async attachTrains(): Promise<AttachTrain[]> {
    const configured = this.configuredTrains();
    const requested = await this.extra.load();
    const requestedKeys = new Set(requested.map((t) => trainKey(t)));
    const apps = new Map(configured.map((t) => [trainKey(t), t.apps]));
    const overrides = requested.map((t): AttachTrain => {
      const configuredApps = apps.get(trainKey(t));
      return configuredApps && !t.apps ? { ...t, apps: configuredApps } : t;
    });
    return [...configured.filter((t) => !requestedKeys.has(trainKey(t))), ...overrides];
  }

  /**
   * Whether reconciling has anything to do: trains to keep attached, or attachments heliostat made
   * that must be restored now that their train is gone.
   */
  async enabled(): Promise<boolean> {
    if ((await this.attachTrains()).length > 0) return true;
    return (await this.stateFile().load()).records.some((r) => r.current !== undefined);
  }

  /**
   * A build asked to attach when it was submitted. A train the configuration attaches follows its
   * configured pin anyway, unless a request already overrides it: then this newer build replaces it.
   */
  async attachBuild(train: string, release: string, series: string, buildId: string): Promise<void> {
    const key = trainKey({ train, release, series });
    const requested = await this.extra.load();
    if (this.isConfigured(key) && !requested.some((t) => trainKey(t) === key)) return;
    // One entry per train (as the CLI's desired state): the newest attached build replaces the last.
    await this.extra.save(withTrain(requested, { train, release, series, pin: buildId }));
  }

  /** An attach asked for explicitly (API, rollback): recorded even over the configuration's pin. */
  async requestAttach(train: string, release: string, series: string, buildId: string): Promise<void> {
    await this.extra.save(withTrain(await this.extra.load(), { train, release, series, pin: buildId }));
  }

  /** Drops the request for one train/release/series; says what the model returns to. */
  async detach(train: string, release: string, series: string): Promise<'configured-pin' | 'originals'> {
    const key = trainKey({ train, release, series });
    const requested = await this.extra.load();
    const kept = requested.filter((t) => trainKey(t) !== key);
    if (kept.length === requested.length) {
      const why = this.isConfigured(key) ? `it is attached by the configuration (attach on), not on request; turn the train's attach off to detach it` : 'nothing is attached on request for it';
      throw new ControllerStateError(`cannot detach ${train}/${release}/${series}: ${why}`, 409);
    }
    await this.extra.save(kept);
    return this.isConfigured(key) ? 'configured-pin' : 'originals';
  }

  /** What heliostat runs in the model now: per application resource, the train and build. */
  async runningBuilds(): Promise<Array<{ app: string; resource: string; train: string; buildId: string }>> {
    const state = await this.stateFile().load();
    return state.records.flatMap((r) => (r.current ? [{ app: r.app, resource: r.resource, train: r.current.train, buildId: r.current.buildId }] : []));
  }

  /** Build ids of `train` that run in the model (retention must keep them). */
  async inUse(train: string): Promise<string[]> {
    const state = await this.stateFile().load();
    return state.records.flatMap((r) => (r.current?.train === train ? [r.current.buildId] : []));
  }

  /** One pass; passes never overlap. Returns the result and the events it produced. */
  reconcile(options: { dryRun?: boolean; force?: boolean }, now: () => Date): Promise<{ result: ReconcileResult; events: ControllerEvent[] }> {
    const run = this.running.then(() => this.pass(options, now));
    this.running = run.catch(() => undefined);
    return run;
  }

  private configuredTrains(): AttachTrain[] {
    return this.config.trains.filter((t) => t.attach).map((t): AttachTrain => ({ train: t.name, release: t.release, series: t.series, pin: t.pin, ...(t.apps ? { apps: t.apps } : {}) }));
  }

  private isConfigured(key: string): boolean {
    return this.config.trains.some((t) => t.attach && trainKey(t) === key);
  }

  private stateFile(): AttachmentStateFile {
    const j = this.config.juju;
    return new AttachmentStateFile(join(this.config.dataDir, 'attach', `${j.controller ?? 'current'}-${j.model}.state.json`), j.model);
  }

  private async pass(options: { dryRun?: boolean; force?: boolean }, now: () => Date): Promise<{ result: ReconcileResult; events: ControllerEvent[] }> {
    const at = now().toISOString();
    try {
      const trains = await this.attachTrains();
      const kube = KubeClient.fromKubeconfig(this.config.kubeconfig, { timeoutMs: 30_000, namespace: this.config.namespace });
      const result = await reconcileOnce(
        trains,
        { juju: this.juju(), kube, store: this.store, state: this.stateFile(), namespace: this.config.namespace, rolloutTimeoutMs: this.config.reconcile.rolloutTimeoutMs, now, log: this.log },
        options,
      );
      const held = result.actions.filter((a) => a.kind === 'hold').length;
      const outcome = options.dryRun ? 'planned' : result.actions.length === 0 ? 'nothing to do' : 'applied';
      this.last = { at, result: outcome, held };
      return { result, events: options.dryRun ? [] : eventsOf(result) };
    } catch (error) {
      this.last = { at, result: 'failed', held: this.last?.held ?? 0, error: error instanceof Error ? error.message : String(error) };
      throw error;
    }
  }
}

/** The attachments, rollbacks and restores a pass made, from its plan and its report. */
export function eventsOf(result: ReconcileResult): ControllerEvent[] {
  const events: ControllerEvent[] = [];
  const find = (app: string, resource: string) => result.actions.find((a): a is Exclude<ReconcileAction, { kind: 'hold' | 'verify' }> => a.app === app && a.resource === resource && (a.kind === 'attach' || a.kind === 'restore'));
  for (const app of result.report?.apps ?? []) {
    for (const resource of app.resources) {
      const action = find(app.app, resource);
      if (!action) continue;
      if (app.result === 'rolled-back') events.push({ type: 'rolled-back', app: app.app, resource, to: action.replaces.ref, reason: app.reason ?? 'rollout failed' });
      else if (action.kind === 'restore') events.push({ type: 'restored', app: app.app, resource, to: action.to.ref });
      else if (app.result === 'attached') events.push({ type: 'attached', app: app.app, resource, ref: action.to.ref, train: action.desired.train, buildId: action.desired.buildId });
    }
  }
  return events;
}
