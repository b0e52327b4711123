import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { makeCliEnv } from '../../src/cli/env.js';
import { buildProgram } from '../../src/cli/program.js';
import { cliReference } from '../../src/cli/reference.js';

describe('CLI reference', () => {
  it('is generated from the commander definitions and kept in docs/cli-reference.md', async () => {
    const program = buildProgram(makeCliEnv(new PassThrough(), new PassThrough(), {}, '/'));
    const text = cliReference(program);
    for (const command of ['heliostat rocks patch', 'heliostat build', 'heliostat mirror pull', 'heliostat attach', 'heliostat manifest']) {
      expect(text).toContain(`## \`${command}`);
    }
    await expect(text).toMatchFileSnapshot('../../docs/cli-reference.md');
  });
});
