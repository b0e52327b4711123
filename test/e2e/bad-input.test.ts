// The bad-input table: hostile or broken input on every public surface — CLI flags, juju config
// through the charm's hooks, the controller's config file at start and on SIGHUP, the controller's
// HTTP API and the mirror paths it serves, mirror refs, rockcraft.yaml upstream and the apt
// indices — each answered with one clear line (naming the field or value, no stack trace) and the
// exit or HTTP status of a refusal. Around every case the whole state is snapshotted — mirror (fs
// tree and S3 bucket), registry tags, juju model and pods, controller, charm and hook-tool files —
// and must come out byte for byte as it went in.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import type { ControllerConfigInput } from '../../src/controller/config-schema.js';
import { TestUnit } from '../charm/unit.js';
import { heliostat } from '../cli/helpers.js';
import { raw } from '../mirror/server/fixtures.js';
import { configDoc, TOKEN } from '../controller/harness.js';
import { startAptArchive, type AptArchiveFixture } from '../fixtures/apt-archive-server.js';
import { ensureHookToolsBuilt } from '../fixtures/hook-tools/standin.js';
import { JUJU_STANDIN } from '../fixtures/juju/standin.js';
import { SUNBEAM_MODEL } from '../fixtures/juju/sunbeam.js';
import { registryAvailability } from '../fixtures/registry.js';
import { ROCKCRAFT_STANDIN } from '../fixtures/rockcraft/standin.js';
import { createRocksRepo, fixtureFiles, type RocksRepo } from '../fixtures/rocks-repo.js';
import { trainArchiveSpec } from '../fixtures/train-archive.js';
import { snapshotState, type StateSources } from './bad-input-state.js';
import type { ControllerProcess } from './support/controller-process.js';
import { startController, startWorld, type World } from './support/world.js';

const registryCheck = registryAvailability();
const rgw = inject('rgw');

/** What a surface answered: its exit or HTTP status, the error line, and everything it printed. */
interface Outcome {
  status: number;
  message: string;
  output: string;
}

type Surface = 'cli' | 'juju config' | 'controller config' | 'http' | 'mirror ref' | 'rockcraft.yaml' | 'apt index';

interface Case {
  surface: Surface;
  input: string;
  run: () => Promise<Outcome>;
  status: number;
  error: RegExp;
}

let world: World;
let controller: ControllerProcess;
let base: string;
let unit: TestUnit;
let configFile: string;
let goodConfig: string;
let mirrorDir: string;
let s3Mirror: string | undefined;
let s3Env: NodeJS.ProcessEnv = {};
let badRepo: RocksRepo;
let badApt: AptArchiveFixture;
let sources: StateSources;

const SERIES = 'reference/2024.1/noble';
const REGISTRY_NS = 'heliostat';
const auth = { authorization: `Bearer ${TOKEN}` };
const GOOD_CHARM = { release: 'caracal', components: 'cinder', ppa: 'ppa:team/fix', schedule: '0 2 * * *' };

// ---- how each surface is reached ----

async function cli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Outcome> {
  const r = await heliostat(args, { env: { ...world.env, ...s3Env, ...env }, cwd: world.fixtures.root });
  // Progress lines may come first; the error is the last line.
  return { status: r.exitCode, message: r.stderr.trim().split('\n').at(-1) ?? '', output: `${r.stdout}\n${r.stderr}` };
}

/** A build through the CLI against the fixtures, publishing into the shared mirror and registry. */
function build(args: readonly string[], options: { repo?: string; archive?: string } = {}): Promise<Outcome> {
  const archive = options.archive ?? world.fixtures.apt.server.archiveUrl;
  return cli([
    'build', '--rocks-repo', options.repo ?? world.fixtures.repo.url, '--cache-dir', join(world.fixtures.root, `cache-${randomBytes(4).toString('hex')}`),
    '--ubuntu-archive', archive, '--cloud-archive', world.fixtures.apt.server.cloudUrl, '--ppa-archive', world.fixtures.apt.server.ppaUrl,
    '--rockcraft', ROCKCRAFT_STANDIN, '--work-dir', join(world.fixtures.root, 'work'), '--publish', '--mirror', `fs:${mirrorDir}`,
    '--registry', `${world.registry.host}/${REGISTRY_NS}`, '--registry-insecure', ...args,
  ]);
}

