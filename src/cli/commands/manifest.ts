// `heliostat manifest`: the Sunbeam manifest pinning the charm channels of a release and risk,
// printed, written, or applied with `sunbeam cluster refresh -m`. `heliostat charms`: which
// charm resource runs which rock, in which containers, under which application names.
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { execa } from 'execa';
import { parseRisk } from '../../catalog/sunbeam-channels.js';
import { charmsForRelease, sunbeamRelease, type CharmResource } from '../../catalog/sunbeam.js';
import { buildManifest } from '../../deploy/manifest.js';
import { UsageError } from '../../errors.js';
import type { CliEnv } from '../env.js';
import { collect } from '../flags.js';
import { note, printRows } from '../output.js';

interface ManifestFlags {
  release: string;
  risk: string;
  feature?: string[];
  output?: string;
  apply?: boolean;
  sunbeam: string;
}

export function registerManifest(program: Command, env: CliEnv): void {
  program
    .command('manifest')
    .description("print a Sunbeam manifest pinning the charm channels Sunbeam's own manifest uses for a release and risk")
    .requiredOption('--release <release>', 'OpenStack release (codename or number) Sunbeam deploys')
    .option('--risk <risk>', 'charm risk: stable, candidate, beta or edge', 'stable')
    .option('--feature <feature>', 'include only this feature (repeatable; default: every feature)', collect)
    .option('-o, --output <file>', 'write the manifest to this file (atomically) instead of stdout')
    .option('--apply', 'then run `sunbeam cluster refresh -m <file>` (needs -o)')
    .option('--sunbeam <path>', 'sunbeam executable for --apply', 'sunbeam')
    .action(async (flags: ManifestFlags) => {
      const risk = parseRisk(flags.risk);
      // sunbeam is a confined snap with a private /tmp: it can only read a file the operator
      // chose (under their home), so --apply never writes a temporary file of its own.
      if (flags.apply && !flags.output) throw new UsageError('--apply needs -o <file>: sunbeam reads the manifest from that file');
      const text = buildManifest({ release: flags.release, risk, features: flags.feature });
      if (!flags.output) {
        env.stdout.write(text);
        return;
      }
      const path = resolve(env.cwd, flags.output);
      await writeAtomically(path, text);
      const out = env.output(false);
      note(out, `wrote ${path}`);
      if (flags.apply) await refresh(flags.sunbeam, path, env);
    });

  program
    .command('charms')
    .description("list a release's Sunbeam charms: each image resource, the rock it runs, its containers and applications")
    .requiredOption('--release <release>', 'OpenStack release (codename or number) Sunbeam deploys')
    .option('--json', 'print JSON')
    .action((flags: { release: string; json?: boolean }) => {
      const { release } = sunbeamRelease(flags.release);
      const rows = charmsForRelease(release).flatMap((c) => c.resources);
      const out = env.output(flags.json);
      if (!out.json && rows.some((r) => r.section === null)) {
        note(out, `charms with section '-' are in the ${release.number} branch but Sunbeam ${release.number} does not deploy them`);
      }
      printRows(
        out,
        rows,
        [
          { header: 'charm', value: (r) => r.charm },
          { header: 'section', value: (r) => r.section ?? '-' },
          { header: 'resource', value: (r) => r.resource },
          { header: 'rock', value: (r) => r.rock ?? `external ${r.image}` },
          { header: 'containers', value: (r) => r.containers?.join(',') ?? '?' },
          { header: 'apps', value: (r) => r.apps.join(',') || '-' },
        ],
        (r: CharmResource) => ({ ...r, external: r.rock === null, release: release.number }),
      );
    });
}

async function writeAtomically(path: string, content: string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, content, { flag: 'wx' });
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw new UsageError(`cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

/** Runs `sunbeam cluster refresh -m <file>`, its output passed through, and reports how it ended. */
async function refresh(executable: string, file: string, env: CliEnv): Promise<void> {
  const args = ['cluster', 'refresh', '-m', file];
  const command = `sunbeam ${args.join(' ')}`;
  // stdin stays the operator's: sunbeam may ask for confirmation.
  const child = execa(executable, args, { env: env.env, extendEnv: false, stdin: 'inherit', buffer: false, reject: false });
  child.stdout?.pipe(env.stdout, { end: false });
  child.stderr?.pipe(env.stderr, { end: false });
  const result = await child;
  if (result.exitCode === 0) {
    note(env.output(false), `${command}: exit 0`);
    return;
  }
  if (result.exitCode !== undefined) throw new Error(`${command} failed with exit code ${result.exitCode}`);
  if (result.signal) throw new Error(`${command} was killed by ${result.signal}`);
  const why = result.code === 'ENOENT' ? 'not found' : result.code === 'EACCES' ? 'not executable' : (result.shortMessage?.split('\n')[0] ?? 'failed');
  throw new Error(`cannot run ${executable}: ${why} (choose the executable with --sunbeam <path>)`);
}
