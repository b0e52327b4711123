// What a command needs from the outside world, injected so tests can run the CLI in-process.
import type { Writable } from 'node:stream';
import type { Output } from './output.js';
import { resolveSettings, type GlobalFlags, type Settings } from './settings.js';

export interface CliEnv {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  cwd: string;
  output(json?: boolean): Output;
  settings(flags: GlobalFlags): Promise<Settings>;
}

export function makeCliEnv(stdout: Writable, stderr: Writable, env: NodeJS.ProcessEnv, cwd: string): CliEnv {
  return {
    stdout,
    stderr,
    env,
    cwd,
    output: (json) => ({ json: json ?? false, stdout, stderr }),
    settings: (flags) => resolveSettings(flags, env, cwd),
  };
}
