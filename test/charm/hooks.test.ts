// The charm's hooks run as Juju runs them (see unit.ts), each test asserting the unit's state after
// them: rendered configuration and side files, systemctl calls, relation databags, statuses.
import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveControllerConfig } from '../../src/controller/config.js';
import { ensureHookToolsBuilt, REPO_ROOT } from '../fixtures/hook-tools/standin.js';
import { s3RelationEnv, TestUnit } from './unit.js';

let unit: TestUnit;
beforeAll(() => ensureHookToolsBuilt(), 120_000);
beforeEach(() => {
  unit = new TestUnit();
});
afterEach(() => unit.remove());

const peerEnv = (id = 'heliostat-peers:1') => ({ JUJU_RELATION: 'heliostat-peers', JUJU_RELATION_ID: id, JUJU_REMOTE_APP: 'heliostat', JUJU_REMOTE_UNIT: 'heliostat/1' });
const metricsEnv = { JUJU_RELATION: 'metrics-endpoint', JUJU_RELATION_ID: 'metrics-endpoint:4', JUJU_REMOTE_APP: 'prometheus', JUJU_REMOTE_UNIT: 'prometheus/0' };
const NOT_ANSWERING = /^waiting for the controller service to answer on :8080/;

describe('install', { timeout: 60_000 }, () => {
  it('installs what is missing once, and the registry when it is local', async () => {
    unit.update((s) => {
      s.snaps = ['lxd'];
      s.debs = [];
      s.config = { ...s.config, registry: 'localhost:5000' };
    });
    let s = await unit.hook('install');
    expect(s.snaps).toEqual(['lxd', 'rockcraft', 'juju']);
    expect(s.debs?.sort()).toEqual(['docker-registry', 'skopeo']);
    expect(s.calls.filter((c) => c[0] === 'snap' && c[1] === 'install')).toEqual([['snap', 'install', 'rockcraft', '--classic'], ['snap', 'install', 'juju', '--channel=3.6/stable']]);
    const calls = s.calls.length;
    s = await unit.hook('install');
    expect(s.calls.slice(calls).filter((c) => ['apt-get', 'lxd'].includes(c[0] ?? '') || (c[0] === 'snap' && c[1] === 'install'))).toEqual([]);
  });

  it('initialises LXD after installing it', async () => {
    unit.update((s) => {
      s.snaps = [];
    });
    const s = await unit.hook('install');
    expect(s.calls).toContainEqual(['lxd', 'init', '--auto']);
  });
});