const mirrorFlags = () => ['--mirror', `fs:${mirrorDir}`];

/** A request sent byte for byte (no client-side URL normalisation), or with a JSON body. */
async function http(method: string, path: string, options: { body?: string } = {}): Promise<Outcome> {
  let status: number;
  let text: string;
  let json: boolean;
  if (options.body === undefined) {
    const r = await raw(base, path, { method, headers: auth });
    [status, text, json] = [r.status, r.text, String(r.headers['content-type']).includes('json')];
  } else {
    const r = await fetch(`${base}${path}`, { method, headers: { ...auth, 'content-type': 'application/json' }, body: options.body });
    [status, text, json] = [r.status, await r.text(), String(r.headers.get('content-type')).includes('json')];
  }
  const error = json ? (JSON.parse(text) as { error?: string | { message?: string } }).error : undefined;
  const message = typeof error === 'string' ? error : (error?.message ?? text.trim());
  return { status, message, output: text };
}

const post = (path: string, body: unknown) => http('POST', path, { body: typeof body === 'string' ? body : JSON.stringify(body) });

/** juju config of the heliostat application, then config-changed as Juju runs it. */
async function jujuConfig(options: Record<string, unknown>): Promise<Outcome> {
  unit.config({ ...GOOD_CHARM, ...options });
  let status = 0;
  let output = '';
  try {
    await unit.hook('config-changed');
  } catch (error) {
    const failed = error as { code?: number; stderr?: string };
    [status, output] = [failed.code ?? -1, String(failed.stderr ?? '')];
  }
  const last = unit.lastStatus();
  return { status, message: `${last?.state ?? 'no status'}: ${last?.message ?? ''}`, output };
}

/** `heliostat serve --config FILE` with a broken file: it must refuse to start. */
async function serveWith(name: string, content: string): Promise<Outcome> {
  const file = join(world.fixtures.root, 'bad-configs', name);
  await mkdir(join(world.fixtures.root, 'bad-configs'), { recursive: true });
  await writeFile(file, content);
  return cli(['serve', '--config', file]);
}

/** The running controller's file rewritten badly and SIGHUP: the old configuration keeps serving. */
async function reloadWith(doc: string): Promise<Outcome> {
  await writeFile(configFile, doc);
  try {
    const took = await controller.reload();
    const response = await fetch(`${base}/api/v1/status`, { headers: auth });
    const status = (await response.json()) as { trains: Array<{ name: string }>; config: { reloadError?: string } };
    const trains = status.trains.map((t) => t.name).join(',');
    return { status: took ? 0 : response.status, message: `${trains}: ${status.config.reloadError ?? 'no reload error'}`, output: '' };
  } finally {
    // The operator fixes the file; the process never saw a good new one, so nothing else moved.
    await writeFile(configFile, goodConfig);
  }
}

// ---- the table ----

const S = SERIES;
const yamlBomb = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]', ...'bcdefghij'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(',')}]`)].join('\n');

