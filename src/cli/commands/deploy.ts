// `heliostat attach|detach|reconcile|status`: the Sunbeam side. attach and detach change the
// trains this model should run and then reconcile; reconcile re-checks; status shows what each
// application resource runs against what heliostat attached.
import type { Command } from 'commander';
import { formatSelector, parseRef } from '../../../mirror/ref.js';
import { resolveRef } from '../../../mirror/query.js';
import type { MirrorStore } from '../../../mirror/stores/store.js';
import { getRelease } from '../../catalog/releases.js';
import { withTrain } from '../../deploy/desired-file.js';
import type { AttachTrain } from '../../deploy/desired.js';
import { observeApps } from '../../deploy/observe.js';
import { ReportedFailure, UsageError } from '../../errors.js';
import { openDeploy, deployOptions, type DeployContext, type DeployFlags } from '../deploy-context.js';
import type { CliEnv } from '../env.js';
import { closeMirrorStore, openMirrorStore } from '../mirror-store.js';
import { printJson, renderTable, type Output } from '../output.js';
import { attachOnServer, detachOnServer, reconcileOnServer, refuseLocalOptions, type ReconcileView } from '../server-flows.js';
import type { GlobalFlags } from '../settings.js';
import { storeOptions } from './mirror-common.js';

type Flags = GlobalFlags & DeployFlags & { dryRun?: boolean; force?: boolean; json?: boolean; app?: string[]; server?: string };

// With --server the controller's own model, mirror and tools are used.
const LOCAL_ONLY = ['model', 'controller', 'juju', 'kubeconfig', 'namespace', 'timeout', 'mirror', 'dataDir', 's3Endpoint', 's3Region', 's3CaFile', 's3Insecure', 's3PathStyle', 'app'];
const SERVER_HELP = 'go through a heliostat controller\'s API instead of the local model (write token from $HELIOSTAT_TOKEN)';

const short = (digest: string | undefined) => (digest ? digest.replace(/^sha256:/, '').slice(0, 12) : '-');

async function session<T>(env: CliEnv, cmd: Command, flags: Flags, work: (ctx: DeployContext, store: MirrorStore) => Promise<T>): Promise<T> {
  const settings = await env.settings(cmd.optsWithGlobals());
  const ctx = await openDeploy(flags, settings, env.env, env.cwd);
  const store = await openMirrorStore(settings, settings.mirror, { cwd: env.cwd });
  try {
    return await work(ctx, store);
  } finally {
    closeMirrorStore(store);
  }
}

async function reconcileAndReport(out: Output, ctx: DeployContext, store: MirrorStore, trains: readonly AttachTrain[], flags: Flags): Promise<void> {
  const { reconcileOnce } = await import('../../deploy/reconciler.js');
  const result = await reconcileOnce(trains, { ...ctx, store, log: (line) => out.stderr.write(`${line}\n`) }, { dryRun: flags.dryRun, force: flags.force });
  print(out, result, flags.dryRun ?? false);
  const failed = result.report?.apps.some((a) => a.result === 'rolled-back' || a.result === 'failed');
  if (failed) throw new ReportedFailure(1);
}

function print(out: Output, result: ReconcileView, dryRun: boolean): void {
  if (out.json) {
    printJson(out, { dryRun, actions: result.actions, problems: result.problems, report: result.report ?? null });
    return;
  }
  for (const problem of result.problems) out.stderr.write(`warning: ${problem}\n`);
  if (result.actions.length === 0) {
    out.stdout.write('nothing to do: every application runs what is declared\n');
    return;
  }
  out.stdout.write(
    renderTable(result.actions, [
      { header: 'action', value: (a) => (dryRun ? `would ${a.kind}` : a.kind) },
      { header: 'app', value: (a) => a.app },
      { header: 'resource', value: (a) => a.resource },
      { header: 'image', value: (a) => (a.kind === 'attach' || a.kind === 'restore' ? a.to.ref : a.kind === 'verify' ? a.digest : a.running.join(' ')) },
      { header: 'why', value: (a) => a.why },
    ]),
  );
  for (const app of result.report?.apps ?? []) out.stdout.write(`${app.app}: ${app.result}${app.reason ? ` (${app.reason})` : ''}\n`);
}

