// `heliostat serve`: the long-running controller (schedules, builds, HTTP API, mirror, reconcile).
// `--config FILE` names the controller configuration (YAML); without it the defaults run with an
// fs mirror under the data dir, listening on 127.0.0.1:8080. `--check` validates the file and exits,
// so a charm can refuse a configuration before signalling the running controller to reload it.
import type { Command } from 'commander';
import { describeConfig, loadControllerConfig } from '../../controller/config.js';
import type { CliEnv } from '../env.js';
import { printJson } from '../output.js';

interface ServeFlags {
  config?: string;
  check?: boolean;
  json?: boolean;
}

export function registerServe(program: Command, env: CliEnv): void {
  program
    .command('serve')
    .description('run the controller: scheduled and requested builds, the HTTP API and the mirror (--config: the controller configuration file)')
    .option('--check', 'validate the configuration and exit')
    .option('--json', 'with --check: print the configuration summary as JSON')
    .action(async (_flags: ServeFlags, cmd: Command) => {
      // --config is a global option; for serve it names the controller configuration.
      const flags = cmd.optsWithGlobals<ServeFlags>();
      if (flags.check) {
        const config = await loadControllerConfig(flags.config, { env: env.env, cwd: env.cwd });
        const out = env.output(flags.json);
        if (out.json) printJson(out, describeConfig(config));
        else out.stdout.write(`configuration ${config.source ?? '(defaults)'} is valid: ${config.trains.length} trains\n`);
        return;
      }
      // The controller (Kubernetes client, minio, express) loads only for this command: other
      // commands start in a fraction of the time.
      const { serve } = await import('../../controller/serve.js');
      const running = await serve({ ...(flags.config ? { configPath: flags.config } : {}), env: env.env, cwd: env.cwd, version: program.version() ?? '0.0.0' });
      await running.closed;
    });
}
