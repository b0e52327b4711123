// The controller core: implements ControllerApi over the job queue, the scheduler with its change
// watch, the job runner, the deployer and the mirror. Only the leader schedules, builds and
// reconciles; other units answer reads. Configuration reloads swap trains, schedules and adapters
// without touching running jobs.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { readAlias } from '../../mirror/series.js';
import type { MirrorStore } from '../../mirror/stores/store.js';
import type { UpstreamLogEvent } from '../rocks/upstream.js';
import { AuditLog } from './audit.js';
import { scrub, type ControllerConfig } from './config.js';
import { NodeCronClock, type CronClock } from './cron.js';
import { Deployer } from './deployer.js';
import { ControllerStateError } from './errors.js';
import { auditOf, EventHub } from './events.js';
import { toolStatus, trainStatuses, type ConfigState, type ExtendedStatus, type ExtendedTrainStatus } from './status.js';
import { createAdapters, type AdapterOptions, type Adapters } from './adapters.js';
import { JobRunner } from './job-runner.js';
import { gcMirror, parseSeriesRef, pinRef, promoteRef, resolveAttachable, unpinRef } from './mirror-ops.js';
import { JobQueue, jobKey } from './queue.js';
import { TrainScheduler } from './scheduler.js';
import { trainKey, type TrainSpec } from './trains.js';
import type { AttachResult, AuditEntry, ControllerApi, ControllerEvent, DetachResult, GcResult, Job, JobEvent, JobState, JobTrigger, RollbackResult } from './types.js';
import { fromTrain, validateRequests } from './validate.js';
import { DeclaredTrainsFile, trainsToBuild } from './declared-trains.js';
import { recoverInterrupted } from './interrupted.js';
import { planRollback } from './rollback.js';
import { ChangeWatcher, type Observation } from './watch.js';

export interface ControllerDeps {
  store: MirrorStore;
  clock?: CronClock;
  logger?: Logger;
  version?: string;
  /** Environment of rockcraft and juju (default this process's). */
  env?: NodeJS.ProcessEnv;
  arch?: string;
  /** Told of every git network operation on the upstream repository (ls-remote, fetch, clone). */
  onUpstream?: (event: UpstreamLogEvent) => void;
}

export type { ExtendedStatus, ExtendedTrainStatus } from './status.js';
export { ControllerStateError } from './errors.js';

export class Controller implements ControllerApi {
  readonly hub: EventHub;
  private readonly logger: Logger;
  private readonly clock: CronClock;
  private readonly queue: JobQueue;
  private readonly audit: AuditLog;
  private readonly watcher: ChangeWatcher;
  private readonly scheduler: TrainScheduler;
  private readonly deployer: Deployer;
  private readonly runner: JobRunner;
  private readonly latest = new Map<string, string>();
  private readonly startedAt: string;
  private adapters!: Adapters;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private configState: ConfigState;
  private stopping = false;

  constructor(
    private config: ControllerConfig,
    private readonly deps: ControllerDeps,
  ) {
    this.logger = deps.logger ?? pino({ level: 'silent' });
    this.clock = deps.clock ?? new NodeCronClock();
    const now = () => this.clock.now();
    const stateDir = join(config.dataDir, 'controller');
    const warn = (what: string) => (error: unknown) => this.logger.error({ err: error }, what);
    this.startedAt = now().toISOString();
    this.configState = { source: config.source ?? '(defaults)', loadedAt: this.startedAt };
    this.hub = new EventHub(warn('an event listener failed'));
    this.queue = new JobQueue(join(stateDir, 'jobs.json'), now, warn('cannot write the job state'));
    this.audit = new AuditLog(join(stateDir, 'audit.jsonl'), now, (text) => this.scrub(text), warn('cannot write the audit log'));
    this.deployer = new Deployer(config, deps.store, (line) => this.logger.info(line), deps.env);
    this.configureAdapters(config);
    this.watcher = new ChangeWatcher(join(stateDir, 'watch.json'), this.adapters.watch, warn('cannot write the watch state'));
    this.scheduler = new TrainScheduler(this.clock, {
      busy: (train) => this.queue.hasActive(trainKey(train)),
      check: (train) => this.watcher.check(train),
      start: (train, observation, reasons) => this.queueScheduled(train, observation, reasons),
      log: (level, message) => this.logger[level](message),
    });
    this.runner = new JobRunner({
      config: () => this.config,
      queue: this.queue,
      hub: this.hub,
      audit: this.audit,
      watcher: this.watcher,
      deployer: this.deployer,
      store: deps.store,
      services: () => this.adapters.executor,
      logger: this.logger,
      now,
      scrub: (text) => this.scrub(text),
      onPublished: (key, latest) => latest && this.latest.set(key, latest),
      reconcile: (actor) => this.reconcile({}, actor),
    });
  }

