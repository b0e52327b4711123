// `heliostat rocks list|show|patch|for`: what the upstream repository holds for a release, a rock
// patched as it would be built, and which rocks a source package ends up in.
import { writeFile, rename } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { clampNote } from '../../catalog/releases.js';
import { UsageError } from '../../errors.js';
import { loadBranchRocks, requireRock, type BranchRock } from '../../rocks/branch-rocks.js';
import { patchRockcraft, validateSuffix } from '../../rocks/patches.js';
import { WORKAROUND_IDS } from '../../rocks/workarounds.js';
import { openUpstream } from '../context.js';
import type { CliEnv } from '../env.js';
import { collect, parsePackages, parseTargetFlags, type TargetFlags } from '../flags.js';
import { note, printJson, printRows } from '../output.js';
import type { GlobalFlags } from '../settings.js';
import { registerRocksFor } from './rocks-for.js';

type Flags = GlobalFlags & TargetFlags & { json?: boolean };

function describeRock(rock: BranchRock) {
  const d = rock.document;
  if (!d) return { name: rock.name, error: rock.error };
  return {
    name: rock.name,
    imageName: d.name,
    version: d.version,
    base: d.base,
    buildBase: d.buildBase ?? null,
    platforms: d.platforms,
    repositories: d.repositories,
    packages: d.overlayPackages,
  };
}

function repositoriesText(rock: BranchRock): string {
  const repos = rock.document?.repositories ?? [];
  if (repos.length === 0) return '-';
  return repos.map((r) => (r.cloud ? `cloud:${r.cloud}${r.pocket ? `/${r.pocket}` : ''}` : r.ppa ? `ppa:${r.ppa}` : (r.url ?? 'apt'))).join(' ');
}

export function registerRocks(program: Command, env: CliEnv): void {
  const rocks = program.command('rocks').description('inspect and patch the rocks of ubuntu-openstack-rocks');

  rocks
    .command('list')
    .description("list the rocks of a release's branch")
    .requiredOption('--release <release>', 'OpenStack release (codename or number)')
    .option('--series <series>', 'Ubuntu series the rocks would be built on')
    .option('--json', 'print JSON')
    .action(async (flags: Flags, cmd: Command) => {
      const target = parseTargetFlags(flags);
      const settings = await env.settings(cmd.optsWithGlobals());
      const out = env.output(flags.json);
      const clamp = clampNote(target.release);
      if (clamp) note(out, clamp);
      const set = await loadBranchRocks(openUpstream(settings, env.stderr), target.release);
      for (const rock of set.rocks) if (rock.error) note(out, rock.error);
      printRows(
        out,
        set.rocks,
        [
          { header: 'rock', value: (r) => r.name },
          { header: 'image', value: (r) => r.document?.name ?? '?' },
          { header: 'version', value: (r) => r.document?.version ?? '?' },
          { header: 'base', value: (r) => (r.document ? (r.document.buildBase ? `${r.document.base}/${r.document.buildBase}` : r.document.base) : '?') },
          { header: 'repositories', value: repositoriesText },
        ],
        (r) => ({ ...describeRock(r), branch: set.branch, commit: set.commit }),
      );
    });

  rocks
    .command('show')
    .description('show one rock: image name, version, base, repositories and packages')
    .argument('<rock>', 'rock folder name')
    .requiredOption('--release <release>', 'OpenStack release (codename or number)')
    .option('--json', 'print JSON')
    .action(async (rockName: string, flags: Flags, cmd: Command) => {
      const target = parseTargetFlags(flags);
      const settings = await env.settings(cmd.optsWithGlobals());
      const out = env.output(flags.json);
      const set = await loadBranchRocks(openUpstream(settings, env.stderr), target.release);
      const rock = requireRock(set, rockName);
      if (out.json) {
        printJson(out, { ...describeRock(rock), branch: set.branch, commit: set.commit, rockcraftYaml: rock.text });
        return;
      }
      const d = rock.document;
      const lines = [
        `rock:          ${rock.name}`,
        `image name:    ${d.name}`,
        `version:       ${d.version}`,
        `base:          ${d.base}${d.buildBase ? ` (build-base ${d.buildBase})` : ''}`,
        `platforms:     ${d.platforms.join(', ') || '-'}`,
        `branch:        ${set.branch} @ ${set.commit.slice(0, 12)}`,
        `repositories:  ${repositoriesText(rock)}`,
        `packages:      ${d.overlayPackages.join(', ') || '-'}`,
      ];
      out.stdout.write(lines.join('\n') + '\n');
    });

  rocks
    .command('patch')
    .description('print (or write) the rockcraft.yaml heliostat would build for a rock')
    .argument('<rock>', 'rock folder name')
    .requiredOption('--release <release>', 'OpenStack release (codename or number)')
    .option('--series <series>', 'Ubuntu series to build on (default: the rock\'s own base)')
    .option('--ppa <ppa>', 'add a PPA: ppa:<owner>/<name>[:<priority>] (repeatable)', collect)
    .option('--pocket <pocket>', 'UCA pocket: updates or proposed')
    .option('--suffix <suffix>', 'version suffix, e.g. fix1 → "2024.1-fix1"')
    .option('--package <package>', 'extra Debian package to install (repeatable)', collect)
    .option('--workaround <id>', `workarounds: auto (default), none, or a name (${WORKAROUND_IDS.join(', ')}); repeatable`, collect)
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(async (rockName: string, flags: Flags & { suffix?: string; package?: string[]; workaround?: string[]; output?: string }, cmd: Command) => {
      const target = parseTargetFlags(flags);
      const suffix = flags.suffix === undefined ? undefined : validateSuffix(flags.suffix);
      const packages = parsePackages(flags.package);
      const workarounds = parseWorkaroundFlag(flags.workaround);
      const settings = await env.settings(cmd.optsWithGlobals());
      const out = env.output(false);
      const set = await loadBranchRocks(openUpstream(settings, env.stderr), target.release);
      const rock = requireRock(set, rockName);
      const outcome = patchRockcraft(rock.document, rock.name, set.branch, {
        release: target.release,
        series: target.series,
        pocket: target.pocket,
        ppas: target.ppas,
        suffix,
        packages,
        workarounds,
      });
      for (const n of outcome.notes) note(out, n);
      for (const change of outcome.changes) env.stderr.write(`patched ${change}\n`);
      const files = Object.keys(outcome.files);
      if (files.length > 0) note(out, `the build directory also needs: ${files.join(', ')} (written by heliostat build)`);
      if (flags.output) await writeAtomically(resolve(env.cwd, flags.output), outcome.yaml);
      else out.stdout.write(outcome.yaml);
    });

  registerRocksFor(rocks, env);
}

function parseWorkaroundFlag(values: string[] | undefined): 'auto' | 'none' | string[] {
  if (!values || values.length === 0 || (values.length === 1 && values[0] === 'auto')) return 'auto';
  if (values.length === 1 && values[0] === 'none') return 'none';
  for (const id of values) {
    if (!WORKAROUND_IDS.includes(id)) throw new UsageError(`unknown workaround '${id}'; known workarounds: ${WORKAROUND_IDS.join(', ')}`);
  }
  return values;
}

async function writeAtomically(path: string, content: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    await writeFile(tmp, content, { flag: 'wx' });
  } catch (error) {
    throw new UsageError(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  await rename(tmp, path);
}
