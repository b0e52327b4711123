// The charm's actions, answered by the controller's HTTP API on this unit: build, list-builds and
// status. Results go back through action-set (values are strings; structured results as JSON).
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import type { HookTools } from './hook-tools.js';
import { LISTEN_PORT, OPERATOR_TRAIN } from './render.js';

export interface ActionContext {
  tools: HookTools;
  /** The rendered controller configuration. */
  configFile: string;
  /** The API's base URL (default http://127.0.0.1:8080/api/v1). */
  apiUrl: string;
}

export const DEFAULT_API_URL = `http://127.0.0.1:${LISTEN_PORT}/api/v1`;

interface RenderedConfig {
  trains?: { name: string; release: string }[];
  tokens?: { name: string; token?: string }[];
}

async function readRendered(file: string): Promise<RenderedConfig> {
  try {
    return (parse(await readFile(file, 'utf8')) ?? {}) as RenderedConfig;
  } catch {
    throw new ActionError('the controller is not configured yet');
  }
}

class ActionError extends Error {}

async function call(ctx: ActionContext, method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
  const config = await readRendered(ctx.configFile);
  const token = config.tokens?.find((t) => t.token)?.token;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers['authorization'] = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(`${ctx.apiUrl}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(30_000) });
  } catch (error) {
    throw new ActionError(`the controller does not answer: ${error instanceof Error ? error.message : String(error)}`);
  }
  const text = await response.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : {};
  } catch {
    data = { message: text };
  }
  if (!response.ok) {
    const message = (data as { error?: { message?: string }; message?: string }).error?.message ?? (data as { message?: string }).message ?? response.statusText;
    throw new ActionError(`${method} ${path}: HTTP ${response.status}: ${message}`);
  }
  return data;
}

async function build(ctx: ActionContext): Promise<void> {
  const params = await ctx.tools.actionGet();
  const train = typeof params['train'] === 'string' && params['train'] !== '' ? params['train'] : OPERATOR_TRAIN;
  const config = await readRendered(ctx.configFile);
  const configured = config.trains?.find((t) => t.name === train);
  if (!configured) throw new ActionError(`no train named ${JSON.stringify(train)} is configured`);
  const result = (await call(ctx, 'POST', '/builds', [{ train, release: configured.release }])) as { jobs?: { id: string; state: string }[] };
  const jobs = result.jobs ?? [];
  await ctx.tools.actionSet({ jobs: jobs.map((j) => j.id).join(' '), state: jobs.map((j) => j.state).join(' ') });
}

async function listBuilds(ctx: ActionContext): Promise<void> {
  const result = (await call(ctx, 'GET', '/builds')) as { jobs?: unknown[] };
  const jobs = result.jobs ?? [];
  await ctx.tools.actionSet({ count: String(jobs.length), builds: JSON.stringify(jobs) });
}

async function status(ctx: ActionContext): Promise<void> {
  const result = await call(ctx, 'GET', '/status');
  await ctx.tools.actionSet({ status: JSON.stringify(result) });
}

const ACTIONS: Record<string, (ctx: ActionContext) => Promise<void>> = { build, 'list-builds': listBuilds, status };

export async function runAction(name: string, ctx: ActionContext): Promise<void> {
  const action = ACTIONS[name];
  if (!action) {
    await ctx.tools.actionFail(`unknown action ${name}`);
    return;
  }
  try {
    await action(ctx);
  } catch (error) {
    if (!(error instanceof ActionError)) throw error;
    await ctx.tools.actionFail(error.message);
  }
}