const cases: Case[] = [
  // CLI flags
  { surface: 'cli', input: 'build --release ../../etc', run: () => build(['--release', '../../etc']), status: 2, error: /unknown release '\.\.\/\.\.\/etc'; valid releases: yoga/ },
  { surface: 'cli', input: 'build --release 2099.1', run: () => build(['--release', '2099.1']), status: 2, error: /unknown release '2099\.1'/ },
  { surface: 'cli', input: "build --ppa 'ppa:a/b;rm -rf /'", run: () => build(['--release', 'caracal', '--train', 'fix', '--ppa', 'ppa:a/b;rm -rf /']), status: 2, error: /invalid PPA "ppa:a\/b;rm -rf \/"/ },
  { surface: 'cli', input: "build --package 'x$(id)'", run: () => build(['--release', 'caracal', '--train', 'fix', '--package', 'x$(id)']), status: 2, error: /invalid Debian package name "x\$\(id\)"/ },
  { surface: 'cli', input: "build --component 'cinder;reboot'", run: () => build(['--release', 'caracal', '--component', 'cinder;reboot']), status: 2, error: /invalid Debian package name "cinder;reboot"/ },
  { surface: 'cli', input: 'build --rock ../keystone', run: () => build(['--release', 'caracal', '--rock', '../keystone']), status: 2, error: /invalid rock name "\.\.\/keystone"/ },
  { surface: 'cli', input: 'build --train ../x', run: () => build(['--release', 'caracal', '--train', '../x']), status: 2, error: /invalid train "\.\.\/x"/ },
  { surface: 'cli', input: "build --series '$(reboot)'", run: () => build(['--release', 'caracal', '--series', '$(reboot)']), status: 2, error: /unknown series '\$\(reboot\)'/ },
  { surface: 'cli', input: 'build --jobs -1', run: () => build(['--release', 'caracal', '--jobs', '-1']), status: 2, error: /--jobs must be a whole number from 1 to 64, not '-1'/ },
  { surface: 'cli', input: 'build --jobs 1e30', run: () => build(['--release', 'caracal', '--jobs', '99999999999999999999999999999']), status: 2, error: /--jobs must be a whole number from 1 to 64/ },
  { surface: 'cli', input: 'build --timeout abc', run: () => build(['--release', 'caracal', '--timeout', 'abc']), status: 2, error: /--timeout must be a whole number from 1 to 86400, not 'abc'/ },
  { surface: 'cli', input: 'build --suffix <5000 chars>', run: () => build(['--release', 'caracal', '--train', 'fix', '--suffix', 'a'.repeat(5000)]), status: 2, error: /invalid version suffix "a{64}…" \(5000 characters\): use up to 32 letters/ },
  { surface: 'cli', input: 'build --registry http://bad:host/ns', run: () => build(['--release', 'caracal', '--registry', 'http://bad:host/ns']), status: 2, error: /invalid registry/ },
  { surface: 'cli', input: 'build --pocket backports', run: () => build(['--release', 'caracal', '--pocket', 'backports']), status: 2, error: /unknown pocket 'backports'; valid pockets: updates, proposed/ },
  { surface: 'cli', input: 'mirror gc --keep-days -3', run: () => cli(['mirror', 'gc', '--keep-days', '-3', ...mirrorFlags()]), status: 2, error: /invalid --keep-days "-3"/ },
  { surface: 'cli', input: 'mirror gc --grace forever', run: () => cli(['mirror', 'gc', '--grace', 'forever', ...mirrorFlags()]), status: 2, error: /invalid --grace "forever"/ },
  { surface: 'cli', input: 'mirror pin --for 99999999999d', run: () => cli(['mirror', 'pin', `${S}/latest`, '--name', 'ok', '--for', '99999999999d', ...mirrorFlags()]), status: 2, error: /invalid --for "99999999999d"/ },
  { surface: 'cli', input: "mirror pin --name 'Bad Name!'", run: () => cli(['mirror', 'pin', `${S}/latest`, '--name', 'Bad Name!', ...mirrorFlags()]), status: 2, error: /invalid pin name "Bad Name!"/ },
  { surface: 'cli', input: 'mirror pin --expires yesterday', run: () => cli(['mirror', 'pin', `${S}/latest`, '--name', 'ok', '--expires', 'yesterday', ...mirrorFlags()]), status: 2, error: /invalid time "yesterday": expected ISO 8601 with a zone/ },
  { surface: 'cli', input: 'mirror --mirror s3://../x', run: () => cli(['mirror', 'list', '--mirror', 's3://../x']), status: 2, error: /invalid mirror "s3:\/\/\.\.\/x"/ },
  // mirror refs
  { surface: 'mirror ref', input: 'mirror pull ../../etc/passwd', run: () => cli(['mirror', 'pull', '../../etc/passwd', '-o', join(world.fixtures.root, 'out'), ...mirrorFlags()]), status: 2, error: /invalid build reference "\.\.\/\.\.\/etc\/passwd"/ },
  { surface: 'mirror ref', input: 'mirror pull <build>/../..', run: () => cli(['mirror', 'pull', `${S}/20261122T000000Z/../..`, '-o', join(world.fixtures.root, 'out'), ...mirrorFlags()]), status: 2, error: /invalid build reference ".*20261122T000000Z\/\.\.\/\.\."/ },
  { surface: 'mirror ref', input: 'mirror pull --rock ../x', run: () => cli(['mirror', 'pull', `${S}/latest`, '--rock', '../x', '-o', join(world.fixtures.root, 'out'), ...mirrorFlags()]), status: 2, error: /invalid rock name "\.\.\/x"/ },
  { surface: 'mirror ref', input: 'mirror show month 13', run: () => cli(['mirror', 'show', 'reference/caracal/noble/20261399T000000Z', ...mirrorFlags()]), status: 2, error: /invalid build id "20261399T000000Z": not a real UTC date/ },
  { surface: 'mirror ref', input: 'mirror promote <unknown build>', run: () => cli(['mirror', 'promote', `${S}/20200101T000000Z`, ...mirrorFlags()]), status: 2, error: /20200101T000000Z/ },
  { surface: 'mirror ref', input: 'mirror unpin train/../..', run: () => cli(['mirror', 'unpin', 'reference/2024.1/../..', '--name', 'x', ...mirrorFlags()]), status: 2, error: /invalid series "reference\/2024\.1\/\.\.\/\.\."/ },
  { surface: 'mirror ref', input: 'mirror list ../../..', run: () => cli(['mirror', 'list', '../../..', ...mirrorFlags()]), status: 2, error: /invalid train "\.\."/ },
  { surface: 'mirror ref', input: 'GET /%2e%2e/%2e%2e/etc/passwd', run: () => http('GET', '/%2e%2e/%2e%2e/etc/passwd'), status: 400, error: /"\.\." is not allowed/ },
  { surface: 'mirror ref', input: 'GET <series>/<build>/outputs/..%2f..%2fbuild.json', run: () => http('GET', `/${S}/latest_build/outputs/..%2f..%2fbuild.json`), status: 400, error: /encoded slash/ },
  { surface: 'mirror ref', input: 'GET /api/mirror/v1/resolve?ref=../../etc/passwd', run: () => http('GET', '/api/mirror/v1/resolve?ref=../../etc/passwd'), status: 400, error: /invalid build reference/ },
  ...(rgw
    ? [
        { surface: 'mirror ref', input: 'mirror pin on S3 with pin:../x', run: () => cli(['mirror', 'pin', `${S}/pin:../x`, '--name', 'ok', '--mirror', s3Mirror ?? '']), status: 2, error: /invalid build reference|invalid pin name/ },
        { surface: 'cli', input: 'mirror sync --to s3://bucket//x', run: () => cli(['mirror', 'sync', '--from', `fs:${mirrorDir}`, '--to', `${s3Mirror ?? ''}//x`]), status: 2, error: /invalid mirror "s3:\/\/.*\/\/x"/ },
      ] satisfies Case[]
    : []),
  // juju config, through the charm's config-changed hook
  { surface: 'juju config', input: "ppa='ppa:a/b;rm -rf /'", run: () => jujuConfig({ ppa: 'ppa:a/b;rm -rf /' }), status: 0, error: /^blocked: ppa: invalid PPA "ppa:a\/b;rm"/ },
  { surface: 'juju config', input: 'release=../../etc', run: () => jujuConfig({ release: '../../etc' }), status: 0, error: /^blocked: release: unknown OpenStack release/ },
  { surface: 'juju config', input: 'pin=../x', run: () => jujuConfig({ pin: '../x' }), status: 0, error: /^blocked: pin: / },
  { surface: 'juju config', input: "schedule='61 * * * *'", run: () => jujuConfig({ schedule: '61 * * * *' }), status: 0, error: /^blocked: schedule: / },
  { surface: 'juju config', input: "components='cinder;reboot'", run: () => jujuConfig({ components: 'cinder;reboot' }), status: 0, error: /^blocked: components: .*cinder;reboot/ },
  { surface: 'juju config', input: 'pocket=backports', run: () => jujuConfig({ pocket: 'backports' }), status: 0, error: /^blocked: pocket: / },
  { surface: 'juju config', input: 'extra-trains: not YAML', run: () => jujuConfig({ 'extra-trains': '- name: [unclosed' }), status: 0, error: /^blocked: extra-trains: / },
  { surface: 'juju config', input: 'extra-trains: a mapping, not a list', run: () => jujuConfig({ 'extra-trains': 'name: x\nrelease: caracal' }), status: 0, error: /^blocked: extra-trains: / },
  { surface: 'juju config', input: 'extra-trains: giant YAML', run: () => jujuConfig({ 'extra-trains': `- name: big\n  release: caracal\n  components: [${Array(20_000).fill('cinder').join(', ')}]` }), status: 0, error: /^blocked: extra-trains: / },
  { surface: 'juju config', input: 'extra-trains: YAML alias bomb', run: () => jujuConfig({ 'extra-trains': yamlBomb }), status: 0, error: /^blocked: extra-trains: / },
  { surface: 'juju config', input: 'build-concurrency=1000', run: () => jujuConfig({ 'build-concurrency': 1000 }), status: 0, error: /^blocked: build-concurrency: / },
  { surface: 'juju config', input: "retention-days='forever' (wrong type)", run: () => jujuConfig({ 'retention-days': 'forever' }), status: 0, error: /^blocked: retention-days: / },
  { surface: 'juju config', input: "registry='http://bad host'", run: () => jujuConfig({ registry: 'http://bad host' }), status: 0, error: /^blocked: registry: / },
  // the controller's own config file
  { surface: 'controller config', input: 'serve --config (unknown release)', run: () => serveWith('release.yaml', stringify({ ...controllerDoc(), trains: [{ name: 'fix', release: 'nope' }] })), status: 2, error: /trains\.0\.release: unknown OpenStack release/ },
  { surface: 'controller config', input: 'serve --config (not YAML)', run: () => serveWith('broken.yaml', 'listen: [127.0.0.1:0\n  tokens: {'), status: 2, error: /YAML|yaml/ },
  { surface: 'controller config', input: 'serve --config (wrong type)', run: () => serveWith('type.yaml', stringify({ ...controllerDoc(), bodyLimitBytes: 'big' })), status: 2, error: /bodyLimitBytes: / },
  { surface: 'controller config', input: 'serve --config (unknown field)', run: () => serveWith('unknown.yaml', stringify({ ...controllerDoc(), buidler: {} })), status: 2, error: /buidler/ },
  { surface: 'controller config', input: 'serve --config (missing file)', run: () => cli(['serve', '--config', join(world.fixtures.root, 'no-such.yaml')]), status: 2, error: /no-such\.yaml/ },
  { surface: 'controller config', input: 'SIGHUP with an unknown release', run: () => reloadWith(stringify({ ...controllerDoc(), trains: [{ name: 'fix', release: 'nope' }] })), status: 200, error: /^fix: config file .*controller\.yaml: trains\.0\.release: unknown OpenStack release/ },
  { surface: 'controller config', input: 'SIGHUP with a YAML alias bomb', run: () => reloadWith(yamlBomb), status: 200, error: /^fix: / },
  // the controller's HTTP API
  { surface: 'http', input: 'POST /builds release of the wrong type', run: () => post('/api/v1/builds', [{ release: 5 }]), status: 400, error: /\[0\]\.release: / },
  { surface: 'http', input: 'POST /builds unknown field', run: () => post('/api/v1/builds', [{ release: 'caracal', rm: '-rf' }]), status: 400, error: /unknown field: 'rm' in \[0\]/ },
  { surface: 'http', input: 'POST /builds release ../../etc', run: () => post('/api/v1/builds', [{ release: '../../etc' }]), status: 400, error: /\[0\]\.release: unknown release '\.\.\/\.\.\/etc'/ },
  { surface: 'http', input: 'POST /builds ppa with shell metacharacters', run: () => post('/api/v1/builds', [{ release: 'caracal', train: 'fix', ppas: ['ppa:a/b`reboot`'] }]), status: 400, error: /\[0\]\.ppas\[0\]: invalid PPA/ },
  { surface: 'http', input: 'POST /builds body over bodyLimitBytes', run: () => post('/api/v1/builds', JSON.stringify([{ release: 'caracal', suffix: 'x'.repeat(2 * 1024 * 1024) }])), status: 413, error: /larger than \d+ bytes/ },
  { surface: 'http', input: 'POST /builds invalid JSON', run: () => post('/api/v1/builds', '[{"release": "caracal",'), status: 400, error: /not valid JSON/ },
  { surface: 'http', input: 'POST /builds deep nesting', run: () => post('/api/v1/builds', `${'['.repeat(50_000)}${']'.repeat(50_000)}`), status: 400, error: /./ },
  { surface: 'http', input: 'POST /builds not a list', run: () => post('/api/v1/builds', { release: 'caracal' }), status: 400, error: /must be a JSON list of build requests/ },
  { surface: 'http', input: 'POST /builds giant list', run: () => post('/api/v1/builds', Array(500).fill({ release: 'caracal' })), status: 400, error: /at most 20 build requests at once, got 500/ },
  { surface: 'http', input: 'GET /builds/<traversal id>', run: () => http('GET', '/api/v1/builds/..%2f..%2fetc'), status: 400, error: /invalid job id/ },
  { surface: 'http', input: 'DELETE /builds/<unknown id>', run: () => http('DELETE', '/api/v1/builds/20261122T000000Z-nope'), status: 404, error: /no job 20261122T000000Z-nope/ },
  { surface: 'http', input: 'POST /pins bad pin name', run: () => post('/api/v1/pins', { ref: `${S}/latest`, name: '../../x' }), status: 400, error: /name: invalid pin name "\.\.\/\.\.\/x"/ },
  { surface: 'http', input: 'POST /pins expiry in the past', run: () => post('/api/v1/pins', { ref: `${S}/latest`, name: 'ok', expiresAt: '2000-01-01T00:00:00Z' }), status: 400, error: /expiresAt: .* is in the past/ },
  { surface: 'http', input: 'POST /promote traversal ref', run: () => post('/api/v1/promote', { ref: `${S}/../../x` }), status: 400, error: /ref: invalid build reference/ },
  { surface: 'http', input: 'DELETE /pins traversal series', run: () => http('DELETE', '/api/v1/pins', { body: JSON.stringify({ ref: 'reference/../..', name: 'x' }) }), status: 400, error: /ref: / },
  { surface: 'http', input: 'POST /reconcile wrong type', run: () => post('/api/v1/reconcile', { dryRun: 'yes' }), status: 400, error: /dryRun: / },
  // rockcraft.yaml of a broken upstream branch
  { surface: 'rockcraft.yaml', input: 'malformed YAML', run: () => build(['--release', 'caracal', '--rock', 'keystone'], { repo: badRepo.url }), status: 1, error: /keystone.*rockcraft\.yaml/ },
  { surface: 'rockcraft.yaml', input: 'truncated file', run: () => build(['--release', 'caracal', '--rock', 'glance-api'], { repo: badRepo.url }), status: 1, error: /glance-api.*rockcraft\.yaml/ },
  { surface: 'rockcraft.yaml', input: 'a part named with shell metacharacters', run: () => build(['--release', 'caracal', '--rock', 'nova-api'], { repo: badRepo.url }), status: 1, error: /nova-api/ },
  // apt indices served broken
  { surface: 'apt index', input: 'truncated Packages.gz', run: () => aptCase(truncatedGzip()), status: 1, error: /Packages\.gz: corrupt or truncated gzip data/ },
  { surface: 'apt index', input: 'gzip bomb Packages.gz', run: () => aptCase(gzipBomb()), status: 1, error: /Packages\.gz: decompressed size exceeds the limit of \d+ bytes/ },
  { surface: 'apt index', input: 'malformed deb822 stanzas (listed in InRelease)', run: () => aptCase(gzipSync('Package keystone\n Version: 1\n\n'), true), status: 1, error: /Packages\.gz: line 1: / },
  { surface: 'apt index', input: 'Packages.gz its InRelease does not list', run: () => aptCase(gzipSync('Package: keystone\nVersion: 9:99\nArchitecture: all\n')), status: 1, error: /Packages\.gz does not match its InRelease: / },
];

