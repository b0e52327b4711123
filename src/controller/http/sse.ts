// GET /builds/:id/events as Server-Sent Events. The stream opens with the job's current state (the
// controller's subscribe delivers it first), then one `rock` event per rock state change and `log`
// events carrying batches of lines, and closes after the job reaches an end state (`end` event).
// Comment lines keep idle connections alive through proxies. A client that goes away, or reads so
// slowly that its backlog passes a bound, is unsubscribed at once.
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { ControllerApi, JobEvent, JobState } from '../types.js';
import { jobView } from './views.js';

export interface SseOptions {
  heartbeatMs: number;
  /** Log lines are held this long so that bursts go out as one event. */
  logFlushMs: number;
  /** A batch goes out at once when it reaches this many lines. */
  maxBatchLines: number;
  /** A client whose unsent backlog passes this many bytes is disconnected. */
  maxBacklogBytes: number;
}

export const DEFAULT_SSE: SseOptions = { heartbeatMs: 15_000, logFlushMs: 200, maxBatchLines: 200, maxBacklogBytes: 8 * 1024 * 1024 };

const ENDED: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);
const MAX_LINE = 8192;

export function streamJobEvents(controller: ControllerApi, jobId: string, req: Request, res: Response, options: SseOptions, logger: Logger): void {
  res.status(200).set({
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache, no-transform',
    Connection: 'keep-alive',
    // Reverse proxies (nginx) would otherwise hold events back in their buffers.
    'X-Accel-Buffering': 'no',
  });
  res.flushHeaders();
  res.write('retry: 3000\n\n');

  let seq = 0;
  let closed = false;
  let unsubscribe: (() => void) | undefined;
  let flushTimer: NodeJS.Timeout | undefined;
  const logs = new Map<string, string[]>();
  let logLines = 0;
  const heartbeat = setInterval(() => {
    if (!closed) res.write(': heartbeat\n\n');
  }, options.heartbeatMs);
  heartbeat.unref();

  const cleanup = () => {
    closed = true;
    clearInterval(heartbeat);
    clearTimeout(flushTimer);
    unsubscribe?.();
  };
  const send = (event: string, data: unknown) => {
    if (closed) return;
    res.write(`id: ${++seq}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    if (res.writableLength > options.maxBacklogBytes) {
      logger.warn({ job: jobId }, 'event stream client too slow: disconnected');
      cleanup();
      res.destroy();
    }
  };
  const flushLogs = () => {
    clearTimeout(flushTimer);
    flushTimer = undefined;
    for (const [rock, lines] of logs) send('log', { jobId, rock, lines });
    logs.clear();
    logLines = 0;
  };
  const finish = (state: JobState) => {
    flushLogs();
    send('end', { jobId, state });
    cleanup();
    res.end();
  };
  const listener = (event: JobEvent) => {
    if (closed) return;
    if (event.type === 'log') {
      const batch = logs.get(event.rock) ?? [];
      for (const line of event.lines) batch.push(line.length > MAX_LINE ? `${line.slice(0, MAX_LINE)}…` : line);
      logs.set(event.rock, batch);
      logLines += event.lines.length;
      if (logLines >= options.maxBatchLines) flushLogs();
      else flushTimer ??= setTimeout(flushLogs, options.logFlushMs);
      return;
    }
    // Lines held back go out first, so the stream keeps the order things happened in.
    flushLogs();
    if (event.type === 'rock') send('rock', { jobId: event.jobId, rock: event.rock });
    else {
      send('job', jobView(event.job));
      if (ENDED.has(event.job.state)) finish(event.job.state);
    }
  };

  res.on('close', () => {
    if (!closed) cleanup();
  });
  req.on('error', () => cleanup());

  try {
    const stop = controller.subscribe(jobId, listener);
    // The current state may already have ended the stream while subscribe was still running.
    if (closed) stop();
    else unsubscribe = stop;
  } catch (error) {
    logger.error({ job: jobId, reason: error instanceof Error ? error.message : String(error) }, 'could not follow job');
    send('error', { code: 'internal', message: 'the job cannot be followed; the controller log has the details' });
    cleanup();
    res.end();
  }
}
