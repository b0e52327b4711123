// Per-train schedules. Each tick of a train first asks the change watch whether anything moved and
// queues a build only when something did; a tick never overlaps the train's previous tick or a
// build of it still queued or running. Manual triggers do not come through here (they bypass the
// check by design).
import type { CronClock, CronHandle } from './cron.js';
import { trainKey, type TrainSpec } from './trains.js';
import type { CheckResult, Observation } from './watch.js';

export interface TickHooks {
  /** Whether a job of this train/release/series is queued or running. */
  busy(train: TrainSpec): boolean;
  check(train: TrainSpec): Promise<CheckResult>;
  /** Queues the build the change calls for. */
  start(train: TrainSpec, observation: Observation, reasons: string[]): Promise<void>;
  log(level: 'debug' | 'info' | 'warn', message: string, detail?: Record<string, unknown>): void;
}

export type TickOutcome = 'unchanged' | 'queued' | 'busy' | 'overlap' | 'error';

export interface LastCheck {
  at: string;
  outcome: TickOutcome;
  reasons?: string[];
  error?: string;
}

export class TrainScheduler {
  private readonly handles = new Map<string, { handle: CronHandle; train: TrainSpec }>();
  private readonly ticking = new Set<string>();
  private readonly inFlight = new Set<Promise<TickOutcome>>();
  readonly lastCheck = new Map<string, LastCheck>();

  constructor(
    private readonly clock: CronClock,
    private readonly hooks: TickHooks,
  ) {}

  /** Replaces every schedule with those of `trains`. */
  apply(trains: readonly TrainSpec[]): void {
    this.stop();
    for (const train of trains) {
      if (!train.schedule) continue;
      const handle = this.clock.schedule(train.schedule, train.timezone, async () => {
        await this.tick(train);
      });
      this.handles.set(trainKey(train), { handle, train });
    }
  }

  nextRun(train: TrainSpec): Date | undefined {
    return this.handles.get(trainKey(train))?.handle.nextRun();
  }

  /** One tick of a train: check, and queue a build if something changed. Never throws. */
  tick(train: TrainSpec): Promise<TickOutcome> {
    const run = this.runTick(train);
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
    return run;
  }

  /** Waits for ticks under way (their checks may be about to queue a job). */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  stop(): void {
    for (const { handle } of this.handles.values()) handle.stop();
    this.handles.clear();
  }

  private async runTick(train: TrainSpec): Promise<TickOutcome> {
    const key = trainKey(train);
    const at = this.clock.now().toISOString();
    if (this.ticking.has(key)) return 'overlap';
    if (this.hooks.busy(train)) {
      this.lastCheck.set(key, { at, outcome: 'busy' });
      this.hooks.log('debug', `${key}: a build is already queued or running; tick skipped`);
      return 'busy';
    }
    this.ticking.add(key);
    try {
      const result = await this.hooks.check(train);
      if (!result.changed) {
        this.lastCheck.set(key, { at, outcome: 'unchanged' });
        this.hooks.log('debug', `${key}: nothing changed`);
        return 'unchanged';
      }
      await this.hooks.start(train, result.observation, result.reasons);
      this.lastCheck.set(key, { at, outcome: 'queued', reasons: result.reasons });
      return 'queued';
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      this.lastCheck.set(key, { at, outcome: 'error', error: message });
      this.hooks.log('warn', `${key}: change check failed: ${message}`);
      return 'error';
    } finally {
      this.ticking.delete(key);
    }
  }
}
