// The charm run as Juju runs it: the hook shims with Juju's environment, the stand-in hook tools
// and systemctl first on PATH, and the unit's state in a JSON file inspected after each hook.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { resolveControllerConfig } from '../../src/controller/config.js';
import { emptyHookState, ensureHookToolsBuilt, HOOK_STATE_ENV, HOOK_TOOLS_BIN_DIR, readHookState, REPO_ROOT, writeHookState, type HookState } from '../fixtures/hook-tools/standin.js';

let dir: string;
let stateFile: string;
let dataDir: string;
let unitDir: string;

beforeAll(() => ensureHookToolsBuilt(), 120_000);
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'heliostat-charm-'));
  stateFile = join(dir, 'state.json');
  dataDir = join(dir, 'data');
  unitDir = join(dir, 'systemd');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const defaults = { release: '', components: '', ppa: '', pocket: 'updates', pin: 'latest', attach: false, 'reference-releases': '', schedule: '', model: 'openstack', registry: '', 'registry-namespace': '', 'retention-days': 0, 'build-concurrency': 1, 'extra-trains': '' };

function update(fn: (s: HookState) => void): HookState {
  const s = existsSync(stateFile) ? readHookState(stateFile) : emptyHookState();
  fn(s);
  writeHookState(stateFile, s);
  return s;
}

function hook(name: string, extra: Record<string, string> = {}): HookState {
  const env: Record<string, string> = {
    PATH: `${HOOK_TOOLS_BIN_DIR}:${process.env['PATH'] ?? ''}`,
    HOME: dir,
    CHARM_DIR: REPO_ROOT,
    JUJU_CHARM_DIR: REPO_ROOT,
    JUJU_HOOK_NAME: name,
    JUJU_DISPATCH_PATH: `hooks/${name}`,
    JUJU_UNIT_NAME: 'heliostat/0',
    JUJU_MODEL_NAME: 'ops',
    JUJU_MODEL_UUID: '00000000-0000-4000-8000-000000000000',
    JUJU_CONTEXT_ID: `heliostat/0-${name}-1`,
    JUJU_VERSION: '3.6.8',
    [HOOK_STATE_ENV]: stateFile,
    HELIOSTAT_CHARM_DATA_DIR: dataDir,
    HELIOSTAT_SYSTEMD_DIR: unitDir,
    ...extra,
  };
  execFileSync(join(REPO_ROOT, 'hooks', name), [], { env, stdio: 'pipe' });
  return readHookState(stateFile);
}

const relationEnv = { JUJU_RELATION: 's3-credentials', JUJU_RELATION_ID: 's3-credentials:7', JUJU_REMOTE_APP: 's3-integrator', JUJU_REMOTE_UNIT: 's3-integrator/0' };
const lastStatus = (s: HookState) => s.statuses.at(-1);
const rendered = () => parse(readFileSync(join(dataDir, 'heliostat.yaml'), 'utf8')) as Record<string, unknown>;

