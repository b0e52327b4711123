// The status views: one entry per train (last run, next run, latest build, last change check) and
// the tools' state. The contract's types plus what it does not carry yet (the last check of a
// train, the configuration's reload state) as additive fields.
import type { ToolStatus } from './health.js';
import type { JobQueue } from './queue.js';
import type { LastCheck } from './scheduler.js';
import { trainKey, type TrainSpec } from './trains.js';
import type { ControllerStatus, TrainStatus } from './types.js';

export type ConfigState = { source: string; loadedAt: string; reloadError?: string; reloadFailedAt?: string };
export type ExtendedStatus = ControllerStatus & { config: ConfigState };
export type ExtendedTrainStatus = TrainStatus & { lastCheck?: LastCheck };

export interface TrainSources {
  queue: JobQueue;
  /** When the train's schedule fires next (undefined when not scheduling). */
  nextRun: (train: TrainSpec) => Date | undefined;
  latest: ReadonlyMap<string, string>;
  lastCheck: ReadonlyMap<string, LastCheck>;
}

export function trainStatuses(trains: readonly TrainSpec[], from: TrainSources): ExtendedTrainStatus[] {
  return trains.map((t) => {
    const key = trainKey(t);
    const last = from.queue.latestFor(key);
    const next = from.nextRun(t);
    const latest = from.latest.get(key);
    const check = from.lastCheck.get(key);
    return {
      name: t.name,
      release: t.release,
      series: t.series,
      ...(t.schedule ? { schedule: t.schedule } : {}),
      attach: t.attach,
      pin: t.pin,
      ...(last ? { lastRun: { at: last.startedAt ?? last.createdAt, jobId: last.id, state: last.state, ...(last.result ? { result: last.result } : {}) } } : {}),
      ...(next ? { nextRun: next.toISOString() } : {}),
      ...(latest ? { latestBuild: latest } : {}),
      ...(check ? { lastCheck: check } : {}),
    };
  });
}

export function toolStatus(status: ToolStatus, scrub: (text: string) => string): ControllerStatus['builder'] {
  return { available: status.available, ...(status.version ? { version: status.version } : {}), ...(status.error ? { error: scrub(status.error) } : {}) };
}