  /** Loads state (resuming queued jobs, marking interrupted ones) and starts the leader's work. */
  async start(): Promise<void> {
    await this.audit.load();
    await this.watcher.load();
    try {
      const { interrupted, resumed } = await this.queue.load();
      const again = await recoverInterrupted(interrupted, { store: this.deps.store, now: () => this.clock.now(), logger: this.logger, audit: this.audit, kubernetesTrains: this.config.kubernetesTrains ?? [] });
      await this.queue.save();
      if (again.length > 0 && this.config.leader) {
        await this.submit(again, 'change', 'controller').catch((error: unknown) => this.logger.warn({ err: error }, 'cannot resume interrupted Kubernetes builds'));
      }
      if (resumed.length > 0) this.logger.info({ jobs: resumed.map((j) => j.id) }, 'resuming queued jobs');
    } catch (error) {
      this.logger.error({ err: error }, 'job state unreadable');
    }
    await this.refreshLatest();
    void this.adapters.builderProbe.check().then((s) => !s.available && this.logger.warn({ error: s.error }, 'rockcraft is not available: builds will fail'));
    this.activate();
    await this.buildDeclared();
    // An attach cut short by the stop is finished now, not an interval later.
    if (this.config.leader) void this.periodicReconcile();
  }

  /** Trains with buildOnChange build when declared or changed (see declared-trains.ts). */
  private async buildDeclared(): Promise<void> {
    if (!this.config.leader || this.stopping) return;
    const file = new DeclaredTrainsFile(this.config.dataDir);
    try {
      const due = trainsToBuild(this.config.trains, await file.load());
      if (due.length > 0) {
        this.logger.info({ trains: due.map(trainKey) }, 'trains declared or changed; builds queued');
        await this.submit(due.map(fromTrain), 'change', 'config');
      }
      await file.save(this.config.trains);
    } catch (error) {
      this.logger.warn({ err: error }, 'cannot queue the builds of declared trains');
    }
  }

  /** A reloaded configuration: trains, schedules, adapters and policies; running jobs keep theirs. */
  async applyConfig(config: ControllerConfig): Promise<void> {
    for (const [what, before, after] of [['dataDir', this.config.dataDir, config.dataDir], ['mirror', this.config.mirror.spec, config.mirror.spec]] as const) {
      if (before !== after) this.logger.warn(`${what} changed in the configuration; it takes effect after a restart`);
    }
    this.config = { ...config, dataDir: this.config.dataDir, mirror: this.config.mirror };
    this.deployer.setConfig(this.config);
    this.configureAdapters(this.config);
    this.watcher.setDeps(this.adapters.watch);
    this.configState = { source: config.source ?? '(defaults)', loadedAt: this.clock.now().toISOString() };
    await this.audit.record('controller', 'config.reload', this.configState.source, { trains: config.trains.map(trainKey), leader: config.leader });
    await this.refreshLatest();
    if (this.stopping) return;
    this.activate();
    await this.buildDeclared();
    // A train attached or detached by this reload is put in place now, not an interval later.
    if (this.config.leader) void this.periodicReconcile();
  }

  /** Records a reload that failed; the running configuration stays. */
  reloadFailed(message: string): void {
    this.configState = { ...this.configState, reloadError: this.scrub(message), reloadFailedAt: this.clock.now().toISOString() };
  }

