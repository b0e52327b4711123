import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureService, plannedCalls, renderUnit, restartNeeded, writeIfChanged } from '../../charm/service.js';

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
    expect(plannedCalls({ unitChanged: false, configChanged: true, restartNeeded: true, existed: true })).toEqual([['restart', 'heliostat.service']]);
  });

  it('restarts for a new mirror store, data dir or listen address, and reloads for the rest', () => {
    const base = 'listen: 0.0.0.0:8080\ndataDir: /data\ntrains: []\n';
    expect(restartNeeded(base, `${base}mirror:\n  store: s3://heliostat\n`)).toBe(true);
    expect(restartNeeded(base, base.replace('8080', '8081'))).toBe(true);
    expect(restartNeeded(base, base.replace('/data', '/srv'))).toBe(true);
    expect(restartNeeded(base, base.replace('trains: []', 'trains:\n  - name: operator\n    release: caracal'))).toBe(false);
    expect(restartNeeded(base, base)).toBe(false);
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
