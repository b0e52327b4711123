// `heliostat serve --config FILE` with its schedules on a clock the test moves: the same
// composition as the command (serve(): controller, HTTP API, mirror, signals), but the cron clock
// is a FakeCronClock. A signal moves it to the next full hour, firing every schedule due on the
// way, and the entry answers with one log line (clock-protocol.ts): a story builds "on schedule"
// without waiting real hours. Compiled on demand by clocked-serve.ts.
import { serve } from '../../../src/controller/serve.js';
import { FakeCronClock } from '../../controller/fake-cron.js';
import { CLOCK_ADVANCED, CLOCK_SIGNAL, CLOCK_START_ENV } from './clock-protocol.js';

const HOUR = 3_600_000;

const [flag, configPath] = process.argv.slice(2);
if (flag !== '--config' || !configPath) {
  process.stderr.write('usage: clocked-serve-entry --config FILE\n');
  process.exit(2);
}

const clock = new FakeCronClock(process.env[CLOCK_START_ENV] ?? '2026-11-02T00:30:00Z');
const running = await serve({ configPath, env: process.env, cwd: process.cwd(), version: 'e2e', clock });

let advancing = Promise.resolve();
process.on(CLOCK_SIGNAL, () => {
  advancing = advancing.then(async () => {
    const now = clock.now().getTime();
    const before = clock.fired;
    await clock.advance(Math.floor(now / HOUR) * HOUR + HOUR - now);
    // The same shape as the controller's own log lines, so the test reads it the same way.
    process.stdout.write(`${JSON.stringify({ level: 30, msg: CLOCK_ADVANCED, now: clock.now().toISOString(), fired: clock.fired - before })}\n`);
  });
});

await running.closed;