  /** SIGTERM: no new work; running builds get `graceMs` to finish, then are cancelled cleanly. */
  async drain(graceMs = this.config.drainGraceMs): Promise<void> {
    this.stopping = true;
    this.scheduler.stop();
    this.stopReconcileLoop();
    await this.scheduler.settle();
    await this.runner.drain(graceMs);
    await Promise.all([this.queue.flush(), this.audit.flush(), this.watcher.flush()]);
  }

  // ---- ControllerApi ---------------------------------------------------------------------------

  async submit(requests: readonly unknown[], trigger: JobTrigger, actor: string): Promise<Job[]> {
    this.requireLeader('builds');
    const valid = validateRequests(requests, this.config.trains);
    const jobs = valid.map((request): Job => ({ id: this.newJobId(), request, trigger, state: 'queued', createdAt: this.clock.now().toISOString(), rocks: [] }));
    return this.enqueue(jobs.map((job) => ({ job, actor })));
  }

  job(id: string): Job | undefined {
    const job = this.queue.get(id)?.job;
    return job ? structuredClone(job) : undefined;
  }

  jobs(filter?: { state?: JobState; train?: string; limit?: number }): Job[] {
    return structuredClone(this.queue.list(filter));
  }

  subscribe(jobId: string, listener: (event: JobEvent) => void): () => void {
    const job = this.queue.get(jobId)?.job;
    if (!job) return () => undefined;
    listener(EventHub.snapshot(job));
    return this.hub.subscribe(jobId, listener);
  }

  async cancel(jobId: string, actor: string): Promise<boolean> {
    const record = this.queue.get(jobId);
    if (!record) return false;
    const job = record.job;
    if (job.state === 'running') {
      if (!this.runner.abort(jobId)) return false;
      await this.audit.record(actor, 'build.cancel', jobKey(job), { jobId });
      return true;
    }
    if (job.state !== 'queued') return false;
    job.state = 'cancelled';
    job.finishedAt = this.clock.now().toISOString();
    job.error = `cancelled by ${actor} before it started`;
    await this.queue.save();
    await this.audit.record(actor, 'build.cancel', jobKey(job), { jobId });
    this.hub.job(EventHub.snapshot(job));
    this.hub.emit({ type: 'build-finished', job: structuredClone(job) });
    return true;
  }

  trains(): ExtendedTrainStatus[] {
    return trainStatuses(this.config.trains, {
      queue: this.queue,
      nextRun: (t) => (this.config.leader && !this.stopping ? this.scheduler.nextRun(t) : undefined),
      latest: this.latest,
      lastCheck: this.scheduler.lastCheck,
    }).map((t) => (t.lastCheck?.error ? { ...t, lastCheck: { ...t.lastCheck, error: this.scrub(t.lastCheck.error) } } : t));
  }

  async status(): Promise<ExtendedStatus> {
    const [builder, juju, enabled] = await Promise.all([this.adapters.builderProbe.check(), this.adapters.jujuProbe.check(), this.deployer.enabled().catch(() => false)]);
    const last = this.deployer.last;
    return {
      version: this.deps.version ?? '0.0.0',
      startedAt: this.startedAt,
      leader: this.config.leader,
      queue: { queued: this.queue.count('queued'), running: this.queue.count('running') },
      trains: this.trains(),
      reconcile: { ...(last ? { lastAt: last.at, lastResult: last.error ? `failed: ${this.scrub(last.error)}` : last.result } : {}), held: last?.held ?? 0, enabled: this.config.leader && enabled },
      builder: toolStatus(builder, (t) => this.scrub(t)),
      juju: { available: juju.available, ...(juju.error ? { error: this.scrub(juju.error) } : {}) },
      mirror: { location: this.deps.store.location },
      config: this.configState,
    };
  }

  async reconcile(options: { dryRun?: boolean; force?: boolean }, actor: string): Promise<unknown> {
    if (!options.dryRun) this.requireLeader('reconciles');
    const { result, events } = await this.deployer.reconcile(options, () => this.clock.now());
    for (const event of events) await this.announce(event, actor);
    if (!options.dryRun && result.actions.length > 0) await this.audit.record(actor, 'reconcile', this.config.juju.model, { actions: result.actions.length, problems: result.problems });
    return result;
  }

