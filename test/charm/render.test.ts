import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CharmConfigError, renderControllerConfig, type RenderInput } from '../../charm/render.js';
import { resolveControllerConfig } from '../../src/controller/config.js';

const DATA = '/var/lib/heliostat';
const base = { release: 'caracal', components: 'cinder nova', ppa: 'ppa:a/b', pocket: 'updates', pin: 'latest', attach: false, model: 'openstack', 'build-concurrency': 1, 'retention-days': 0 };
const noSecrets = (): Record<string, string> => {
  throw new Error('no such secret');
};
const render = (options: Record<string, unknown>, extra: Partial<RenderInput> = {}) => renderControllerConfig({ options, secretGet: noSecrets, dataDir: DATA, ...extra });

function errorOf(fn: () => unknown): CharmConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CharmConfigError) return error;
    throw error;
  }
  throw new Error('expected a CharmConfigError');
}

describe('renderControllerConfig', () => {
  it('renders the flat options as the operator train and the reference releases', async () => {
    const r = render({ ...base, schedule: '0 2 * * *', attach: true, 'reference-releases': 'caracal epoxy', registry: 'registry.example.com:5000', 'registry-namespace': 'rocks', 'retention-days': 30, 'build-concurrency': 2 });
    expect(r.document.trains).toEqual([{ name: 'operator', release: 'caracal', components: ['cinder', 'nova'], ppas: ['ppa:a/b'], pocket: 'updates', attach: true, pin: 'latest', buildOnChange: true, schedule: '0 2 * * *' }]);
    expect(r.document.reference).toEqual({ releases: ['caracal', 'epoxy'] });
    const config = await resolveControllerConfig(parse(r.text), { baseDir: DATA, env: {} });
    expect(config.trains.map((t) => t.name)).toContain('operator');
    expect(config.trains.map((t) => t.name)).toContain('reference');
    expect(config.concurrency.builds).toBe(2);
    expect(config.retention).toEqual({ keepDays: 30 });
    expect(config.registry?.host).toBe('registry.example.com:5000');
  });

  it('renders no operator train once components are cleared, whatever ppa and release still say', () => {
    expect(render({ ...base, attach: true, components: '' }).document.trains).toBeUndefined();
    expect(errorOf(() => render({ ...base, components: '', ppa: 'ppa:bad;rm' })).option).toBe('ppa');
  });

  it('renders the operator train on the Kubernetes Job builder, which needs the s3 relation and an image', async () => {
    const s3 = { bucket: 'heliostat', 'access-key': 'AKIAEXAMPLE', 'secret-key': 'secret-example-key', endpoint: 'http://rgw.example:7480' };
    const kube = { ...base, builder: 'kubernetes', 'kubernetes-builder': '{image: registry.example.com/rockcraft-builder:1, namespace: builds}' };
    const r = render(kube, { s3 });
    expect(r.document.trains?.[0]).toMatchObject({ name: 'operator', builder: 'kubernetes' });
    const config = await resolveControllerConfig(parse(r.text), { baseDir: DATA, env: {} });
    expect(config.kubernetesTrains).toEqual(['operator/2024.1/noble']);
    expect(errorOf(() => render(kube)).option).toBe('builder');
    expect(errorOf(() => render({ ...kube, 'kubernetes-builder': '' }, { s3 })).option).toBe('kubernetes-builder');
    expect(errorOf(() => render({ ...kube, 'kubernetes-builder': '[a, b]' }, { s3 })).message).toContain('expected a YAML mapping');
    expect(errorOf(() => render({ ...base, builder: 'docker' })).message).toBe('builder: invalid builder "docker": expected local or kubernetes');
    expect(render(base).document.trains?.[0]).not.toHaveProperty('builder');
  });

  it('names the unknown release it was given', () => {
    const error = errorOf(() => render({ ...base, release: 'bobcatt' }));
    expect(error.option).toBe('release');
    expect(error.message).toContain('"bobcatt"');
  });

  it('renders no train without a release', async () => {
    const r = render({ model: 'openstack' });
    expect(r.document.trains).toBeUndefined();
    await expect(resolveControllerConfig(parse(r.text), { baseDir: DATA, env: {} })).resolves.toBeDefined();
  });

  it.each([
    [{ ppa: 'nonsense:x:y:z' }, 'ppa', /invalid PPA/],
    [{ release: 'bogus' }, 'release', /unknown OpenStack release/],
    [{ pocket: 'security' }, 'pocket', /updates or proposed/],
    [{ pin: 'nope!' }, 'pin', /./],
    [{ schedule: 'every day' }, 'schedule', /cron/],
    [{ components: 'Not_A_Package' }, 'components', /./],
    [{ model: 'Bad Model' }, 'model', /./],
    [{ 'reference-releases': 'bogus' }, 'reference-releases', /unknown OpenStack release/],
    [{ registry: 'bad host/x' }, 'registry', /./],
    [{ 'retention-days': -1 }, 'retention-days', /./],
    [{ 'build-concurrency': 99 }, 'build-concurrency', /./],
    [{ 'extra-trains': '[: bad' }, 'extra-trains', /YAML/],
    [{ 'extra-trains': '- {name: x, release: bogus}' }, 'extra-trains', /release/],
    [{ release: '', components: 'cinder' }, 'release', /required/],
  ])('rejects %j naming the option', (patch, option, why) => {
    const error = errorOf(() => render({ ...base, ...patch }));
    expect(error.option).toBe(option);
    expect(error.message.startsWith(`${option}: `)).toBe(true);
    expect(error.reason).toMatch(why);
  });

  it('names the bad value of a PPA', () => {
    expect(errorOf(() => render({ ...base, ppa: 'ppa:a/b bad:x:y:z' })).message).toBe('ppa: invalid PPA "bad:x:y:z": expected ppa:<owner>/<name>[:<priority>]');
  });

  it('reads the s3 v0 flat databag', async () => {
    const bag = { 'access-key': 'AKIAEXAMPLE', 'secret-key': 'secretsecret', bucket: 'rocks', endpoint: 'https://s3.example.com', region: 'us-east-1', path: '/heliostat/', 's3-uri-style': 'path', 'tls-ca-chain': '["-----BEGIN CERTIFICATE-----\\nAAA\\n-----END CERTIFICATE-----"]' };
    const r = render(base, { s3: bag });
    expect(r.document.mirror).toEqual({ store: 's3://rocks/heliostat', s3: { accessKey: 'AKIAEXAMPLE', secretKey: 'secretsecret', endpoint: 'https://s3.example.com', region: 'us-east-1', pathStyle: true, caFile: `${DATA}/s3-ca.pem` } });
    expect(r.files[`${DATA}/s3-ca.pem`]).toContain('BEGIN CERTIFICATE');
    const config = await resolveControllerConfig(parse(r.text), { baseDir: DATA, env: {} });
    expect(config.mirror.spec).toBe('s3://rocks/heliostat');
    expect(config.mirror.s3.accessKey).toBe('AKIAEXAMPLE');
  });

  it('reads the s3 v1 databag, the keys from the secret-extra secret', () => {
    const bag = { 'lib-version': '1.0', 'secret-extra': 'secret://uuid/abc', bucket: 'rocks', endpoint: 'https://s3.example.com', region: 'us-east-1', path: '', 's3-uri-style': 'host' };
    const secretGet = (id: string) => {
      expect(id).toBe('secret://uuid/abc');
      return { 'access-key': 'AKIAV1', 'secret-key': 'v1secret' };
    };
    const r = render(base, { s3: bag, secretGet });
    expect(r.document.mirror).toEqual({ store: 's3://rocks', s3: { accessKey: 'AKIAV1', secretKey: 'v1secret', endpoint: 'https://s3.example.com', region: 'us-east-1', pathStyle: false } });
  });

  it('leaves the mirror alone until the s3 provider has sent credentials', () => {
    expect(render(base, { s3: { bucket: 'rocks' } }).document.mirror).toBeUndefined();
  });

  it('resolves the secret-typed options', async () => {
    const secrets: Record<string, Record<string, string>> = {
      'secret:reg': { username: 'robot', password: 'pw' },
      'secret:kube': { kubeconfig: 'apiVersion: v1\n' },
      'secret:tok': { token: '0123456789abcdef0123' },
      'secret:juju': { controllers: 'controllers:\n  a: {}\n  b: {}\n', accounts: 'controllers:\n  a: {user: admin}\n', controller: 'a' },
    };
    const secretGet = (id: string) => secrets[id] ?? {};
    const r = render({ ...base, registry: 'registry.example.com', 'registry-credentials': 'secret:reg', kubeconfig: 'secret:kube', 'api-token': 'secret:tok', 'juju-credentials': 'secret:juju' }, { secretGet });
    expect(r.document.registry).toMatchObject({ username: 'robot', password: 'pw' });
    expect(r.document.kubeconfig).toBe(`${DATA}/kubeconfig`);
    expect(r.files[`${DATA}/kubeconfig`]).toBe('apiVersion: v1\n');
    expect(r.files[`${DATA}/juju/accounts.yaml`]).toBe('controllers:\n  a: {user: admin}\n');
    expect(r.document.juju).toEqual({ model: 'openstack', dataDir: `${DATA}/juju`, controller: 'a' });
    expect(errorOf(() => render({ ...base, 'juju-credentials': 'secret:juju' }, { secretGet: () => ({ ...secrets['secret:juju'], controller: 'c' }) })).message).toBe('juju-credentials: controller "c" is not in the "controllers" key (it has a, b)');
    const config = await resolveControllerConfig(parse(r.text), { baseDir: DATA, env: {} });
    expect(config.http.writeTokens).toEqual([{ name: 'juju', token: '0123456789abcdef0123' }]);
    expect(errorOf(() => render({ ...base, 'api-token': 'secret:missing' }, { secretGet })).message).toBe('api-token: the secret has no "token" key');
  });
});
