// The metrics-endpoint relation (interface prometheus_scrape, provider side): every unit publishes
// its address and name in its unit databag; the leader publishes the scrape jobs (every unit's
// /metrics on the controller's port) and the Juju topology in the application databag.
import type { HookTools } from './hook-tools.js';

export const METRICS_ENDPOINT = 'metrics-endpoint';

export interface ScrapeTopology {
  model: string;
  modelUuid: string;
  application: string;
  unit: string;
}

export function scrapeJobs(addresses: readonly string[], port: number): unknown[] {
  const targets = [...new Set(addresses)].sort().map((a) => `${a.includes(':') ? `[${a}]` : a}:${port}`);
  return [{ job_name: 'heliostat', metrics_path: '/metrics', static_configs: [{ targets }] }];
}

export async function publishScrape(tools: HookTools, options: { hook: string; relationId?: string; leader: boolean; address?: string; addresses: readonly string[]; port: number; topology: ScrapeTopology }): Promise<void> {
  const gone = options.hook === `${METRICS_ENDPOINT}-relation-broken` ? options.relationId : undefined;
  const ids = (await tools.relationIds(METRICS_ENDPOINT)).filter((id) => id !== gone);
  const t = options.topology;
  for (const id of ids) {
    if (options.address) await tools.relationSet(id, { prometheus_scrape_unit_address: options.address, prometheus_scrape_unit_name: t.unit });
    if (!options.leader) continue;
    await tools.relationSet(
      id,
      {
        scrape_metadata: JSON.stringify({ model: t.model, model_uuid: t.modelUuid, application: t.application, unit: t.unit, charm_name: 'heliostat' }),
        scrape_jobs: JSON.stringify(scrapeJobs(options.addresses, options.port)),
      },
      true,
    );
  }
}
