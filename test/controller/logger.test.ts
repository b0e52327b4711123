// The controller's JSON logs never carry a secret: fields named like secrets are redacted, and a
// configured secret value is scrubbed wherever it appears (a message, an error, a nested field).
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/controller/logger.js';

describe('controller logger', () => {
  it('redacts secret fields and scrubs secret values from every line', () => {
    const lines: string[] = [];
    let secrets = ['s3cr3t-token-value-1234'];
    const logger = createLogger({ level: 'info', secrets: () => secrets, destination: { write: (line: string) => void lines.push(line) } });
    logger.info({ token: 'anything', registry: { password: 'pw-in-object' }, req: { headers: { authorization: 'Bearer abc' } } }, 'starting');
    logger.error({ err: new Error('upstream said s3cr3t-token-value-1234 is wrong') }, 'failed with s3cr3t-token-value-1234');
    secrets = ['rotated-secret-after-reload'];
    logger.warn({ detail: { nested: { value: 'rotated-secret-after-reload' } } }, 'after reload');
    const text = lines.join('');
    for (const secret of ['anything', 'pw-in-object', 'Bearer abc', 's3cr3t-token-value-1234', 'rotated-secret-after-reload']) expect(text).not.toContain(secret);
    const [first, second] = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ msg: 'starting', token: '[redacted]', registry: { password: '[redacted]' }, req: { headers: { authorization: '[redacted]' } } });
    expect(second).toMatchObject({ msg: 'failed with [redacted]', err: { message: 'upstream said [redacted] is wrong' } });
  });
});
