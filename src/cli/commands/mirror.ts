// `heliostat mirror ...`: list, show, pull, promote, pin, unpin, gc, sync, reindex.
import type { Command } from 'commander';
import type { CliEnv } from '../env.js';

export function registerMirror(program: Command, env: CliEnv): void {
  void env;
  program.command('mirror').description('work with the artifact mirror');
}
