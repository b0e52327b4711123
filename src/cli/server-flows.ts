// What `build`, `attach` and `reconcile` do with --server: the same request through the
// controller's API, with the same progress lines, output and exit codes as the local commands.
import type { Command } from 'commander';
import { z } from 'zod';
import { formatRef, parseRef } from '../../mirror/ref.js';
import { getRelease } from '../catalog/releases.js';
import type { BuildRequestInput } from '../controller/types.js';
import { ReportedFailure, UsageError } from '../errors.js';
import type { CliEnv } from './env.js';
import { printJson, renderTable, type Output } from './output.js';
import { ServerClient, type RemoteJob, type RemoteRock } from './server-client.js';

/** Fails when options that only mean something locally were given on the command line. */
export function refuseLocalOptions(cmd: Command, names: readonly string[]): void {
  const given = names.filter((name) => cmd.getOptionValueSource(name) === 'cli');
  if (given.length === 0) return;
  const flags = given.map((n) => `--${n.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  throw new UsageError(`${flags.join(', ')} ${flags.length > 1 ? 'are' : 'is'} not used with --server: the controller works with its own settings`);
}

/** The progress line a local build prints for the same rock state. */
export function progressLine(rock: RemoteRock): string | undefined {
  const seconds = ((rock.durationMs ?? 0) / 1000).toFixed(1);
  switch (rock.state) {
    case 'building':
      return `building ${rock.rock}\n`;
    case 'built':
      return `${rock.rock}: built in ${seconds}s\n`;
    case 'failed':
      return `${rock.rock}: failed (${rock.failureClass ?? 'build'}) after ${seconds}s\n`;
    case 'reused':
    case 'skipped':
      return `${rock.rock}: ${rock.state}\n`;
    default:
      return undefined;
  }
}

/** A build request from validated flags, without the fields left unset. */
type RequestFields = { [K in keyof BuildRequestInput]: BuildRequestInput[K] | undefined } & { release: string };

export async function buildOnServer(env: CliEnv, server: string, fields: RequestFields, options: { json?: boolean; verbose?: boolean }): Promise<void> {
  const out = env.output(options.json);
  const client = ServerClient.fromFlag(server, env.env, env.stderr);
  const request = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== false && !(Array.isArray(v) && v.length === 0))) as BuildRequestInput;
  const [submitted] = await client.submit([request]);
  if (!submitted) throw new Error(`the controller at ${client.origin} queued no job`);
  env.stderr.write(`submitted job ${submitted.id} to ${client.origin}\n`);
  // Printed per rock state, so a reconnect (which starts with the whole job) repeats nothing.
  const printed = new Map<string, string>();
  const report = (rock: RemoteRock) => {
    if (printed.get(rock.rock) === rock.state) return;
    printed.set(rock.rock, rock.state);
    const line = progressLine(rock);
    if (line) env.stderr.write(line);
  };
  const job = await client.follow(submitted.id, (event) => {
    if (event.type === 'rock') report(event.rock);
    else if (event.type === 'job') event.job.rocks.filter((r) => printed.has(r.rock) || r.state !== 'pending').forEach(report);
    else if (options.verbose) for (const line of event.lines) env.stderr.write(`${event.rock}| ${line}\n`);
  });
  printBuild(out, job, client.origin);
  if (job.result !== 'success') throw new ReportedFailure(1);
}

function printBuild(out: Output, job: RemoteJob, server: string): void {
  const summary = job.summary ?? { built: [], reused: [], failed: [], skipped: [] };
  if (out.json) {
    printJson(out, { train: job.request.train, release: job.request.release, buildId: job.buildId ?? null, result: job.result ?? 'fail', ...summary, jobId: job.id, state: job.state, server, ...(job.error ? { error: job.error } : {}) });
    return;
  }
  const rows = [...job.rocks].sort((a, b) => a.rock.localeCompare(b.rock));
  out.stdout.write(
    renderTable(rows, [
      { header: 'rock', value: (r) => r.rock },
      { header: 'outcome', value: (r) => r.state },
      { header: 'class', value: (r) => r.failureClass ?? '' },
      { header: 'seconds', value: (r) => ((r.durationMs ?? 0) / 1000).toFixed(1) },
    ]),
  );
  if (job.error) out.stderr.write(`job ${job.id}: ${job.error}\n`);
  out.stdout.write(`build ${job.buildId ?? '-'}: ${job.result ?? job.state} (job ${job.id} on ${server})\n`);
}

// What the local reconcile prints from; the controller returns the same shape as JSON.
const imageAt = z.object({ ref: z.string() });
const base = { app: z.string(), resource: z.string(), why: z.string() };
export const reconcileViewSchema = z.object({
  actions: z.array(
    z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('attach'), to: imageAt, ...base }),
      z.object({ kind: z.literal('restore'), to: imageAt, ...base }),
      z.object({ kind: z.literal('verify'), digest: z.string(), ...base }),
      z.object({ kind: z.literal('hold'), running: z.array(z.string()), ...base }),
    ]),
  ),
  problems: z.array(z.string()),
  report: z.object({ apps: z.array(z.object({ app: z.string(), result: z.string(), reason: z.string().optional() })) }).optional(),
});
export type ReconcileView = z.infer<typeof reconcileViewSchema>;

export async function reconcileOnServer(env: CliEnv, server: string, options: { dryRun?: boolean; force?: boolean; json?: boolean }, print: (result: ReconcileView) => void): Promise<void> {
  const client = ServerClient.fromFlag(server, env.env, env.stderr);
  const raw = await client.reconcile({ ...(options.dryRun ? { dryRun: true } : {}), ...(options.force ? { force: true } : {}) });
  const parsed = reconcileViewSchema.safeParse(raw);
  // JSON output is the controller's whole result, shaped like the local command's.
  if (options.json || !parsed.success) printJson(env.output(true), typeof raw === 'object' && raw !== null ? { dryRun: options.dryRun ?? false, ...raw } : raw);
  else print(parsed.data);
  if (parsed.success && parsed.data.report?.apps.some((a) => a.result === 'rolled-back' || a.result === 'failed')) throw new ReportedFailure(1);
}

/**
 * `attach REF --server`: the controller records the build as its train's attachment (over the
 * configuration's pin of that train, until detached) and starts a reconcile pass at once; the pass
 * runs on the controller, so this reports what was recorded rather than waiting for the rollout.
 */
export async function attachOnServer(env: CliEnv, server: string, refText: string, options: { json?: boolean }): Promise<void> {
  const ref = parseRef(refText, { normaliseRelease: (r) => getRelease(r).number });
  const client = ServerClient.fromFlag(server, env.env, env.stderr);
  const done = await client.attach(formatRef(ref));
  const out = env.output(options.json);
  if (out.json) return printJson(out, { ...done, server: client.origin });
  out.stdout.write(`attaching ${done.train}/${done.release}/${done.series}/${done.buildId} (${done.ref}) on ${client.origin}; its reconcile pass has started\n`);
  out.stderr.write(`follow it with: heliostat reconcile --dry-run --server ${client.origin}; undo with: heliostat detach ${done.train}/${done.release}/${done.series} --server ${client.origin}\n`);
}

/** `detach TRAIN/RELEASE/SERIES --server`: stops attaching on request; the controller reconciles now. */
export async function detachOnServer(env: CliEnv, server: string, seriesText: string, options: { json?: boolean }): Promise<void> {
  const parts = seriesText.split('/');
  if (parts.length !== 3) throw new UsageError(`with --server, name the series to detach: TRAIN/RELEASE/SERIES (got '${seriesText}')`);
  const [train = '', release = '', series = ''] = parts;
  const client = ServerClient.fromFlag(server, env.env, env.stderr);
  const done = await client.detach(train, getRelease(release).number, series);
  const out = env.output(options.json);
  if (out.json) return printJson(out, { ...done, server: client.origin });
  const next = done.restores === 'originals' ? 'the original images' : "the configuration's pin of the train";
  out.stdout.write(`detached ${done.train}/${done.release}/${done.series} on ${client.origin}; its reconcile pass restores ${next}\n`);
}
