// The heliostat executable: runs the program and turns errors into one line on stderr and an exit
// code (2 for usage errors, 1 for failures).
import { CommanderError } from 'commander';
import { ReportedFailure, isUsageError } from '../errors.js';
import { makeCliEnv } from './env.js';
import { buildProgram } from './program.js';

const MAX_LINE = 600;

/** The first line of a message, its middle cut when an echoed input made it giant (the hint at the end stays). */
export function oneLine(message: string): string {
  const line = message.split('\n')[0] ?? '';
  return line.length > MAX_LINE ? `${line.slice(0, 300)} … ${line.slice(-200)}` : line;
}

export async function run(argv: readonly string[], env = makeCliEnv(process.stdout, process.stderr, process.env, process.cwd())): Promise<number> {
  const program = buildProgram(env);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof ReportedFailure) return error.exitCode;
    if (error instanceof CommanderError) {
      // commander has already printed its message; help and version are not failures.
      return error.exitCode === 0 ? 0 : 2;
    }
    const message = error instanceof Error ? error.message : String(error);
    env.stderr.write(`heliostat: error: ${oneLine(message)}\n`);
    return isUsageError(error) ? 2 : 1;
  }
}

