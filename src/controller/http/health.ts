// Probes. /healthz says the process answers; /readyz says the controller can do its work: its
// status() answers in time (configuration loaded) and the mirror is reachable.
import type { RequestHandler } from 'express';
import type { ControllerApi, ControllerStatus } from '../types.js';

export const healthz: RequestHandler = (_req, res) => {
  res.set('Cache-Control', 'no-store').json({ status: 'ok' });
};

export function readyz(controller: Pick<ControllerApi, 'status'>, timeoutMs: number): RequestHandler {
  return async (_req, res) => {
    let status: ControllerStatus | undefined;
    let problem: string | undefined;
    try {
      status = await Promise.race([
        controller.status(),
        new Promise<never>((_resolve, reject) => setTimeout(() => reject(new Error(`the controller did not answer within ${timeoutMs} ms`)), timeoutMs).unref()),
      ]);
    } catch (error) {
      problem = error instanceof Error ? error.message : String(error);
    }
    // The contract's status has no mirror health yet; a `reachable: false` on status.mirror,
    // once the core adds it, is honoured here.
    const mirror: Record<string, unknown> | undefined = status ? { ...status.mirror } : undefined;
    const checks = {
      controller: problem === undefined ? 'ok' : 'not ready',
      mirror: mirror === undefined ? 'unknown' : mirror['reachable'] === false ? 'unreachable' : 'ok',
    };
    const ready = checks.controller === 'ok' && checks.mirror === 'ok';
    res.set('Cache-Control', 'no-store').status(ready ? 200 : 503).json({ ready, checks });
  };
}
