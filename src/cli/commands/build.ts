// `heliostat build`: one build of a train for a release, locally with rockcraft, optionally
// published to the mirror. Progress goes to stderr (a line per rock), the summary to stdout.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { IndexFetcher } from '../../archive/fetch-index.js';
import { clampNote } from '../../catalog/releases.js';
import { ReportedFailure, UsageError } from '../../errors.js';
import { hostDebianArch } from '../../build/host.js';
import { runBuild, type BuildOutcome } from '../../build/pipeline.js';
import { RockcraftBuilder } from '../../build/rockcraft-builder.js';
import type { RunEvent } from '../../build/runner.js';
import { validatePackageName, validateSuffix } from '../../rocks/patches.js';
import { publishBuild } from '../../../mirror/publish.js';
import { validateRockName, validateTrain } from '../../../mirror/layout.js';
import { openUpstream } from '../context.js';
import type { CliEnv } from '../env.js';
import { collect, parsePackages, parseTargetFlags, type TargetFlags } from '../flags.js';
import { closeMirrorStore, openMirrorStore, parseStoreSpec } from '../mirror-store.js';
import { storeOptions } from './mirror-common.js';
import { registryOptions, registryTarget } from '../deploy-context.js';
import { note, printJson, renderTable } from '../output.js';
import { buildOnServer, refuseLocalOptions } from '../server-flows.js';
import type { GlobalFlags, Settings } from '../settings.js';
import type { MirrorStore } from '../../../mirror/stores/store.js';

interface BuildFlags extends GlobalFlags, TargetFlags {
  registry?: string;
  registryInsecure?: boolean;
  train?: string;
  component?: string[];
  rock?: string[];
  package?: string[];
  suffix?: string;
  jobs: string;
  timeout: string;
  force?: boolean;
  publish?: boolean;
  json?: boolean;
  rockcraft?: string;
  workDir?: string;
  server?: string;
}

function positiveInt(flag: string, value: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) throw new UsageError(`--${flag} must be a whole number from 1 to ${max}, not '${value}'`);
  return Number(value);
}

