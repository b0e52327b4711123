// The unit's workload status from what the controller says about itself (GET /api/v1/status):
// maintenance while it builds, active with its trains and newest build otherwise; the controller's
// version becomes the application version. A controller that does not answer is reported as such.
import { z } from 'zod';
import { CharmApiError, ControllerClient } from './api.js';
import type { HookTools } from './hook-tools.js';

const statusSchema = z
  .object({
    version: z.string(),
    leader: z.boolean(),
    queue: z.object({ queued: z.number(), running: z.number() }),
    trains: z.array(z.object({ name: z.string(), latestBuild: z.string().optional() }).loose()),
    reconcile: z.object({ lastResult: z.string().optional() }).loose().optional(),
  })
  .loose();

export interface StatusContext {
  tools: HookTools;
  configFile: string;
  origin?: string;
  /** `s3` or `local`. */
  store: string;
  port: number;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Sets the workload status (and application version) from the controller's own status. */
export async function reportControllerStatus(ctx: StatusContext): Promise<void> {
  let answer: unknown;
  try {
    const { client } = await ControllerClient.fromConfig(ctx.configFile, ctx.origin, 5_000);
    answer = await client.call('GET', '/api/v1/status');
  } catch (error) {
    if (!(error instanceof CharmApiError)) throw error;
    await ctx.tools.statusSet('maintenance', `waiting for the controller service to answer on :${ctx.port} (systemctl status heliostat)`);
    return;
  }
  const parsed = statusSchema.safeParse(answer);
  if (!parsed.success) {
    await ctx.tools.statusSet('maintenance', 'the controller answered its status in a form this charm does not know; upgrade the charm');
    return;
  }
  const status = parsed.data;
  await ctx.tools.applicationVersionSet(status.version);
  const newest = status.trains.map((t) => t.latestBuild).filter((b): b is string => b !== undefined).sort().at(-1);
  const where = `${ctx.store} mirror on :${ctx.port}${status.leader ? '' : ' (read-only)'}`;
  if (status.queue.running > 0) {
    await ctx.tools.statusSet('maintenance', `building: ${status.queue.running} running, ${status.queue.queued} queued; ${where}`);
    return;
  }
  const reconcile = status.reconcile?.lastResult?.startsWith('failed') ? `; reconcile ${status.reconcile.lastResult}` : '';
  await ctx.tools.statusSet('active', `${plural(status.trains.length, 'train')}; last build ${newest ?? 'none yet'}; ${where}${reconcile}`);
}
