// The charm's actions, answered by the controller's HTTP API on this unit (the controller owns the
// mirror and the model's state, so the charm never touches them itself). Parameters are checked
// here as well as by Juju; results go back through action-set as structured keys, failures through
// action-fail with the controller's own explanation.
import { z } from 'zod';
import { CharmApiError, ControllerClient, type RenderedConfig } from './api.js';
import type { HookTools } from './hook-tools.js';
import { OPERATOR_TRAIN } from './render.js';
import { flattenResult } from './results.js';

export interface ActionContext {
  tools: HookTools;
  /** The rendered controller configuration. */
  configFile: string;
  /** The controller's address (default from the rendered listen address). */
  origin?: string;
}

type Client = ControllerClient;
type Params = Record<string, unknown>;

const ref = z.string().min(1).max(300);
const series = z.string().regex(/^[^/]+\/[^/]+\/[^/]+$/, 'expected TRAIN/RELEASE/SERIES');
const dryRun = z.boolean().optional();

/** One path segment of a URL, encoded. */
const seg = (s: string) => encodeURIComponent(s);

interface ActionSpec<S extends z.ZodType> {
  params: S;
  run: (client: Client, params: z.infer<S>, ctx: { config: RenderedConfig }) => Promise<Record<string, string>>;
}

function action<S extends z.ZodType>(params: S, run: ActionSpec<S>['run']): ActionSpec<z.ZodType> {
  return { params, run: run as ActionSpec<z.ZodType>['run'] };
}

