// The juju stand-in itself: its JSON has the shapes of the Juju 3.6 reference examples, its errors
// Juju's exact wording and exit codes, flags parse like Juju's, fault injection counts across
// processes, and concurrent attach-resource calls do not lose updates.
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNormalizedNamed } from '../fixtures/juju/reference.js';
import { imageDetailsDocument, sha384 } from '../fixtures/juju/resources.js';
import { ensureJujuStandinBuilt, JUJU_ENV, JUJU_STANDIN, readJujuInvocations, REPO_ROOT } from '../fixtures/juju/standin.js';
import { applicationImages, attachedImage, readState, writeState, type JujuState } from '../fixtures/juju/state.js';
import { SUNBEAM_CONTROLLER, sunbeamModel, sunbeamState } from '../fixtures/juju/sunbeam.js';

type Doc = Record<string, unknown>;
const DATA = join(REPO_ROOT, 'test/fixtures/data');
const reference = (name: string) => JSON.parse(readFileSync(join(DATA, name), 'utf8')) as Doc;
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const REF = `localhost:5000/heliostat/cinder-consolidated@${DIGEST}`;

const root = mkdtempSync(join(tmpdir(), 'heliostat-juju-standin-'));
let counter = 0;
beforeAll(() => ensureJujuStandinBuilt(), 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

function newState(state: JujuState = sunbeamState('2025.1')): string {
  const file = join(root, `state-${++counter}.json`);
  writeState(file, state);
  return file;
}

async function juju(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = await execa(JUJU_STANDIN, args, { env, reject: false, stdin: 'ignore' });
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
}

async function jsonOf(args: string[], env: NodeJS.ProcessEnv): Promise<Doc> {
  const r = await juju(args, env);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Doc;
}

const obj = (v: unknown) => v as Doc;
const keys = (v: unknown) => Object.keys(obj(v));

describe('output shapes match the Juju 3.6 reference examples', () => {
  it('status: top level, model, applications, units and status entries', async () => {
    const state = sunbeamState('2025.1');
    state.controllers[SUNBEAM_CONTROLLER]!.models.openstack!.applications.keystone!.version = '27.0.0';
    const env = { [JUJU_ENV.state]: newState(state) };
    const ours = await jsonOf(['status', '--format=json'], env);
    const ref = reference('juju-status.json');
    expect(keys(ours)).toEqual(keys(ref));
    expect(keys(ours.model)).toEqual(keys(ref.model));
    expect(keys(obj(ours.model)['model-status'])).toEqual(keys(obj(ref.model)['model-status']));
    expect(keys(ours.controller)).toEqual(keys(ref.controller));
    const refApps = obj(ref.applications);
    const apps = obj(ours.applications);
    // keystone has relations, a workload version and bindings, like the reference keystone.
    expect(keys(apps.keystone)).toEqual(keys(refApps.keystone));
    expect(keys(obj(apps.keystone).base)).toEqual(keys(obj(refApps.keystone).base));
    const unit = obj(obj(obj(apps.keystone).units)['keystone/0']);
    const refUnit = obj(obj(obj(refApps.keystone).units)['keystone/0']);
    expect(keys(unit)).toEqual(keys(refUnit));
    expect(keys(unit['workload-status'])).toEqual(keys(refUnit['workload-status']));
    expect(keys(unit['juju-status'])).toEqual(keys(refUnit['juju-status']));
    expect(obj(obj(apps.keystone).relations).peers).toEqual([{ 'related-application': 'keystone', interface: 'keystone-peer', scope: 'global' }]);
    // Every application: the reference's common fields, nothing beyond what Juju prints.
    const common = keys(refApps.cinder).filter((k) => keys(refApps.keystone).includes(k));
    const allowed = new Set([...keys(refApps.keystone), ...keys(refApps.cinder), 'life', 'charm-version', 'can-upgrade-to', 'subordinate-to']);
    for (const [name, app] of Object.entries(apps)) {
      expect(keys(app), name).toEqual(expect.arrayContaining(common));
      for (const k of keys(app)) expect(allowed.has(k), `${name}.${k}`).toBe(true);
    }
    expect(obj(apps.cinder)).toMatchObject({ charm: 'cinder-k8s', 'charm-name': 'cinder-k8s', 'charm-origin': 'charmhub', 'charm-channel': '2025.1/stable' });
    expect(String(obj(obj(apps.keystone)['application-status']).since)).toMatch(/^\d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\dZ$/);
  });

  it('resources: store and upload entries have the reference keys, revision as a string', async () => {
    const env = { [JUJU_ENV.state]: newState() };
    expect((await juju(['attach-resource', 'cinder', `cinder-api-image=${REF}`], env)).code).toBe(0);
    const ours = await jsonOf(['resources', 'cinder', '--format', 'json'], env);
    const ref = reference('juju-resources.json');
    expect(keys(ours)).toEqual(keys(ref));
    const [refUpload, refStore] = ref.resources as Doc[];
    const [upload, store] = ours.resources as Doc[];
    expect(keys(upload)).toEqual(keys(refUpload));
    expect(keys(store)).toEqual(keys(refStore));
    expect(upload).toMatchObject({ resourceid: 'cinder/cinder-api-image', applicationId: 'cinder', name: 'cinder-api-image', type: 'oci-image', path: '', origin: 'upload', used: true, revision: '1', username: 'admin' });
    expect(upload?.fingerprint).toBe(sha384(imageDetailsDocument({ registrypath: REF })));
    expect(upload?.size).toBe(Buffer.byteLength(`registrypath: ${REF}\n`));
    expect(store).toMatchObject({ name: 'cinder-scheduler-image', origin: 'store' });
    expect(store?.revision).toMatch(/^\d+$/);
    expect(String(upload?.timestamp)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  });

  it('config: application, charm, application-config and settings with full option entries', async () => {
    const ours = await jsonOf(['config', 'cinder', '--format=json'], { [JUJU_ENV.state]: newState() });
    const ref = reference('juju-config.json');
    expect(keys(ours)).toEqual(keys(ref));
    const trust = obj(obj(ours['application-config']).trust);
    expect(keys(trust)).toEqual(keys(obj(obj(ref['application-config']).trust)));
    expect(trust).toEqual(obj(obj(ref['application-config']).trust));
    for (const name of ['debug', 'region']) {
      expect(obj(obj(ours.settings)[name])).toEqual(obj(obj(ref.settings)[name]));
    }
  });

  it('models, show-model and version', async () => {
    const env = { [JUJU_ENV.state]: newState() };
    const models = await jsonOf(['models', '--format=json'], env);
    expect(models['current-model']).toBe('openstack');
    expect((models.models as Doc[])[0]).toMatchObject({ name: 'admin/openstack', 'short-name': 'openstack', 'model-type': 'caas', 'controller-name': SUNBEAM_CONTROLLER });
    expect(keys(await jsonOf(['show-model', '--format=json'], env))).toEqual(['openstack']);
    expect((await juju(['version'], env)).stdout).toBe('3.6.8-genericlinux-amd64');
  });
});

describe('Sunbeam states', () => {
  it('name applications as Sunbeam does and hold the charms’ upstream images as store resources', () => {
    const model = sunbeamModel('caracal');
    const apps = model.applications;
    expect(apps.cinder).toMatchObject({ charmName: 'cinder-k8s', channel: '2024.1/stable', base: 'ubuntu@24.04' });
    expect(apps.bind?.charmName).toBe('designate-bind-k8s');
    expect(apps['images-sync']?.charmName).toBe('openstack-images-sync-k8s');
    expect(apps['ovn-central']?.channel).toBe('24.03/stable');
    expect(apps.cinder?.resources['cinder-api-image']).toMatchObject({ origin: 'store', type: 'oci-image', image: 'ghcr.io/canonical/cinder-consolidated:2024.1-24.04_edge' });
    expect(apps.cinder?.containers).toEqual({ 'cinder-api': 'cinder-api-image', 'cinder-scheduler': 'cinder-scheduler-image' });
    expect(apps.horizon?.resources['custom-theme']).toMatchObject({ type: 'file', path: 'theme.tar.gz' });
    expect(apps['openstack-port-cni']?.resources).toEqual({});
    expect(apps['cinder-volume']).toBeUndefined();
    expect(apps.cloudkitty).toBeUndefined(); // no cloudkitty-k8s on stable/2024.1
    expect(sunbeamModel('2025.1').applications.neutron?.resources['neutron-server-image']?.image).toBe('ghcr.io/canonical/neutron-server:2025.1-24.04_edge');
    expect(sunbeamModel('2023.2').applications['cinder-ceph']?.charmName).toBe('cinder-ceph-k8s');
    expect(Object.keys(sunbeamModel('2026.1', { charms: ['keystone-k8s', 'cinder-k8s'] }).applications)).toEqual(['cinder', 'keystone']);
  });

  it('expose the images applications run, following attachments', async () => {
    const file = newState();
    expect(applicationImages(file).cinder).toEqual({
      'cinder-api-image': 'ghcr.io/canonical/cinder-consolidated:2025.1-24.04_edge',
      'cinder-scheduler-image': 'ghcr.io/canonical/cinder-consolidated:2025.1-24.04_edge',
    });
    await juju(['attach-resource', 'cinder', `cinder-scheduler-image=${REF}`], { [JUJU_ENV.state]: file });
    expect(attachedImage(file, 'cinder', 'cinder-scheduler-image', { controller: SUNBEAM_CONTROLLER, model: 'openstack' })).toBe(REF);
  });
});

describe('attach-resource values', () => {
  it('accepts the JSON and YAML image-details files', async () => {
    const file = newState();
    const env = { [JUJU_ENV.state]: file };
    const image = 'registry.example.com/openstack/cinder-consolidated:2025.1-24.04_custom1';
    for (const name of ['oci-image-resource.json', 'oci-image-resource.yaml']) {
      expect(await juju(['attach-resource', 'cinder', `cinder-api-image=${join(DATA, name)}`], env)).toMatchObject({ code: 0, stderr: '' });
      expect(attachedImage(file, 'cinder', 'cinder-api-image')).toBe(image);
    }
    const resource = readState(file).controllers[SUNBEAM_CONTROLLER]!.models.openstack!.applications.cinder!.resources['cinder-api-image'];
    expect(resource).toMatchObject({ revision: 2, fingerprint: sha384(`registrypath: ${image}\nusername: robot\npassword: s3cret\n`) });
  });

  it('validates references like reference.ParseNormalizedNamed', () => {
    const ok = (s: string) => parseNormalizedNamed(s).ok;
    expect(parseNormalizedNamed(`host.example:5000/ns/name@${DIGEST}`)).toEqual({ ok: true, ref: { domain: 'host.example:5000', path: 'ns/name', digest: DIGEST } });
    expect(parseNormalizedNamed('ubuntu')).toEqual({ ok: true, ref: { domain: 'docker.io', path: 'library/ubuntu' } });
    expect(parseNormalizedNamed('ubuntu/bind9:9.18-22.04_beta')).toEqual({ ok: true, ref: { domain: 'docker.io', path: 'ubuntu/bind9', tag: '9.18-22.04_beta' } });
    expect(ok(`localhost/cinder:tag@${DIGEST}`)).toBe(true);
    expect(ok('ghcr.io/canonical/cinder-consolidated:2025.1-24.04_edge')).toBe(true);
    for (const bad of ['', 'Not/Valid', 'ghcr.io/Canonical/x', 'a//b', 'name@sha256:abc', `name@md5:${'a'.repeat(32)}`, `name@sha256:${'A'.repeat(64)}`, 'a'.repeat(64), 'name:-tag', 'name:']) {
      expect(ok(bad), bad).toBe(false);
    }
  });
});

describe('exact errors and exit codes', () => {
  it.each([
    [['attach-resource', 'nope', 'x=y'], 1, 'ERROR application "nope" not found'],
    [['attach-resource', 'cinder', 'cinder-api-image=Not/Valid'], 1, 'ERROR failed to upload resource "cinder-api-image": filepath or registry path: Not/Valid not valid'],
    [['attach-resource', 'cinder', `cinder-volume-image=${REF}`], 1, `ERROR failed to upload resource "cinder-volume-image": open ${REF}: no such file or directory`],
    [['attach-resource', 'cinder'], 2, 'ERROR no resource specified'],
    [['attach-resource'], 2, 'ERROR missing application name'],
    [['attach-resource', 'cinder', 'cinder-api-image'], 2, 'ERROR bad resource arg "cinder-api-image": expected name=path format'],
    [['attach-resource', 'Cinder', 'x=y'], 2, 'ERROR application "Cinder" not valid'],
    [['attach-resource', 'cinder', 'a=b', 'c=d'], 2, 'ERROR unrecognized args: ["c=d"]'],
    [['status', '--bogus'], 2, 'ERROR option provided but not defined: --bogus'],
    [['-x', 'status'], 2, 'ERROR option provided but not defined: -x'],
    [['status', '--format'], 2, 'ERROR flag needs an argument: --format'],
    [['status', '--format=xml'], 2, 'ERROR invalid value "xml" for option --format: unknown format "xml"'],
    [['status', '-m', 'nope'], 1, `ERROR model ${SUNBEAM_CONTROLLER}:admin/nope not found`],
    [['status', '-m', 'other:openstack'], 1, 'ERROR controller other not found'],
    [['resources', 'nope'], 1, 'ERROR application "nope" not found'],
    [['config', 'nope', '--format=json'], 1, 'ERROR application "nope" not found'],
    [['models', '-m', 'openstack'], 2, 'ERROR option provided but not defined: -m'],
    [['frobnicate'], 2, 'ERROR juju: "frobnicate" is not a juju command. See "juju --help".'],
  ])('juju %j', async (args, code, stderr) => {
    expect(await juju(args, { [JUJU_ENV.state]: newState() })).toEqual({ code, stdout: '', stderr });
  });

  it('fails a JSON file that uses the YAML key registrypath, as Juju does', async () => {
    const file = join(root, 'registrypath.json');
    writeFileSync(file, JSON.stringify({ registrypath: 'registry.example.com/x:1' }));
    const r = await juju(['attach-resource', 'cinder', `cinder-api-image=${file}`], { [JUJU_ENV.state]: newState() });
    expect(r).toEqual({ code: 1, stdout: '', stderr: 'ERROR failed to upload resource "cinder-api-image": docker image path "" not valid' });
  });

  it('says "No controllers registered." without a state, and "No resources to display." on stderr', async () => {
    const none = await juju(['status', '--format=json'], { [JUJU_ENV.state]: join(root, 'absent.json') });
    expect(none.code).toBe(1);
    expect(none.stderr.split('\n')[0]).toBe('ERROR No controllers registered.');
    expect(await juju(['resources', 'openstack-port-cni', '--format=json'], { [JUJU_ENV.state]: newState() })).toEqual({ code: 0, stdout: '', stderr: 'No resources to display.' });
  });
});

describe('flags', () => {
  it('accepts -m before or after the subcommand, in every spelling, and JUJU_MODEL', async () => {
    const env = { [JUJU_ENV.state]: newState() };
    const strip = (d: Doc) => ({ ...d, controller: undefined });
    const expected = strip(await jsonOf(['status', '--format=json'], env));
    for (const args of [
      ['-m', 'openstack', 'status', '--format', 'json'],
      ['status', '-m', `${SUNBEAM_CONTROLLER}:openstack`, '--format=json'],
      ['--model=openstack', 'status', '--format=json'],
      ['status', '--format=json', '--model', 'admin/openstack'],
      ['status', '-m=openstack', '--format=json'],
    ]) {
      expect(strip(await jsonOf(args, env)), args.join(' ')).toEqual(expected);
    }
    expect((await juju(['status', '--format=json'], { ...env, JUJU_MODEL: 'nope' })).stderr).toBe(`ERROR model ${SUNBEAM_CONTROLLER}:admin/nope not found`);
    expect(await juju(['attach-resource', '-m', `${SUNBEAM_CONTROLLER}:openstack`, 'cinder', `cinder-api-image=${REF}`], env)).toMatchObject({ code: 0 });
    expect(await juju(['-m', 'openstack', 'attach-resource', 'cinder', `cinder-scheduler-image=${REF}`], env)).toMatchObject({ code: 0 });
    expect(Object.values(applicationImages(env[JUJU_ENV.state]).cinder ?? {})).toEqual([REF, REF]);
  });

  it('gets and sets config values', async () => {
    const env = { [JUJU_ENV.state]: newState() };
    expect(await juju(['config', 'cinder', 'debug=true', 'region=RegionTwo'], env)).toMatchObject({ code: 0 });
    expect((await juju(['config', 'cinder', 'region'], env)).stdout).toBe('RegionTwo');
    expect(obj(obj(await jsonOf(['config', 'cinder', '--format=json'], env)).settings).debug).toMatchObject({ value: true, source: 'user' });
    expect(await juju(['config', 'cinder', 'debug=maybe'], env)).toMatchObject({ code: 1, stderr: 'ERROR option "debug" expected boolean, got "maybe"' });
  });
});

describe('fault injection and concurrency', () => {
  it('fails the next N calls of a subcommand with a transient error, then recovers; logs every call', async () => {
    const log = join(root, 'faults.log');
    const env = { [JUJU_ENV.state]: newState(), [JUJU_ENV.fail]: 'status:2', [JUJU_ENV.log]: log };
    expect(await juju(['status', '--format=json'], env)).toEqual({ code: 1, stdout: '', stderr: 'ERROR connection is shut down' });
    expect((await juju(['resources', 'cinder', '--format=json'], env)).code).toBe(0);
    expect((await juju(['status', '--format=json'], env)).code).toBe(1);
    expect((await juju(['status', '--format=json'], env)).code).toBe(0);
    expect(readJujuInvocations(log).map((i) => i.command)).toEqual(['status', 'resources', 'status', 'status']);
    expect(readJujuInvocations(log)[1]?.argv).toEqual(['resources', 'cinder', '--format=json']);
  });

  it('serialises concurrent attaches so that none is lost', async () => {
    const file = newState();
    const env = { [JUJU_ENV.state]: file, [JUJU_ENV.sleepMs]: '300' };
    const other = `localhost:5000/heliostat/cinder-consolidated@sha256:${'f'.repeat(64)}`;
    const started = Date.now();
    const results = await Promise.all([
      juju(['attach-resource', 'cinder', `cinder-api-image=${REF}`], env),
      juju(['attach-resource', 'cinder', `cinder-scheduler-image=${other}`], env),
      juju(['attach-resource', 'keystone', `keystone-image=${REF}`], env),
    ]);
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(applicationImages(file).cinder).toEqual({ 'cinder-api-image': REF, 'cinder-scheduler-image': other });
    expect(attachedImage(file, 'keystone', 'keystone-image')).toBe(REF);
    // Two attaches of one resource: two distinct upload revisions.
    await Promise.all([juju(['attach-resource', 'glance', `glance-api-image=${REF}`], env), juju(['attach-resource', 'glance', `glance-api-image=${other}`], env)]);
    const glance = readState(file).controllers[SUNBEAM_CONTROLLER]!.models.openstack!.applications.glance!.resources['glance-api-image'];
    expect(glance?.revision).toBe(2);
  });
});