  async promote(ref: string, actor: string): Promise<{ ref: string; buildId: string }> {
    this.requireLeader('promotions');
    const done = await promoteRef(this.deps.store, ref, this.config.registry);
    await this.announce({ type: 'promoted', ref: done.ref, buildId: done.buildId }, actor, { previous: done.previous ?? null, imagesTagged: done.imagesTagged });
    return { ref: done.ref, buildId: done.buildId };
  }

  async pin(ref: string, name: string, options: { expiresAt?: string; note?: string }, actor: string): Promise<{ ref: string; buildId: string }> {
    this.requireLeader('pins');
    const done = await pinRef(this.deps.store, ref, name, options, this.clock.now());
    await this.announce({ type: 'pinned', ref: done.ref, name, buildId: done.buildId, ...(done.expiresAt ? { expiresAt: done.expiresAt } : {}) }, actor);
    return { ref: done.ref, buildId: done.buildId };
  }

  async unpin(seriesRef: string, name: string, actor: string): Promise<void> {
    this.requireLeader('pins');
    const ts = await unpinRef(this.deps.store, seriesRef, name);
    await this.announce({ type: 'unpinned', ref: `${ts.train}/${ts.release}/${ts.series}`, name }, actor);
  }

  async attach(ref: string, actor: string): Promise<AttachResult> {
    this.requireLeader('attachments');
    const found = await resolveAttachable(this.deps.store, ref);
    const { train, release, series } = found.series;
    await this.deployer.requestAttach(train, release, series, found.buildId);
    const result: AttachResult = { ref: found.ref, train, release, series, buildId: found.buildId };
    await this.announce({ type: 'attach-requested', ...result }, actor);
    this.reconcileSoon();
    return result;
  }

  async detach(seriesRef: string, actor: string): Promise<DetachResult> {
    this.requireLeader('attachments');
    const { train, release, series } = parseSeriesRef(seriesRef);
    const restores = await this.deployer.detach(train, release, series);
    await this.announce({ type: 'detached', ref: `${train}/${release}/${series}`, restores }, actor);
    this.reconcileSoon();
    return { train, release, series, restores };
  }

  async rollback(options: { app?: string }, actor: string): Promise<RollbackResult> {
    this.requireLeader('rollbacks');
    const plans = await planRollback(this.deps.store, await this.deployer.runningBuilds(), await this.deployer.attachTrains(), options.app);
    for (const p of plans) {
      await this.deployer.requestAttach(p.train, p.release, p.series, p.to);
      await this.announce({ type: 'rollback-requested', ref: `${p.train}/${p.release}/${p.series}/${p.to}`, from: p.from, to: p.to }, actor, { apps: p.apps });
    }
    this.reconcileSoon();
    return { rolledBack: plans };
  }

  async gc(options: { dryRun?: boolean }, actor: string): Promise<GcResult> {
    const dryRun = options.dryRun ?? false;
    if (!dryRun) this.requireLeader('garbage collections');
    const series = [];
    for (const t of this.config.trains) {
      const policy = t.retention ?? this.config.retention;
      if (policy) series.push({ series: { train: t.name, release: t.release, series: t.series }, policy, inUse: await this.deployer.inUse(t.name).catch(() => []) });
    }
    const result = await gcMirror(this.deps.store, { series, dryRun, now: () => this.clock.now() });
    if (!dryRun) {
      const buildsDeleted = result.retention.reduce((n, r) => n + r.deleted.length, 0);
      await this.announce({ type: 'gc', buildsDeleted, objectsDeleted: result.gc.objects, bytesFreed: result.gc.bytesFreed }, actor);
    }
    return result;
  }

  history(filter?: { limit?: number; action?: string }): AuditEntry[] {
    return this.audit.history(filter);
  }

  onEvent(listener: (event: ControllerEvent) => void): () => void {
    return this.hub.onEvent(listener);
  }

  // ---- internals -------------------------------------------------------------------------------