const ACTIONS: Record<string, ActionSpec<z.ZodType>> = {
  build: action(z.object({ train: z.string().min(1).optional(), force: z.boolean().optional() }).strict(), async (client, p, ctx) => {
    const train = p.train ?? OPERATOR_TRAIN;
    const trains = ctx.config.trains ?? [];
    const configured = trains.find((t) => t.name === train);
    if (!configured) throw new CharmApiError(`no train named ${JSON.stringify(train)} is configured; configured: ${trains.map((t) => t.name).join(', ') || 'none (set release, or extra-trains)'}`);
    const result = (await client.call('POST', '/api/v1/builds', [{ train, release: configured.release, ...(p.force ? { force: true } : {}) }])) as { jobs?: { id: string; state: string }[] };
    const jobs = result.jobs ?? [];
    return { jobs: jobs.map((j) => j.id).join(' '), state: jobs.map((j) => j.state).join(' ') };
  }),
  'list-builds': action(z.object({ train: z.string().min(1).optional(), state: z.string().min(1).optional(), limit: z.number().int().min(1).max(1000).optional() }).strict(), async (client, p) => {
    const query = new URLSearchParams(Object.entries({ train: p.train, state: p.state, limit: p.limit }).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]])));
    const result = (await client.call('GET', `/api/v1/builds${query.size > 0 ? `?${query.toString()}` : ''}`)) as { jobs?: Array<Record<string, unknown>> };
    const jobs = (result.jobs ?? []).map((j) => ({ id: j['id'], state: j['state'], train: (j['request'] as Params | undefined)?.['train'], release: (j['request'] as Params | undefined)?.['release'], buildId: j['buildId'], result: j['result'], createdAt: j['createdAt'] }));
    return { count: String(jobs.length), ...flattenResult(jobs, 'builds') };
  }),
  'show-build': action(z.object({ ref }).strict(), async (client, p) => {
    const parts = p.ref.split('/');
    if (parts.length !== 4) throw new CharmApiError(`ref ${JSON.stringify(p.ref)}: expected TRAIN/RELEASE/SERIES/(BUILD-ID|latest|stable|pin:NAME|as-of:TIME)`);
    const record = (await client.call('GET', `/api/mirror/v1/builds/${parts.map(seg).join('/')}`)) as Params;
    const rocks = Array.isArray(record['rocks']) ? (record['rocks'] as Params[]) : [];
    return {
      ...flattenResult({ buildId: record['buildId'], result: record['result'], startedAt: record['startedAt'], finishedAt: record['finishedAt'] }),
      ...flattenResult(Object.fromEntries(rocks.map((r) => [String(r['name']), { outcome: r['outcome'], version: r['version'], image: (r['image'] as Params | undefined)?.['ref'] }])), 'rocks'),
    };
  }),
  promote: action(z.object({ ref }).strict(), async (client, p) => flattenResult(await client.call('POST', '/api/v1/promote', { ref: p.ref }))),
  pin: action(z.object({ ref, name: z.string().min(1).max(63), expires: z.string().min(1).optional(), note: z.string().max(500).optional() }).strict(), async (client, p) =>
    flattenResult(await client.call('POST', '/api/v1/pins', { ref: p.ref, name: p.name, ...(p.expires ? { expiresAt: p.expires } : {}), ...(p.note ? { note: p.note } : {}) })),
  ),
  unpin: action(z.object({ series, name: z.string().min(1).max(63) }).strict(), async (client, p) => {
    await client.call('DELETE', '/api/v1/pins', { ref: p.series, name: p.name });
    return { removed: `${p.series} ${p.name}` };
  }),
  attach: action(z.object({ ref }).strict(), async (client, p) => flattenResult(await client.call('POST', '/api/v1/attachments', { ref: p.ref }))),
  detach: action(z.object({ series }).strict(), async (client, p) => flattenResult(await client.call('DELETE', `/api/v1/attachments/${p.series.split('/').map(seg).join('/')}`))),
  reconcile: action(z.object({ 'dry-run': dryRun, force: z.boolean().optional() }).strict(), async (client, p) => {
    const answer = (await client.call('POST', '/api/v1/reconcile', { dryRun: p['dry-run'] ?? false, ...(p.force ? { force: true } : {}) })) as { dryRun?: boolean; result?: { actions?: Params[]; problems?: string[]; report?: unknown } };
    const actions = (answer.result?.actions ?? []).map((a) => ({ kind: a['kind'], app: a['app'], resource: a['resource'], why: a['why'], image: (a['to'] as Params | undefined)?.['ref'] }));
    return { 'dry-run': String(answer.dryRun ?? false), count: String(actions.length), ...flattenResult(actions, 'actions'), ...flattenResult(answer.result?.problems ?? [], 'problems'), ...flattenResult(answer.result?.report, 'report') };
  }),
  rollback: action(z.object({ app: z.string().min(1).optional() }).strict(), async (client, p) => flattenResult(await client.call('POST', '/api/v1/rollback', p.app ? { app: p.app } : {}))),
  gc: action(z.object({ 'dry-run': dryRun }).strict(), async (client, p) => {
    const result = (await client.call('POST', '/api/v1/gc', { dryRun: p['dry-run'] ?? false })) as { dryRun: boolean; retention: Array<{ train: string; release: string; series: string; drop: Array<{ buildId: string }>; deleted: string[] }>; gc: Params };
    const builds = result.retention.flatMap((r) => r.drop.map((d) => `${r.train}/${r.release}/${r.series}/${d.buildId}`));
    return { 'dry-run': String(result.dryRun), ...flattenResult(builds, result.dryRun ? 'would-delete-builds' : 'deleted-builds'), ...flattenResult(result.gc, 'blobs') };
  }),
  status: action(z.object({}).strict(), async (client) => {
    const status = (await client.call('GET', '/api/v1/status')) as Params;
    return flattenResult(status);
  }),
};

export const ACTION_NAMES = Object.keys(ACTIONS);

export async function runAction(name: string, ctx: ActionContext): Promise<void> {
  const spec = ACTIONS[name];
  if (!spec) {
    await ctx.tools.actionFail(`unknown action ${name}`);
    return;
  }
  const raw = await ctx.tools.actionGet();
  const parsed = spec.params.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    await ctx.tools.actionFail(`invalid parameter ${issue?.path.join('.') || ''}: ${issue?.message ?? 'invalid'}`.replace('parameter : ', 'parameters: '));
    return;
  }
  try {
    const { client, config } = await ControllerClient.fromConfig(ctx.configFile, ctx.origin);
    const results = await spec.run(client, parsed.data, { config });
    await ctx.tools.actionSet(results);
  } catch (error) {
    if (!(error instanceof CharmApiError)) throw error;
    await ctx.tools.actionFail(error.message);
  }
}
