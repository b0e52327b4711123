// The commander program: global options and every command group. Commands stay thin: they parse
// and validate flags, call the library, and print.
import { Command, Option } from 'commander';
import { registerBuild } from './commands/build.js';
import { registerDeploy } from './commands/deploy.js';
import { registerManifest } from './commands/manifest.js';
import { registerRegistry } from './commands/registry.js';
import { registerServe } from './commands/serve.js';
import { registerMirror } from './commands/mirror.js';
import { registerReleases } from './commands/releases.js';
import { registerRocks } from './commands/rocks.js';
import type { CliEnv } from './env.js';
import { cliReference } from './reference.js';

export const VERSION = '0.1.0';

export function buildProgram(env: CliEnv): Command {
  const program = new Command('heliostat')
    .description('Build patched OpenStack rocks, publish them to a mirror and a registry, and reconcile them into Sunbeam.')
    .version(VERSION)
    .option('--rocks-repo <url-or-path>', 'ubuntu-openstack-rocks repository (URL or local path)')
    .option('--cache-dir <dir>', 'cache directory (default: $XDG_CACHE_HOME/heliostat)')
    .option('--offline', 'use the caches as they are; make no network request')
    .option('--config <file>', 'YAML config file with the same settings as these flags')
    .option('--ubuntu-archive <url>', 'Ubuntu archive base URL')
    .option('--cloud-archive <url>', 'Ubuntu Cloud Archive base URL')
    .option('--ppa-archive <url>', 'PPA base URL (Launchpad content host)')
    .addOption(new Option('-v, --verbose', 'log network and git operations on stderr'))
    .showHelpAfterError(false)
    .configureOutput({
      writeOut: (s) => env.stdout.write(s),
      writeErr: (s) => env.stderr.write(s),
    })
    .exitOverride();
  registerReleases(program, env);
  registerRocks(program, env);
  registerBuild(program, env);
  registerMirror(program, env);
  registerManifest(program, env);
  registerDeploy(program, env);
  registerRegistry(program, env);
  registerServe(program, env);
  program
    .command('cli-reference')
    .description('print this CLI reference as Markdown (docs/cli-reference.md is generated from it)')
    .action(() => {
      env.stdout.write(cliReference(program));
    });
  return program;
}