describe('configuration hooks', { timeout: 60_000 }, () => {
  it('renders the repository, archives and registry options into the controller configuration', async () => {
    unit.config({ 'rocks-repository': 'https://git.example.com/rocks.git', 'ubuntu-archive': 'http://mirror.example.com/ubuntu', 'cloud-archive': 'http://mirror.example.com/uca', 'ppa-archive': 'http://mirror.example.com/ppa', registry: 'registry.example.com:5000', 'registry-tls-verify': false });
    await unit.hook('config-changed');
    const doc = unit.rendered();
    expect(doc['upstream']).toEqual({ url: 'https://git.example.com/rocks.git' });
    expect(doc['archives']).toEqual({ ubuntu: 'http://mirror.example.com/ubuntu', cloud: 'http://mirror.example.com/uca', ppa: 'http://mirror.example.com/ppa' });
    expect(doc['registry']).toMatchObject({ host: 'registry.example.com:5000', tlsVerify: false });
    const config = await resolveControllerConfig(doc, { baseDir: unit.dataDir, env: {} });
    expect(config.registry?.tlsVerify).toBe(false);
  });

  it('a bad archive URL blocks naming the option and keeps the previous configuration', async () => {
    await unit.hook('config-changed');
    const before = readFileSync(unit.configFile, 'utf8');
    unit.config({ 'cloud-archive': 'not a url' });
    const s = await unit.hook('config-changed');
    expect(s.statuses.at(-1)?.state).toBe('blocked');
    expect(s.statuses.at(-1)?.message).toMatch(/^cloud-archive: /);
    expect(readFileSync(unit.configFile, 'utf8')).toBe(before);
  });

  it('juju-credentials become a JUJU_DATA folder the controller uses', async () => {
    const controllers = 'controllers:\n  sunbeam:\n    api-endpoints: ["10.0.0.2:17070"]\n    ca-cert: x\ncurrent-controller: sunbeam\n';
    const accounts = 'controllers:\n  sunbeam:\n    user: admin\n    password: pw\n';
    unit.update((s) => {
      s.secrets['secret:juju'] = { controllers, accounts };
      s.config = { ...s.config, 'juju-credentials': 'secret:juju' };
    });
    await unit.hook('config-changed');
    const dir = join(unit.dataDir, 'juju');
    expect(readFileSync(join(dir, 'controllers.yaml'), 'utf8')).toBe(controllers);
    expect(readFileSync(join(dir, 'accounts.yaml'), 'utf8')).toBe(accounts);
    expect(statSync(join(dir, 'accounts.yaml')).mode & 0o777).toBe(0o600);
    const config = await resolveControllerConfig(unit.rendered(), { baseDir: unit.dataDir, env: {} });
    expect(config.juju).toMatchObject({ dataDir: dir, controller: 'sunbeam', model: 'openstack' });
  });

  it('juju-credentials without accounts block with what is missing', async () => {
    unit.update((s) => {
      s.secrets['secret:juju'] = { controllers: 'controllers:\n  sunbeam: {}\n' };
      s.config = { ...s.config, 'juju-credentials': 'secret:juju' };
    });
    const s = await unit.hook('config-changed');
    expect(s.statuses.at(-1)).toEqual({ state: 'blocked', message: 'juju-credentials: the secret has no "accounts" key' });
  });

  it('attach without credentials to the model blocks, saying how to give them', async () => {
    unit.config({ release: 'caracal', components: 'cinder', attach: true });
    const s = await unit.hook('config-changed');
    expect(s.statuses.at(-1)).toEqual({ state: 'blocked', message: 'attach is on but juju-credentials is not set: juju add-secret, grant it to heliostat, then juju config heliostat juju-credentials=secret:...' });
    // The service runs meanwhile: builds do not need the model.
    expect(s.systemctl[1]).toEqual(['enable', '--now', 'heliostat.service']);
  });

  it('secret-changed re-renders a rotated secret and reloads the service', async () => {
    unit.update((s) => {
      s.secrets['secret:kube'] = { kubeconfig: 'apiVersion: v1\nclusters: []\n' };
      s.config = { ...s.config, kubeconfig: 'secret:kube' };
    });
    await unit.hook('config-changed');
    unit.update((s) => {
      s.secrets['secret:kube'] = { kubeconfig: 'apiVersion: v1\nclusters: [rotated]\n' };
    });
    const s = await unit.hook('secret-changed', { JUJU_SECRET_ID: 'secret:kube', JUJU_SECRET_REVISION: '2' });
    expect(readFileSync(join(unit.dataDir, 'kubeconfig'), 'utf8')).toBe('apiVersion: v1\nclusters: [rotated]\n');
    expect(s.systemctl.at(-1)).toEqual(['reload', 'heliostat.service']);
  });

  it('an s3 relation without credentials yet waits for them, and asks for a bucket', async () => {
    unit.update((s) => {
      s.relations['s3-credentials'] = [{ id: 's3-credentials:7', remoteApp: 's3-integrator', units: ['s3-integrator/0'], data: {} }];
    });
    const s = await unit.hook('s3-credentials-relation-joined', s3RelationEnv);
    expect(s.relations['s3-credentials']?.[0]?.data['heliostat']).toMatchObject({ bucket: 'heliostat' });
    expect(s.statuses.at(-1)).toEqual({ state: 'waiting', message: 'waiting for s3 credentials from the s3-credentials relation' });
    expect(unit.rendered()['mirror']).toBeUndefined();
  });

  it('update-status reports a controller that does not answer, and changes nothing', async () => {
    await unit.hook('config-changed');
    const calls = unit.state().systemctl.length;
    const s = await unit.hook('update-status');
    expect(s.statuses.at(-1)?.state).toBe('maintenance');
    expect(s.statuses.at(-1)?.message).toMatch(NOT_ANSWERING);
    expect(s.systemctl.length).toBe(calls);
  });

  it('stop and remove disable the service', async () => {
    expect((await unit.hook('stop')).systemctl).toEqual([['disable', '--now', 'heliostat.service']]);
    expect((await unit.hook('remove')).systemctl.at(-1)).toEqual(['disable', '--now', 'heliostat.service']);
  });
});

