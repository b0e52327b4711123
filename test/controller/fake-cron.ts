// A CronClock on fake time: advance() walks the seconds between now and the new time and fires
// every schedule that matches (node-cron's own matcher, so expressions and time zones mean exactly
// what they mean in production), awaiting each tick before the next second.
import { createTask, type ScheduledTask } from 'node-cron';
import type { CronClock, CronHandle } from '../../src/controller/cron.js';

interface Entry {
  matcher: ScheduledTask;
  fire: (at: Date) => Promise<void>;
  stopped: boolean;
}

export class FakeCronClock implements CronClock {
  private time: number;
  private readonly entries = new Set<Entry>();
  fired = 0;

  constructor(start: Date | string) {
    this.time = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.time);
  }

  schedule(expression: string, timezone: string | undefined, fire: (at: Date) => Promise<void>): CronHandle {
    // Never started: used only for its match(), timezone included.
    const matcher = createTask(expression, () => undefined, timezone ? { timezone } : {});
    const entry: Entry = { matcher, fire, stopped: false };
    this.entries.add(entry);
    return {
      stop: () => {
        entry.stopped = true;
        this.entries.delete(entry);
        void matcher.destroy();
      },
      nextRun: () => this.nextMatch(matcher),
    };
  }

  get scheduled(): number {
    return this.entries.size;
  }

  /** Moves time forward by `ms`, firing (and awaiting) every matching schedule on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    let t = Math.floor(this.time / 1000) * 1000 + 1000;
    while (t <= end) {
      this.time = t;
      const due = [...this.entries].filter((e) => !e.stopped && e.matcher.match(new Date(t)));
      this.fired += due.length;
      await Promise.all(due.map((e) => e.fire(new Date(t))));
      t += 1000;
    }
    this.time = end;
  }

  private nextMatch(matcher: ScheduledTask): Date | undefined {
    // Minute steps cover five-field expressions (they fire at second 0); a week is enough here.
    const start = Math.floor(this.time / 60_000) * 60_000 + 60_000;
    for (let t = start; t < start + 7 * 86_400_000; t += 60_000) if (matcher.match(new Date(t))) return new Date(t);
    return undefined;
  }
}
