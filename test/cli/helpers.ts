// Runs the built heliostat binary as a user would, capturing stdout, stderr and the exit code.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO_ROOT } from '../fixtures/rockcraft/standin.js';

export const HELIOSTAT_BIN = join(REPO_ROOT, 'dist/src/cli/main.js');

export interface CliResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export async function heliostat(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  if (!existsSync(HELIOSTAT_BIN)) throw new Error(`${HELIOSTAT_BIN} is missing: run 'npm run build' first (npm test does)`);
  const result = await execa(process.execPath, [HELIOSTAT_BIN, ...args], {
    cwd: options.cwd,
    env: { ...options.env, NO_COLOR: '1' },
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
  });
  return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode ?? -1 };
}