describe('peers', { timeout: 60_000 }, () => {
  it('the leader generates the API token and signing secret once and shares them with its address', async () => {
    unit.update((s) => {
      s.address = '10.1.0.10';
      s.relations['heliostat-peers'] = [{ id: 'heliostat-peers:1', remoteApp: 'heliostat', units: [], data: {} }];
    });
    let s = await unit.hook('leader-elected');
    const bag = s.relations['heliostat-peers']?.[0]?.data['heliostat'] ?? {};
    expect(bag['api-token']).toMatch(/^[0-9a-f]{48}$/);
    expect(bag['signing-secret']).toMatch(/^[0-9a-f]{48}$/);
    expect(bag).toMatchObject({ 'leader-unit': 'heliostat/0', 'leader-url': 'http://10.1.0.10:8080' });
    expect(s.relations['heliostat-peers']?.[0]?.data['heliostat/0']).toEqual({ address: '10.1.0.10' });
    const doc = unit.rendered();
    expect(doc['leader']).toBe(true);
    expect(doc['tokens']).toEqual([{ name: 'juju', token: bag['api-token'] }]);
    expect(doc['signingSecret']).toBe(bag['signing-secret']);
    // Stable across hooks: nothing rewritten, the service not reloaded.
    const sets = s.calls.filter((c) => c[0] === 'relation-set').length;
    s = await unit.hook('heliostat-peers-relation-changed', peerEnv());
    expect(s.calls.filter((c) => c[0] === 'relation-set').length).toBe(sets);
    expect(s.relations['heliostat-peers']?.[0]?.data['heliostat']?.['api-token']).toBe(bag['api-token']);
  });

  it('a unit that is not the leader renders leader: false with the leader\'s token and serves read-only', async () => {
    const other = new TestUnit('heliostat/1');
    other.update((s) => {
      s.leader = false;
      s.address = '10.1.0.11';
      s.relations['heliostat-peers'] = [{ id: 'heliostat-peers:1', remoteApp: 'heliostat', units: ['heliostat/0'], data: { heliostat: { 'api-token': 'a'.repeat(48), 'signing-secret': 'b'.repeat(48), 'leader-unit': 'heliostat/0' }, 'heliostat/0': { address: '10.1.0.10' } } }];
    });
    const s = await other.hook('heliostat-peers-relation-joined', { ...peerEnv(), JUJU_REMOTE_UNIT: 'heliostat/0' });
    const doc = other.rendered();
    expect(doc['leader']).toBe(false);
    expect(doc['tokens']).toEqual([{ name: 'juju', token: 'a'.repeat(48) }]);
    expect(s.relations['heliostat-peers']?.[0]?.data['heliostat/1']).toEqual({ address: '10.1.0.11' });
    // It never writes the application's databag.
    expect(s.calls.filter((c) => c[0] === 'relation-set' && c.includes('--app'))).toEqual([]);
    other.remove();
  });
});

describe('metrics-endpoint', { timeout: 60_000 }, () => {
  it('the leader publishes scrape jobs for every unit, each unit its own address', async () => {
    unit.update((s) => {
      s.address = '10.1.0.10';
      s.relations['heliostat-peers'] = [{ id: 'heliostat-peers:1', remoteApp: 'heliostat', units: ['heliostat/1'], data: { 'heliostat/1': { address: '10.1.0.11' } } }];
      s.relations['metrics-endpoint'] = [{ id: 'metrics-endpoint:4', remoteApp: 'prometheus', units: ['prometheus/0'], data: {} }];
    });
    const s = await unit.hook('metrics-endpoint-relation-joined', metricsEnv);
    const data = s.relations['metrics-endpoint']?.[0]?.data ?? {};
    expect(JSON.parse(data['heliostat']?.['scrape_jobs'] ?? '')).toEqual([{ job_name: 'heliostat', metrics_path: '/metrics', static_configs: [{ targets: ['10.1.0.10:8080', '10.1.0.11:8080'] }] }]);
    expect(JSON.parse(data['heliostat']?.['scrape_metadata'] ?? '')).toEqual({ model: 'ops', model_uuid: '00000000-0000-4000-8000-000000000000', application: 'heliostat', unit: 'heliostat/0', charm_name: 'heliostat' });
    expect(data['heliostat/0']).toEqual({ prometheus_scrape_unit_address: '10.1.0.10', prometheus_scrape_unit_name: 'heliostat/0' });
  });

  it('a unit that is not the leader only publishes its address; broken publishes nothing', async () => {
    unit.update((s) => {
      s.leader = false;
      s.address = '10.1.0.11';
      s.relations['metrics-endpoint'] = [{ id: 'metrics-endpoint:4', remoteApp: 'prometheus', units: ['prometheus/0'], data: {} }];
    });
    let s = await unit.hook('metrics-endpoint-relation-changed', metricsEnv);
    expect(Object.keys(s.relations['metrics-endpoint']?.[0]?.data ?? {})).toEqual(['heliostat/0']);
    const sets = s.calls.filter((c) => c[0] === 'relation-set').length;
    s = await unit.hook('metrics-endpoint-relation-broken', metricsEnv);
    expect(s.calls.filter((c) => c[0] === 'relation-set').length).toBe(sets);
  });
});

describe('dispatch', { timeout: 60_000 }, () => {
  it('every hook shim in hooks/ reaches the charm (an unknown name would fail)', async () => {
    const { readdirSync } = await import('node:fs');
    const hooks = readdirSync(join(REPO_ROOT, 'hooks')).filter((h) => h !== 'README.md');
    expect(hooks).toEqual(expect.arrayContaining(['remove', 'heliostat-peers-relation-broken', 'metrics-endpoint-relation-joined', 's3-credentials-relation-changed']));
    for (const h of ['leader-settings-changed', 'heliostat-peers-relation-departed', 'upgrade-charm']) {
      const s = await unit.hook(h, h.startsWith('heliostat-peers') ? peerEnv() : {});
      expect(s.statuses.at(-1)?.message, h).toMatch(NOT_ANSWERING);
    }
  });
});
