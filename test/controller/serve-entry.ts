// The heliostat program as its executable runs it, with `serve` registered: the child-process tests
// start the controller through this entry (compiled on demand by serve-process.ts), so they run the
// real command whether or not the program registers it yet.
import { CommanderError } from 'commander';
import { registerServe } from '../../src/cli/commands/serve.js';
import { makeCliEnv } from '../../src/cli/env.js';
import { buildProgram } from '../../src/cli/program.js';
import { isUsageError } from '../../src/errors.js';

const env = makeCliEnv(process.stdout, process.stderr, process.env, process.cwd());
const program = buildProgram(env);
if (!program.commands.some((c) => c.name() === 'serve')) registerServe(program, env);
try {
  await program.parseAsync(process.argv.slice(2), { from: 'user' });
} catch (error) {
  if (error instanceof CommanderError) process.exitCode = error.exitCode === 0 ? 0 : 2;
  else {
    process.stderr.write(`heliostat: error: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}\n`);
    process.exitCode = isUsageError(error) ? 2 : 1;
  }
}
