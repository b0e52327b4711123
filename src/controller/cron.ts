// The clock the scheduler runs on: the time now and cron schedules, behind a small interface so
// tests drive schedules with a fake clock instead of waiting for real minutes. The real one is
// node-cron, time-zone aware, with overlapping runs of one task refused.
import { createTask, type ScheduledTask } from 'node-cron';

export interface CronHandle {
  stop(): void;
  /** When the schedule fires next, if it can tell. */
  nextRun(): Date | undefined;
}

export interface CronClock {
  now(): Date;
  /** Calls `fire` at every time the expression matches in `timezone` (default the machine's). */
  schedule(expression: string, timezone: string | undefined, fire: (at: Date) => Promise<void>): CronHandle;
}

export class NodeCronClock implements CronClock {
  now(): Date {
    return new Date();
  }

  schedule(expression: string, timezone: string | undefined, fire: (at: Date) => Promise<void>): CronHandle {
    const task: ScheduledTask = createTask(expression, (context) => fire(context.date), {
      ...(timezone ? { timezone } : {}),
      noOverlap: true,
      // The controller's own timers keep the process alive; a schedule alone must not block exit.
      unref: true,
    });
    void task.start();
    return {
      stop: () => void task.destroy(),
      nextRun: () => task.getNextRun() ?? undefined,
    };
  }
}