export function registerDeploy(program: Command, env: CliEnv): void {
  const attach = program
    .command('attach')
    .description('attach the rocks of a build to the Sunbeam applications that use them, verify the pods, roll back on failure')
    .argument('<ref>', 'TRAIN/RELEASE/SERIES/(latest|stable|BUILD-ID|pin:NAME|as-of:TIME)')
    .option('--app <app>', 'only this application (repeatable)', (v: string, p: string[] = []) => [...p, v])
    .option('--dry-run', 'show what would change, change nothing')
    .option('--force', 'overwrite hand-made changes and retry failed digests')
    .option('--server <url>', SERVER_HELP);
  storeOptions(deployOptions(attach)).action(async (refText: string, flags: Flags, cmd: Command) => {
    if (flags.server) {
      // The controller reconciles on its own; dry runs and --force belong to `reconcile --server`.
      refuseLocalOptions(cmd, [...LOCAL_ONLY, 'dryRun', 'force']);
      await attachOnServer(env, flags.server, refText, flags);
      return;
    }
    const ref = parseRef(refText);
    const release = getRelease(ref.release).number;
    const entry: AttachTrain = { train: ref.train, release, series: ref.series, pin: formatSelector(ref.selector), ...(flags.app ? { apps: flags.app } : {}) };
    await session(env, cmd, flags, async (ctx, store) => {
      await resolveRef(store, `${entry.train}/${release}/${entry.series}/${entry.pin}`);
      const trains = withTrain(await ctx.desired.load(), entry);
      if (!flags.dryRun) await ctx.desired.save(trains);
      await reconcileAndReport(env.output(flags.json), ctx, store, trains, flags);
    });
  });

  const detach = program
    .command('detach')
    .description('stop attaching a train; the applications get back what they ran before')
    .argument('<train>', 'train name (with --server: TRAIN/RELEASE/SERIES)')
    .option('--dry-run', 'show what would change, change nothing')
    .option('--force', 'restore even where someone changed the image by hand')
    .option('--server <url>', SERVER_HELP);
  storeOptions(deployOptions(detach)).action(async (train: string, flags: Flags, cmd: Command) => {
    if (flags.server) {
      refuseLocalOptions(cmd, [...LOCAL_ONLY, 'dryRun', 'force']);
      await detachOnServer(env, flags.server, train, flags);
      return;
    }
    await session(env, cmd, flags, async (ctx, store) => {
      const current = await ctx.desired.load();
      if (!current.some((t) => t.train === train)) throw new UsageError(`train '${train}' is not attached in model ${flags.model}; attached: ${current.map((t) => t.train).join(', ') || 'none'}`);
      const trains = current.filter((t) => t.train !== train);
      if (!flags.dryRun) await ctx.desired.save(trains);
      await reconcileAndReport(env.output(flags.json), ctx, store, trains, flags);
    });
  });

  const reconcile = program
    .command('reconcile')
    .description('bring the model back to the attached trains: attach, verify, roll back, restore')
    .option('--dry-run', 'show what would change, change nothing')
    .option('--force', 'overwrite hand-made changes and retry failed digests')
    .option('--server <url>', SERVER_HELP);
  storeOptions(deployOptions(reconcile)).action(async (flags: Flags, cmd: Command) => {
    if (flags.server) {
      refuseLocalOptions(cmd, LOCAL_ONLY);
      const out = env.output(flags.json);
      await reconcileOnServer(env, flags.server, flags, (result) => print(out, result, flags.dryRun ?? false));
      return;
    }
    await session(env, cmd, flags, async (ctx, store) => reconcileAndReport(env.output(flags.json), ctx, store, await ctx.desired.load(), flags));
  });

  const status = program.command('status').description('what each application resource runs, against what heliostat attached');
  storeOptions(deployOptions(status)).action(async (flags: Flags, cmd: Command) => {
      const settings = await env.settings(cmd.optsWithGlobals());
      const ctx = await openDeploy(flags, settings, env.env, env.cwd);
      const [state, pods, trains] = await Promise.all([ctx.state.load(), ctx.kube.listPods(ctx.namespace), ctx.desired.load()]);
      const observed = observeApps(pods);
      const rows = state.records.map((r) => {
        const running = [...new Set(r.containers.flatMap((c) => [...(observed.get(r.app)?.containers.get(c)?.digests ?? [])]))];
        const target = r.current?.digest ?? r.original.digest;
        const settled = running.length > 0 && running.every((d) => d === target);
        const state = r.failed && !r.current ? 'rolled back' : settled ? (r.current ? 'attached' : 'original') : running.length === 0 ? 'no pods' : 'differs';
        return { app: r.app, resource: r.resource, original: r.original.digest, attached: r.current?.digest, train: r.current?.train, buildId: r.current?.buildId, running, state, failed: r.failed };
      });
      const out = env.output(flags.json);
      if (out.json) {
        printJson(out, { model: flags.model, trains, resources: rows });
        return;
      }
      out.stdout.write(`trains: ${trains.map((t) => `${t.train} ${t.release}/${t.series}@${t.pin}`).join(', ') || 'none'}\n`);
      out.stdout.write(
        renderTable(rows, [
          { header: 'app', value: (r) => r.app },
          { header: 'resource', value: (r) => r.resource },
          { header: 'original', value: (r) => short(r.original) },
          { header: 'attached', value: (r) => (r.attached ? `${short(r.attached)} (${r.train ?? ''} ${r.buildId ?? ''})` : '-') },
          { header: 'running', value: (r) => r.running.map(short).join(',') || '-' },
          { header: 'state', value: (r) => r.state },
        ]),
      );
    });
}