  /** Runs a scheduler tick of a train now (what its cron would do), for tests and operators. */
  tick(train: TrainSpec): ReturnType<TrainScheduler['tick']> {
    return this.scheduler.tick(train);
  }

  scrub(text: string): string {
    return scrub(text, this.config.secrets);
  }

  private activate(): void {
    const leader = this.config.leader;
    this.scheduler.apply(leader ? this.config.trains : []);
    this.runner.pause(!leader);
    this.stopReconcileLoop();
    if (!leader) return;
    this.reconcileTimer = setInterval(() => void this.periodicReconcile(), this.config.reconcile.intervalMs);
    this.reconcileTimer.unref();
  }

  /** A pass now, in the background: the API answers at once; the pass is reported in status and history. */
  private reconcileSoon(): void {
    if (this.config.leader && !this.stopping) void this.periodicReconcile();
  }

  private async periodicReconcile(): Promise<void> {
    if (this.stopping || !(await this.deployer.enabled().catch(() => false))) return;
    await this.reconcile({}, 'schedule').catch((error: unknown) => this.logger.warn({ err: error }, 'periodic reconcile failed'));
  }

  private stopReconcileLoop(): void {
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.reconcileTimer = undefined;
  }

  private async queueScheduled(train: TrainSpec, observation: Observation, reasons: string[]): Promise<void> {
    // A build that cannot start would only fail, tick after tick: the check reports why instead.
    const builder = await this.adapters.builderProbe.check();
    if (!builder.available) throw new Error(`changed, but not building: ${builder.error ?? 'rockcraft is not available'}`);
    const request = validateRequests([fromTrain(train)], this.config.trains)[0];
    if (!request) return;
    const job: Job = { id: this.newJobId(), request, trigger: 'schedule', state: 'queued', createdAt: this.clock.now().toISOString(), rocks: [] };
    this.logger.info({ train: trainKey(train), reasons }, 'change detected; build queued');
    await this.enqueue([{ job, actor: 'schedule', observation }]);
  }

  private async enqueue(records: Array<{ job: Job; actor: string; observation?: Observation }>): Promise<Job[]> {
    if (this.stopping) throw new ControllerStateError('the controller is shutting down; submit again once it is back', 503);
    for (const record of records) this.queue.add(record);
    // Accepted means on disk: a restart from here resumes these jobs.
    await this.queue.save();
    for (const { job, actor } of records) {
      await this.audit.record(actor, 'build.submit', jobKey(job), { jobId: job.id, trigger: job.trigger });
      this.hub.job(EventHub.snapshot(job));
    }
    // As accepted (queued), whatever the runner does with them next.
    const accepted = records.map((r) => structuredClone(r.job));
    this.runner.pump();
    return accepted;
  }

  private async announce(event: ControllerEvent, actor: string, detail: Record<string, unknown> = {}): Promise<void> {
    const { action, target, detail: fields } = auditOf(event);
    await this.audit.record(actor, action, target, { ...fields, ...detail });
    this.hub.emit(event);
  }

  private requireLeader(what: string): void {
    if (!this.config.leader) throw new ControllerStateError(`this unit is not the leader; ${what} are made on the leader`, 409);
  }

  private newJobId(): string {
    return `${this.clock.now().toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`;
  }

  private async refreshLatest(): Promise<void> {
    await Promise.all(
      this.config.trains.map(async (t) => {
        const id = await readAlias(this.deps.store, { train: t.name, release: t.release, series: t.series }, 'latest').catch(() => undefined);
        if (id) this.latest.set(trainKey(t), id);
      }),
    );
  }

  private configureAdapters(config: ControllerConfig): void {
    this.adapters = createAdapters(config, { store: this.deps.store, juju: this.deployer.juju(), logger: this.logger, now: () => this.clock.now(), ...pick(this.deps) });
  }
}

function pick(deps: ControllerDeps): Pick<AdapterOptions, 'env' | 'arch' | 'onUpstream'> {
  return { ...(deps.env ? { env: deps.env } : {}), ...(deps.arch ? { arch: deps.arch } : {}), ...(deps.onUpstream ? { onUpstream: deps.onUpstream } : {}) };
}
