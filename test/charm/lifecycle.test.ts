// The issue's "done when", against a real controller: install → config-changed → s3 relation (a
// real S3 server, Ceph RGW) → start → update-status leaves a configuration `heliostat serve`
// accepts, a service unit, an open port and an active status from the running controller; a
// config-changed with an operator train reaches the running controller (systemd's reload is
// SIGHUP); a bad ppa blocks and keeps the configuration the controller runs with.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveControllerConfig } from '../../src/controller/config.js';
import { RGW_SKIP_REASON } from '../setup/rgw.js';
import { ServeProcess } from '../controller/serve-process.js';
import { waitFor } from '../controller/harness.js';
import { ensureHookToolsBuilt, REPO_ROOT } from '../fixtures/hook-tools/standin.js';
import { s3RelationEnv, TestUnit } from './unit.js';

const rgw = inject('rgw');

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.skipIf(!rgw)(`the charm beside a running controller${rgw ? '' : ` (${RGW_SKIP_REASON})`}`, { timeout: 180_000 }, () => {
  let unit: TestUnit;
  let serve: ServeProcess | undefined;
  let port: number;
  const bucket = `heliostat-charm-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    ensureHookToolsBuilt();
    unit = new TestUnit();
    port = await freePort();
  }, 120_000);
  afterAll(async () => {
    serve?.signal('SIGTERM');
    await serve?.exited;
    unit?.remove();
  });

  const trains = async () => ((await (await fetch(`http://127.0.0.1:${port}/api/v1/trains`)).json()) as { trains: Array<{ name: string; release: string }> }).trains;

  it('install → config-changed → s3 relation → start → update-status serves and reports active', async () => {
    if (!rgw) return;
    unit.config({ port });
    await unit.hook('install');
    await unit.hook('config-changed');
    unit.update((s) => {
      s.relations['s3-credentials'] = [{ id: 's3-credentials:7', remoteApp: 's3-integrator', units: ['s3-integrator/0'], data: {} }];
    });
    await unit.hook('s3-credentials-relation-joined', s3RelationEnv);
    unit.update((s) => {
      const rel = s.relations['s3-credentials']?.[0];
      if (rel) rel.data['s3-integrator'] = { 'lib-version': '1.0', 'secret-extra': 'secret:s3extra', bucket, endpoint: rgw.endpoint, region: rgw.region, path: 'rocks', 's3-uri-style': 'path' };
      s.secrets['secret:s3extra'] = { 'access-key': rgw.accessKey, 'secret-key': rgw.secretKey };
    });
    await unit.hook('s3-credentials-relation-changed', s3RelationEnv);
    let s = await unit.hook('start');
    expect(s.ports).toEqual([`${port}/tcp`]);
    expect(s.systemctl.slice(0, 2)).toEqual([['daemon-reload'], ['enable', '--now', 'heliostat.service']]);

    const config = await resolveControllerConfig(unit.rendered(), { baseDir: unit.dataDir, env: {} });
    expect(config.mirror.spec).toBe(`s3://${bucket}/rocks`);
    const unitFile = readFileSync(join(unit.unitDir, 'heliostat.service'), 'utf8');
    const exec = /^ExecStart=(\S+) (\S+) (serve --config \S+)$/m.exec(unitFile);
    expect(exec?.[3]).toBe(`serve --config ${unit.configFile}`);

    // What systemd does for `enable --now`: the unit's command, here through the test entry of serve.
    serve = new ServeProcess(['--config', unit.configFile], { ...process.env, HOME: unit.dataDir }, unit.dataDir);
    await serve.ready();
    s = await unit.hook('update-status');
    expect(s.statuses.at(-1)).toEqual({ state: 'active', message: `0 trains; last build none yet; s3 mirror on :${port}` });
    expect(s.version).toBe((JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version);
  });

  it('juju config components=cinder ppa=ppa:a/b release=caracal shows up as a train in the controller', async () => {
    if (!rgw || !serve) return;
    unit.config({ port, components: 'cinder', ppa: 'ppa:a/b', release: 'caracal' });
    const s = await unit.hook('config-changed');
    expect(s.systemctl.at(-1)).toEqual(['reload', 'heliostat.service']);
    serve.signal('SIGHUP');
    const found = await waitFor('the operator train', async () => (await trains()).find((t) => t.name === 'operator'));
    expect(found.release).toBe('2024.1');
    expect((await unit.hook('update-status')).statuses.at(-1)).toEqual({ state: 'active', message: `1 train; last build none yet; s3 mirror on :${port}` });
  });

  it('a bad ppa blocks with a clear message and keeps the configuration the controller runs', async () => {
    if (!rgw || !serve) return;
    const before = readFileSync(unit.configFile, 'utf8');
    unit.config({ port, components: 'cinder', ppa: 'not:a:ppa:at:all', release: 'caracal' });
    const s = await unit.hook('config-changed');
    expect(s.statuses.at(-1)).toEqual({ state: 'blocked', message: 'ppa: invalid PPA "not:a:ppa:at:all": expected ppa:<owner>/<name>[:<priority>]' });
    expect(readFileSync(unit.configFile, 'utf8')).toBe(before);
    expect(s.systemctl.at(-1)).toEqual(['reload', 'heliostat.service']);
    expect((await trains()).map((t) => t.name)).toEqual(['operator']);
  });

  it('show-build reads the mirror through the running controller', async () => {
    if (!rgw || !serve) return;
    const a = await unit.action('show-build', { ref: 'operator/caracal/jammy/latest' });
    expect(a.failed).toBe('no train operator; trains: (none)');
    expect(a.results).toEqual({});
  });
});