// ---- fixtures of the apt cases ----

const PACKAGES_PATH = '/ubuntu/dists/noble/main/binary-amd64/Packages.gz';
const IN_RELEASE_PATH = '/ubuntu/dists/noble/InRelease';
let goodPackages: Buffer;
let goodInRelease: Buffer;

/** The suite's InRelease with its SHA256 entry of Packages.gz rewritten to list `body`. */
function inReleaseListing(body: Buffer): Buffer {
  const entry = 'main/binary-amd64/Packages.gz';
  const line = new RegExp(`^ [0-9a-f]{64} +\\d+ ${entry.replace(/[.]/g, '\\.')}$`, 'm');
  const hash = createHash('sha256').update(body).digest('hex');
  return Buffer.from(goodInRelease.toString('utf8').replace(line, ` ${hash} ${String(body.length).padStart(16)} ${entry}`));
}

function truncatedGzip(): Buffer {
  return goodPackages.subarray(0, Math.floor(goodPackages.length / 2));
}

/** 300 MiB of zeros in 300 small gzip members (valid gzip: members concatenate). */
function gzipBomb(): Buffer {
  const member = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
  return Buffer.concat(Array(300).fill(member) as Buffer[]);
}

/** A build against the archive serving `bytes` as Packages.gz; `listed`: its InRelease lists them. */
async function aptCase(bytes: Buffer, listed = false): Promise<Outcome> {
  badApt.server.serveBytes(PACKAGES_PATH, bytes);
  if (listed) badApt.server.serveBytes(IN_RELEASE_PATH, inReleaseListing(bytes));
  try {
    return await build(['--release', 'caracal', '--rock', 'keystone'], { archive: badApt.server.archiveUrl });
  } finally {
    badApt.server.serveBytes(PACKAGES_PATH, goodPackages);
    badApt.server.serveBytes(IN_RELEASE_PATH, goodInRelease);
  }
}