/** A train named by the operator, or the one the request implies: reference, proposed. */
function trainFor(flags: BuildFlags, patched: boolean, proposed: boolean): string {
  if (flags.train) {
    try {
      return validateTrain(flags.train);
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
  }
  if (patched) throw new UsageError('a build with --ppa, --package or --suffix needs --train NAME (the patch set it belongs to)');
  return proposed ? 'proposed' : 'reference';
}

export function registerBuild(program: Command, env: CliEnv): void {
  const command = program
    .command('build')
    .description('build the rocks of a release (all of them, or those of components/rocks named) and optionally publish them')
    .requiredOption('--release <release>', 'OpenStack release (codename or number)')
    .option('--series <series>', 'Ubuntu series to build on (default: each rock\'s own)')
    .option('--train <name>', 'train the build belongs to (default: reference, or proposed with --pocket proposed)')
    .option('--component <source>', 'build the rocks that install this source package\'s binaries (repeatable)', collect)
    .option('--rock <rock>', 'build this rock (repeatable)', collect)
    .option('--ppa <ppa>', 'take packages from this PPA: ppa:<owner>/<name>[:<priority>] (repeatable)', collect)
    .option('--pocket <pocket>', 'UCA pocket: updates or proposed')
    .option('--package <package>', 'extra Debian package to install (repeatable)', collect)
    .option('--suffix <suffix>', 'version suffix of the rocks')
    .option('--jobs <n>', 'rocks built at once', '2')
    .option('--timeout <seconds>', 'per-rock timeout', '3600')
    .option('--force', 'rebuild rocks even when an earlier build has the same build key')
    .option('--publish', 'publish the build to the mirror')
    .option('--rockcraft <path>', 'rockcraft executable', 'rockcraft')
    .option('--work-dir <dir>', 'where rocks and logs are written while building')
    .option('--server <url>', 'submit the build to a heliostat controller and follow it there (write token from $HELIOSTAT_TOKEN)');
  storeOptions(registryOptions(command)).action(async (flags: BuildFlags, cmd: Command) => {
      const target = parseTargetFlags(flags);
      const packages = parsePackages(flags.package);
      // Names are checked before anything is fetched: a hostile one never reaches git or the archive.
      for (const component of flags.component ?? []) validatePackageName(component);
      for (const rock of flags.rock ?? []) validateRockName(rock);
      const suffix = flags.suffix === undefined ? undefined : validateSuffix(flags.suffix);
      const jobs = positiveInt('jobs', flags.jobs, 64);
      const timeoutMs = positiveInt('timeout', flags.timeout, 86_400) * 1000;
      const train = trainFor(flags, target.ppas.length > 0 || packages.length > 0 || suffix !== undefined, target.pocket === 'proposed');
      if (flags.server) {
        refuseLocalOptions(cmd, ['jobs', 'timeout', 'publish', 'rockcraft', 'workDir', 'registry', 'registryInsecure', 'mirror', 'dataDir', 's3Endpoint', 's3Region', 's3CaFile', 's3Insecure', 's3PathStyle']);
        const request = { release: target.release.number, train, series: target.series?.name, pocket: flags.pocket ? target.pocket : undefined, components: flags.component, rocks: flags.rock, ppas: flags.ppa, packages, suffix, force: flags.force };
        await buildOnServer(env, flags.server, request, { json: flags.json, verbose: cmd.optsWithGlobals<GlobalFlags>().verbose });
        return;
      }
      const registry = flags.registry ? { target: registryTarget(flags.registry, flags.registryInsecure ?? false, env.env) } : undefined;
      const settings = await env.settings(cmd.optsWithGlobals());
      const out = env.output(flags.json);
      const clamp = clampNote(target.release);
      if (clamp) note(out, clamp);
      const store = await buildStore(settings, flags.publish ?? false, env.cwd);
      const workDir = resolve(env.cwd, flags.workDir ?? join(settings.cacheDir, 'builds', `${train}-${target.release.number}-${Date.now()}`));
      await mkdir(workDir, { recursive: true });
      const controller = new AbortController();
      const stop = () => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      let outcome: BuildOutcome;
      const reported = new Set<string>();
      let published: Awaited<ReturnType<typeof publishBuild>> | undefined;
      try {
        outcome = await runBuild(
          { train, release: target.release, series: target.series, pocket: target.pocket, ppas: target.ppas, packages, components: flags.component ?? [], rocks: flags.rock ?? [], suffix, force: flags.force ?? false, arch: hostDebianArch() },
          {
            upstream: openUpstream(settings, env.stderr),
            fetcher: new IndexFetcher({ cacheDir: settings.cacheDir, offline: settings.offline }),
            archives: settings.archives,
            builder: new RockcraftBuilder({ executable: flags.rockcraft ?? 'rockcraft', workRoot: join(workDir, 'tmp'), env: env.env }),
            store,
            registry,
            // Published below, once it is clear that there is something to publish.
            publish: false,
            workDir,
            jobs,
            timeoutMs,
            signal: controller.signal,
            onEvent: (event) => {
              if (event.type === 'finish') reported.add(event.result.rock);
              env.stderr.write(progressLine(event));
            },
          },
        );
        if (flags.publish && store && !nothingBuilt(outcome)) published = await publishBuild(store, { metadata: outcome.metadata, files: outcome.staged, reused: outcome.reused });
      } finally {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
        if (store) closeMirrorStore(store);
      }
      const summary = {
        train,
        release: target.release.number,
        buildId: outcome.buildId,
        result: outcome.result,
        ...outcome.summary,
        images: outcome.images.map((i) => ({ rock: i.rock, ref: i.ref, tags: i.tags })),
        notes: outcome.notes,
        published: published && store ? { location: store.location, latestMoved: published.latestMoved, bytesUploaded: published.bytesUploaded } : null,
        workDir,
      };
      await writeFile(join(workDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
      if (out.json) printJson(out, summary);
      else out.stdout.write(renderSummary(outcome) + `build ${outcome.buildId}: ${outcome.result}${published ? ` (published to ${store?.location ?? ''})` : ''}\n`);
      // Rocks refused before building had no progress line: their reasons go to stderr here.
      for (const r of outcome.results) if (r.outcome === 'failed' && !reported.has(r.rock)) env.stderr.write(progressLine({ type: 'finish', result: r }));
      if (nothingBuilt(outcome)) {
        const [first] = outcome.results;
        throw new Error(`no rock could be built${flags.publish ? ', nothing was published' : ''}: ${first?.rock ?? ''}: ${first?.error ?? ''}`);
      }
      if (outcome.result === 'fail') throw new ReportedFailure(1);
    });
}

/**
 * Every rock was refused before it reached the builder (broken rockcraft.yaml, unreadable apt
 * indices): the build has no artifact to record, so it is reported and not published.
 */
function nothingBuilt(outcome: BuildOutcome): boolean {
  return outcome.results.length > 0 && outcome.results.every((r) => r.outcome === 'failed' && r.failureClass === 'config');
}

/**
 * The mirror a build reads earlier builds from (to reuse rocks) and publishes to. Without
 * --publish a mirror that does not exist yet is simply not read.
 */
async function buildStore(settings: Settings, publish: boolean, cwd: string): Promise<MirrorStore | undefined> {
  if (publish) return openMirrorStore(settings, settings.mirror, { create: true, cwd });
  const spec = parseStoreSpec(settings.mirror, cwd);
  if (spec.kind === 'fs' && !existsSync(spec.root)) return undefined;
  return openMirrorStore(settings, settings.mirror, { cwd });
}

function progressLine(event: RunEvent): string {
  if (event.type === 'start') return `building ${event.rock}\n`;
  const r = event.result;
  const seconds = (r.durationMs / 1000).toFixed(1);
  if (r.outcome === 'failed') return `${r.rock}: failed (${r.failureClass ?? 'build'}) after ${seconds}s: ${r.error ?? ''}\n`;
  return `${r.rock}: ${r.outcome}${r.outcome === 'built' ? ` in ${seconds}s` : ''}\n`;
}

function renderSummary(outcome: BuildOutcome): string {
  const rows = [...outcome.results].sort((a, b) => a.rock.localeCompare(b.rock));
  return renderTable(rows, [
    { header: 'rock', value: (r) => r.rock },
    { header: 'outcome', value: (r) => r.outcome },
    { header: 'class', value: (r) => r.failureClass ?? '' },
    { header: 'seconds', value: (r) => (r.durationMs / 1000).toFixed(1) },
  ]);
}
