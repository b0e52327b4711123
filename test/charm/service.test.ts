import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureService, plannedCalls, renderUnit, writeIfChanged } from '../../charm/service.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'heliostat-service-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the controller service', () => {
  it('plans systemctl calls only for what changed', () => {
    expect(plannedCalls({ unitChanged: true, configChanged: true, existed: false })).toEqual([['daemon-reload'], ['enable', '--now', 'heliostat.service']]);
    expect(plannedCalls({ unitChanged: true, configChanged: false, existed: true })).toEqual([['daemon-reload'], ['enable', '--now', 'heliostat.service'], ['restart', 'heliostat.service']]);
    expect(plannedCalls({ unitChanged: false, configChanged: true, existed: true })).toEqual([['reload', 'heliostat.service']]);
    expect(plannedCalls({ unitChanged: false, configChanged: false, existed: true })).toEqual([]);
  });

  it('writes the unit once and reloads on a config change', async () => {
    const paths = { charmDir: '/charm', configFile: '/data/heliostat.yaml', unitDir: dir, node: '/usr/bin/node', dataDir: '/data' };
    const calls: string[][] = [];
    const run = (args: string[]) => {
      calls.push(args);
      return Promise.resolve();
    };
    await ensureService(paths, true, run);
    await ensureService(paths, false, run);
    await ensureService(paths, true, run);
    expect(calls).toEqual([['daemon-reload'], ['enable', '--now', 'heliostat.service'], ['reload', 'heliostat.service']]);
    const unit = readFileSync(join(dir, 'heliostat.service'), 'utf8');
    expect(unit).toBe(renderUnit(paths));
    expect(unit).toContain('ExecStart=/usr/bin/node /charm/dist/src/cli/main.js serve --config /data/heliostat.yaml');
    expect(unit).toContain('ExecReload=/bin/kill -HUP $MAINPID');
  });

  it('writes a file only when its content changes, with the mode asked', async () => {
    const file = join(dir, 'sub', 'secret.yaml');
    expect(await writeIfChanged(file, 'a: 1\n', 0o600)).toBe(true);
    expect(await writeIfChanged(file, 'a: 1\n', 0o600)).toBe(false);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await writeIfChanged(file, 'a: 2\n', 0o600)).toBe(true);
  });
});