function controllerDoc(): ControllerConfigInput {
  return configDoc(world.fixtures, {
    registry: { host: world.registry.host, namespace: REGISTRY_NS, tlsVerify: false },
    juju: { executable: JUJU_STANDIN },
    kubeconfig: world.kube.kubeconfig,
    trains: [{ name: 'fix', release: 'caracal', components: ['cinder'] }],
  });
}

/** Three rocks of the branch with hostile rockcraft.yaml files. */
function hostileRockcraft(): Record<string, string> {
  const files = fixtureFiles('stable/2024.1');
  const keystone = files['rocks/keystone/rockcraft.yaml'] ?? '';
  const glance = files['rocks/glance-api/rockcraft.yaml'] ?? '';
  const nova = files['rocks/nova-api/rockcraft.yaml'] ?? '';
  return {
    'rocks/keystone/rockcraft.yaml': `${keystone}\nparts: [unclosed\n  : : :\n`,
    'rocks/glance-api/rockcraft.yaml': glance.slice(0, Math.floor(glance.length / 3)),
    'rocks/nova-api/rockcraft.yaml': nova.replace(/^parts:\n {2}[a-z0-9-]+:/m, 'parts:\n  "x; rm -rf / #":'),
  };
}

/** One world, one seeded build (mirror, S3 copy, registry), one controller, one charm unit. */
async function setUp(): Promise<void> {
  world = await startWorld({ rgw });
  const root = world.fixtures.root;
  const doc = controllerDoc();
  mirrorDir = join(String(doc.dataDir), 'mirror');
  const seeded = await build(['--release', 'caracal', '--rock', 'keystone']);
  expect(seeded.status, seeded.output).toBe(0);
  if (rgw) {
    const bucket = `bad-input-${randomBytes(4).toString('hex')}`;
    s3Env = { HELIOSTAT_S3_ENDPOINT: rgw.endpoint, HELIOSTAT_S3_REGION: rgw.region, HELIOSTAT_S3_ACCESS_KEY: rgw.accessKey, HELIOSTAT_S3_SECRET_KEY: rgw.secretKey };
    s3Mirror = `s3://${bucket}/mirror`;
    const synced = await cli(['mirror', 'sync', '--from', `fs:${mirrorDir}`, '--to', s3Mirror]);
    expect(synced.status, synced.output).toBe(0);
  }

  configFile = join(root, 'controller.yaml');
  goodConfig = stringify(doc);
  await writeFile(configFile, goodConfig);
  controller = await startController(world, configFile);
  base = await controller.ready();

  ensureHookToolsBuilt();
  unit = new TestUnit();
  unit.config(GOOD_CHARM);
  const installed = await unit.hook('install');
  expect(installed.statuses.at(-1)?.state).not.toBe('blocked');

  badRepo = await createRocksRepo(join(root, 'bad-upstream'), {
    branches: ['stable/2024.1'],
    extraFiles: { 'stable/2024.1': hostileRockcraft() },
  });
  const { spec } = trainArchiveSpec({ branch: 'stable/2024.1', series: 'noble' });
  badApt = await startAptArchive(spec);
  goodPackages = await readFile(join(badApt.archive.root, PACKAGES_PATH));
  goodInRelease = await readFile(join(badApt.archive.root, IN_RELEASE_PATH));

  sources = {
    paths: {
      mirror: mirrorDir,
      controllerData: String(doc.dataDir),
      controllerConfig: configFile,
      jujuModel: world.kube.state,
      charmData: unit.dataDir,
      charmUnit: unit.unitDir,
    },
    ...(rgw && s3Mirror ? { s3: { s3Mirror: { client: world.rgw!.client, bucket: s3Mirror.slice(5).split('/')[0] ?? '' } } } : {}),
    registry: world.registry,
    kube: { url: world.kube.server.url, namespace: SUNBEAM_MODEL },
    hookStates: { hookTools: unit.stateFile },
  };
}