describe('charm hooks', { timeout: 60_000 }, () => {
  it('install → config-changed → s3 relation → update-status leaves a serving controller', async () => {
    update((s) => {
      s.config = { ...defaults };
    });
    hook('install');
    expect(existsSync(join(dataDir, 'heliostat.yaml'))).toBe(true);
    let s = hook('config-changed');
    update((st) => {
      st.relations['s3-credentials'] = [{ id: 's3-credentials:7', remoteApp: 's3-integrator', units: ['s3-integrator/0'], data: {} }];
    });
    s = hook('s3-credentials-relation-joined', relationEnv);
    expect(s.relations['s3-credentials']?.[0]?.data['heliostat']).toMatchObject({ bucket: 'heliostat' });
    expect(lastStatus(s)).toEqual({ state: 'waiting', message: 'waiting for s3 credentials' });
    update((st) => {
      const rel = st.relations['s3-credentials']?.[0];
      if (rel) rel.data['s3-integrator'] = { 'lib-version': '1.0', 'secret-extra': 'secret:s3extra', bucket: 'heliostat', endpoint: 'https://s3.example.com', region: 'us-east-1', path: '', 's3-uri-style': 'path' };
      st.secrets['secret:s3extra'] = { 'access-key': 'AKIAEXAMPLE', 'secret-key': 'verysecretkey' };
    });
    hook('s3-credentials-relation-changed', relationEnv);
    s = hook('update-status');

    const doc = rendered();
    const config = await resolveControllerConfig(doc, { baseDir: dataDir, env: {} });
    expect(config.mirror.spec).toBe('s3://heliostat');
    expect(config.mirror.s3.accessKey).toBe('AKIAEXAMPLE');
    const unit = readFileSync(join(unitDir, 'heliostat.service'), 'utf8');
    expect(unit).toContain(`ExecStart=${process.execPath} ${REPO_ROOT}/dist/src/cli/main.js serve --config ${dataDir}/heliostat.yaml`);
    expect(s.ports).toEqual(['8080/tcp']);
    expect(lastStatus(s)?.state).toBe('active');
    expect(lastStatus(s)?.message).toContain('s3 mirror');
    // The unit is enabled once; later config changes reload; update-status with nothing new does nothing.
    expect(s.systemctl[0]).toEqual(['daemon-reload']);
    expect(s.systemctl[1]).toEqual(['enable', '--now', 'heliostat.service']);
    expect(s.systemctl.slice(2).every((c) => c[0] === 'reload')).toBe(true);
    const calls = s.systemctl.length;
    s = hook('update-status');
    expect(s.systemctl.length).toBe(calls);
  });

  it('a juju config of components, ppa and release shows up as the operator train and reloads the service', () => {
    update((s) => {
      s.config = { ...defaults };
    });
    hook('install');
    update((s) => {
      s.config = { ...defaults, components: 'cinder', ppa: 'ppa:a/b', release: 'caracal' };
    });
    const s = hook('config-changed');
    expect(rendered()['trains']).toEqual([{ name: 'operator', release: 'caracal', components: ['cinder'], ppas: ['ppa:a/b'], pocket: 'updates', attach: false, pin: 'latest' }]);
    expect(s.systemctl.at(-1)).toEqual(['reload', 'heliostat.service']);
    expect(lastStatus(s)).toEqual({ state: 'active', message: 'serving on :8080; 1 train; local mirror' });
  });

  it('a bad ppa blocks with the option named and keeps the previous configuration', () => {
    update((s) => {
      s.config = { ...defaults, components: 'cinder', ppa: 'ppa:a/b', release: 'caracal' };
    });
    hook('install');
    const before = readFileSync(join(dataDir, 'heliostat.yaml'), 'utf8');
    update((s) => {
      s.config = { ...defaults, components: 'cinder', ppa: 'not:a:ppa:at:all', release: 'caracal' };
    });
    let s = hook('config-changed');
    expect(lastStatus(s)).toEqual({ state: 'blocked', message: 'ppa: invalid PPA "not:a:ppa:at:all": expected ppa:<owner>/<name>[:<priority>]' });
    expect(readFileSync(join(dataDir, 'heliostat.yaml'), 'utf8')).toBe(before);
    const calls = s.systemctl.length;
    s = hook('update-status');
    expect(lastStatus(s)?.state).toBe('blocked');
    expect(s.systemctl.length).toBe(calls);
  });

  it('runs through node dist/charm/main.js with JUJU_DISPATCH_PATH only', () => {
    update((s) => {
      s.config = { ...defaults, 'reference-releases': 'caracal' };
    });
    execFileSync(process.execPath, [join(REPO_ROOT, 'dist/charm/main.js')], {
      env: { PATH: `${HOOK_TOOLS_BIN_DIR}:${process.env['PATH'] ?? ''}`, CHARM_DIR: REPO_ROOT, JUJU_DISPATCH_PATH: 'hooks/install', JUJU_UNIT_NAME: 'heliostat/0', [HOOK_STATE_ENV]: stateFile, HELIOSTAT_CHARM_DATA_DIR: dataDir, HELIOSTAT_SYSTEMD_DIR: unitDir },
      stdio: 'pipe',
    });
    expect(rendered()['reference']).toEqual({ releases: ['caracal'] });
    expect(lastStatus(readHookState(stateFile))?.state).toBe('active');
  });
});

describe('charm hooks, stop', { timeout: 60_000 }, () => {
  it('stop disables the service', () => {
    update((s) => {
      s.config = { ...defaults };
    });
    const s = hook('stop');
    expect(s.systemctl).toEqual([['disable', '--now', 'heliostat.service']]);
  });
});