async function tearDown(): Promise<void> {
  await controller?.stop(10_000);
  await badApt?.server.close();
  await world?.close();
  unit?.remove();
}

function expectClear(outcome: Outcome): void {
  expect(outcome.message, outcome.output).not.toContain('\n');
  expect(outcome.message.length, outcome.message).toBeLessThan(500);
  expect(outcome.output, 'no stack trace').not.toMatch(/\n\s+at .*[(:]\d+/);
  expect(outcome.message).not.toMatch(/undefined|\[object Object\]/);
}

describe.skipIf(!registryCheck.available)(registryCheck.available ? 'bad input' : `bad input — ${registryCheck.reason}`, { timeout: 60_000 }, () => {
  beforeAll(setUp, 240_000);
  afterAll(tearDown, 60_000);

  it('has at least 40 distinct cases over every surface', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((c) => `${c.surface}: ${c.input}`)).size).toBe(cases.length);
    expect(new Set(cases.map((c) => c.surface))).toEqual(new Set<Surface>(['cli', 'juju config', 'controller config', 'http', 'mirror ref', 'rockcraft.yaml', 'apt index']));
  });

  it.each(cases)('$surface: $input', async (c) => {
    const before = await snapshotState(sources);
    const outcome = await c.run();
    expect(outcome.message, outcome.output).toMatch(c.error);
    expect(outcome.status, outcome.message).toBe(c.status);
    expectClear(outcome);
    expect(await snapshotState(sources)).toEqual(before);
  });
});
