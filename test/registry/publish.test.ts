// Publishing builds through the real skopeo into a real registry (Debian docker-registry 2.8).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RockcraftDocument } from '../../src/rocks/rockcraft.js';
import { parseRegistryTarget, type RegistryTarget, type RegistryTargetInput } from '../../src/registry/config.js';
import { RegistryError } from '../../src/registry/errors.js';
import { promote, PublishError, pushBuild, verify, type ImageRecord, type PublishEvent, type PushBuildInput } from '../../src/registry/publish.js';
import { Skopeo } from '../../src/registry/skopeo.js';
import { writeOciArchive } from '../fixtures/oci/write-oci-archive.js';
import { bcryptHash, manifestDigestOverHttp, registryAvailability, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { ensureRockcraftStandinBuilt, ROCKCRAFT_STANDIN } from '../fixtures/rockcraft/standin.js';

const availability = registryAvailability();
// Made in a hook, so a file whose suites are all skipped leaves nothing behind.
let root = '';
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'heliostat-publish-test-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ID1 = '20261122T010203Z';
const ID2 = '20261123T010203Z';
let seq = 0;

/** A rock file whose content (and so digest) depends on `content`. */
function rock(name: string, content: string): { rock: string; imageName: string; rockFile: string; digest: string } {
  const rockFile = join(root, `${name}-${++seq}.rock`);
  const { manifestDigest } = writeOciArchive(rockFile, { refName: '2024.1', files: [{ path: `etc/${name}`, content }] });
  return { rock: name, imageName: name, rockFile, digest: manifestDigest };
}

/** A unique namespace per test, so tests never see each other's tags. */
function namespace(): string {
  return `t${++seq}`;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

const title = (name: string, reason: string | undefined): string => (reason ? `${name} — ${reason}` : name);

describe.skipIf(!availability.available)(title('pushBuild through real skopeo and registry', availability.reason), () => {
  let registry: TestRegistry;
  const targetFor = (ns: string, extra: Partial<RegistryTargetInput> = {}): RegistryTarget =>
    parseRegistryTarget({ host: registry.host, namespace: ns, tlsVerify: false, retries: 0, retryDelayMs: 10, timeoutMs: 60_000, ...extra });
  const skopeoFor = (target: RegistryTarget, argv?: string[][]) => new Skopeo(target, argv ? { onCommand: (a) => argv.push([...a]) } : {});
  const tagsOf = (target: RegistryTarget, name: string) => skopeoFor(target).listTags(`${target.host}/${target.namespace}/${name}`);
  const catalog = async (): Promise<string[]> => ((await (await fetch(`${registry.url}/v2/_catalog`)).json()) as { repositories: string[] }).repositories;

  beforeAll(async () => {
    registry = await startRegistry();
  });
  afterAll(async () => registry?.stop());

  it('pushes every rock by digest, then tags them all; records match skopeo and the registry over HTTP', async () => {
    const ns = namespace();
    const target = targetFor(ns);
    const a = rock('cinder-api', 'cinder 1');
    const b = rock('keystone', 'keystone 1');
    const argv: string[][] = [];
    const events: PublishEvent[] = [];
    const input: PushBuildInput = { rocks: [a, b], release: '2024.1', train: 'reference', buildId: ID1 };
    const images = await pushBuild(input, target, { skopeo: skopeoFor(target, argv), onEvent: (e) => events.push(e) });

    const tags = ['2024.1-reference-20261122T010203Z', '2024.1-reference-latest'];
    expect(images).toEqual([
      { rock: 'cinder-api', imageName: 'cinder-api', repository: `${registry.host}/${ns}/cinder-api`, digest: a.digest, tags, ref: `${registry.host}/${ns}/cinder-api@${a.digest}` },
      { rock: 'keystone', imageName: 'keystone', repository: `${registry.host}/${ns}/keystone`, digest: b.digest, tags, ref: `${registry.host}/${ns}/keystone@${b.digest}` },
    ]);
    const skopeo = skopeoFor(target);
    for (const image of images) {
      await expect(skopeo.inspectDigest({ repository: image.repository, digest: image.digest })).resolves.toBe(image.digest);
      for (const tag of tags) {
        await expect(skopeo.inspectDigest({ repository: image.repository, tag })).resolves.toBe(image.digest);
        await expect(manifestDigestOverHttp(registry, `${ns}/${image.imageName}`, tag)).resolves.toBe(image.digest);
      }
      await expect(tagsOf(target, image.imageName)).resolves.toEqual([...tags].sort());
    }

    // Every archive push (by digest, no tag) comes before the first tag push.
    const copies = argv.filter((a) => a.includes('copy'));
    const lastArchive = copies.findLastIndex((a) => a.some((x) => x.startsWith('oci-archive:')));
    const firstTag = copies.findIndex((a) => a.some((x) => /^docker:\/\/.*:[^/@]+$/.test(x) && !x.includes('@')));
    expect(lastArchive).toBe(1);
    expect(firstTag).toBe(2);
    for (const copy of copies.slice(0, 2)) expect(copy.at(-1)).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(events.map((e) => e.type)).toEqual(['pushed', 'pushed', 'tagged', 'tagged', 'tagged', 'tagged']);
    // The build tag is on every rock before `latest` moves on any of them.
    expect(events.filter((e) => e.type === 'tagged').map((e) => e.tag)).toEqual([tags[0], tags[0], tags[1], tags[1]]);
  });

  it('pushes nothing at all when one archive is corrupt', async () => {
    const ns = namespace();
    const good = rock('good', 'fine');
    const bad = rock('broken', 'truncated');
    writeFileSync(bad.rockFile, readFileSync(bad.rockFile).subarray(0, 1500));
    const notOci = rock('not-oci', 'x');
    writeFileSync(notOci.rockFile, 'this is not a tar archive at all, not even close to one.'.repeat(20));
    const argv: string[][] = [];
    const target = targetFor(ns);
    const input = { rocks: [bad, good, notOci], release: '2024.1', train: 'reference', buildId: ID1 };
    const error = await rejection(pushBuild(input, target, { skopeo: skopeoFor(target, argv) }));
    expect(error).toBeInstanceOf(PublishError);
    const publishError = error as PublishError;
    expect(publishError.stage).toBe('read');
    // Every bad archive is named, not only the first.
    expect(publishError.failures.map((f) => f.rock).sort()).toEqual(['broken', 'not-oci']);
    expect(publishError.message).toMatch(/no tags were pushed: .*rock broken \(image broken\): .*truncated/);
    expect(publishError.message).toMatch(/rock not-oci \(image not-oci\): .*not a tar archive/);
    expect(argv).toEqual([]);
    expect((await catalog()).filter((r) => r.startsWith(`${ns}/`))).toEqual([]);
  });

  it('adds no tag when a push fails, and says which rock failed', async () => {
    const ns = namespace();
    // Real skopeo, except that pushes to the `flaky` repository fail like a dropped connection.
    const wrapper = join(root, 'skopeo-flaky');
    writeFileSync(
      wrapper,
      `#!/bin/sh
for a in "$@"; do case "$a" in docker://*/flaky@*) echo 'time="x" level=fatal msg="writing blob: Patch \\"http://r/v2/x\\": read tcp: connection reset by peer"' >&2; exit 1 ;; esac; done
exec skopeo "$@"
`,
    );
    chmodSync(wrapper, 0o755);
    const target = targetFor(ns, { retries: 1 });
    const good = rock('steady', 'steady');
    const flaky = rock('flaky', 'flaky');
    const error = await rejection(pushBuild({ rocks: [good, flaky], release: '2024.1', train: 'reference', buildId: ID1 }, target, { skopeo: new Skopeo(target, { executable: wrapper }) }));
    expect(error).toBeInstanceOf(PublishError);
    const publishError = error as PublishError;
    expect(publishError.stage).toBe('push');
    expect(publishError.failures.map((f) => [f.rock, (f.error as RegistryError).kind, (f.error as RegistryError).attempts])).toEqual([['flaky', 'transient', 2]]);
    expect(publishError.message).toMatch(/no tags were pushed: rock flaky \(image flaky\): .*connection reset by peer \(after 2 attempts\)/);
    // The good rock is in the registry by digest, but untagged.
    expect(publishError.pushed.map((p) => p.ref)).toEqual([`${registry.host}/${ns}/steady@${good.digest}`]);
    await expect(manifestDigestOverHttp(registry, `${ns}/steady`, good.digest)).resolves.toBe(good.digest);
    await expect(tagsOf(target, 'steady')).resolves.toEqual([]);

    // One at a time, the rocks after the failed one are not tried, and the report says so.
    const later = rock('later', 'later');
    const serial = await rejection(
      pushBuild({ rocks: [rock('flaky', 'flaky 2'), later], release: '2024.1', train: 'reference', buildId: ID2 }, target, {
        skopeo: new Skopeo(target, { executable: wrapper }),
        concurrency: 1,
      }),
    );
    expect((serial as PublishError).notAttempted).toEqual(['later']);
    expect((serial as PublishError).pushed).toEqual([]);
    expect((serial as PublishError).message).toMatch(/; not attempted: later$/);
    expect(await manifestDigestOverHttp(registry, `${ns}/later`, later.digest)).toBeUndefined();
  });

  it('fails as transient, with no tags, when the registry is down', async () => {
    const down = await startRegistry();
    await down.stop();
    const target = parseRegistryTarget({ host: down.host, namespace: 'x', tlsVerify: false, retries: 1, retryDelayMs: 10 });
    const error = await rejection(pushBuild({ rocks: [rock('a', 'a')], release: '2024.1', train: 'reference', buildId: ID1 }, target));
    expect(error).toBeInstanceOf(PublishError);
    const [failure] = (error as PublishError).failures;
    expect((failure?.error as RegistryError).kind).toBe('transient');
    expect(failure?.error.message).toContain('connection refused');
  });

  it('re-pushing the same build is idempotent and uploads no blob again', async () => {
    const ns = namespace();
    const target = targetFor(ns);
    const input: PushBuildInput = { rocks: [rock('nova', 'nova 1'), rock('glance', 'glance 1')], release: '2024.1', train: 'reference', buildId: ID1 };
    const first = await pushBuild(input, target);
    const before = registry.requests().length;
    const second = await pushBuild(input, target);
    expect(second).toEqual(first);
    const uploads = registry.requests().slice(before).filter((r) => r.method === 'POST' || r.method === 'PATCH');
    expect(uploads).toEqual([]);
    await expect(tagsOf(target, 'nova')).resolves.toEqual(['2024.1-reference-20261122T010203Z', '2024.1-reference-latest']);
  });

  it('moves latest to a new build by pushing the tag again; the old build tag keeps its digest', async () => {
    const ns = namespace();
    const target = targetFor(ns);
    const v1 = rock('neutron', 'neutron 1');
    const v2 = rock('neutron', 'neutron 2');
    expect(v2.digest).not.toBe(v1.digest);
    await pushBuild({ rocks: [v1], release: '2024.1', train: 'reference', buildId: ID1 }, target);
    await expect(manifestDigestOverHttp(registry, `${ns}/neutron`, '2024.1-reference-latest')).resolves.toBe(v1.digest);
    const [second] = await pushBuild({ rocks: [v2], release: '2024.1', train: 'reference', buildId: ID2 }, target);
    expect(second?.tags).toEqual(['2024.1-reference-20261123T010203Z', '2024.1-reference-latest']);
    await expect(manifestDigestOverHttp(registry, `${ns}/neutron`, '2024.1-reference-latest')).resolves.toBe(v2.digest);
    await expect(manifestDigestOverHttp(registry, `${ns}/neutron`, `2024.1-reference-${ID1}`)).resolves.toBe(v1.digest);
    await expect(manifestDigestOverHttp(registry, `${ns}/neutron`, `2024.1-reference-${ID2}`)).resolves.toBe(v2.digest);
    // Both manifests are still there: nothing was deleted.
    await expect(manifestDigestOverHttp(registry, `${ns}/neutron`, v1.digest)).resolves.toBe(v1.digest);
  });

  it('refuses to move an immutable build tag to other content, before any tag moves', async () => {
    const ns = namespace();
    const target = targetFor(ns);
    const v1 = rock('heat', 'heat 1');
    await pushBuild({ rocks: [v1], release: '2024.1', train: 'reference', buildId: ID1 }, target);
    const other = rock('heat', 'heat other');
    const error = await rejection(pushBuild({ rocks: [other], release: '2024.1', train: 'reference', buildId: ID1 }, target));
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).stage).toBe('check');
    expect((error as PublishError).message).toMatch(/tag 2024\.1-reference-20261122T010203Z of .*\/heat already holds sha256:[0-9a-f]{64}; immutable tags are never moved/);
    await expect(manifestDigestOverHttp(registry, `${ns}/heat`, '2024.1-reference-latest')).resolves.toBe(v1.digest);
    await expect(manifestDigestOverHttp(registry, `${ns}/heat`, `2024.1-reference-${ID1}`)).resolves.toBe(v1.digest);
  });

  it('promotes: -stable on push with promote, and promote() moves it back by pushing again', async () => {
    const ns = namespace();
    const target = targetFor(ns);
    const v1 = rock('horizon', 'horizon 1');
    const v2 = rock('horizon', 'horizon 2');
    const first = await pushBuild({ rocks: [v1], release: '2024.1', train: 'reference', buildId: ID1 }, target);
    expect(await manifestDigestOverHttp(registry, `${ns}/horizon`, '2024.1-reference-stable')).toBeUndefined();
    const second = await pushBuild({ rocks: [v2], release: '2024.1', train: 'reference', buildId: ID2, promote: true }, target);
    expect(second[0]?.tags).toEqual([`2024.1-reference-${ID2}`, '2024.1-reference-latest', '2024.1-reference-stable']);
    await expect(manifestDigestOverHttp(registry, `${ns}/horizon`, '2024.1-reference-stable')).resolves.toBe(v2.digest);

    const promoted = await promote(first, '2024.1', 'reference', target);
    expect(promoted[0]?.tags).toEqual([`2024.1-reference-${ID1}`, '2024.1-reference-latest', '2024.1-reference-stable']);
    expect(first[0]?.tags).toHaveLength(2);
    await expect(manifestDigestOverHttp(registry, `${ns}/horizon`, '2024.1-reference-stable')).resolves.toBe(v1.digest);
    // latest stays with the newest build.
    await expect(manifestDigestOverHttp(registry, `${ns}/horizon`, '2024.1-reference-latest')).resolves.toBe(v2.digest);
    await expect(tagsOf(target, 'horizon')).resolves.toEqual([`2024.1-reference-${ID1}`, `2024.1-reference-${ID2}`, '2024.1-reference-latest', '2024.1-reference-stable']);
  });

  it('promote() moves no stable tag when one image is missing', async () => {
    const ns = namespace();
    const target = targetFor(ns);
    const [pushed] = await pushBuild({ rocks: [rock('aodh', 'aodh 1')], release: '2024.1', train: 'reference', buildId: ID1 }, target);
    const ghost = rock('ghost', 'never pushed');
    const missing: ImageRecord = { rock: 'ghost', imageName: 'ghost', repository: `${registry.host}/${ns}/ghost`, digest: ghost.digest, tags: [], ref: `${registry.host}/${ns}/ghost@${ghost.digest}` };
    const error = await rejection(promote([pushed as ImageRecord, missing], '2024.1', 'reference', target));
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).stage).toBe('check');
    expect((error as PublishError).failures.map((f) => [f.rock, (f.error as RegistryError).kind])).toEqual([['ghost', 'not-found']]);
    expect(await manifestDigestOverHttp(registry, `${ns}/aodh`, '2024.1-reference-stable')).toBeUndefined();
  });

  it('verify() confirms pushed records and reports missing or moved ones', async () => {
    const ns = namespace();
    const target = targetFor(ns);
    const images = await pushBuild({ rocks: [rock('barbican', 'b1'), rock('designate', 'd1')], release: '2024.1', train: 'reference', buildId: ID1 }, target);
    expect((await verify(images, target)).map((r) => [r.ok, r.problems])).toEqual([
      [true, []],
      [true, []],
    ]);
    const ghost = rock('designate', 'other content');
    const [, designate] = images;
    const wrong: ImageRecord = { ...(designate as ImageRecord), digest: ghost.digest, ref: `${designate?.repository}@${ghost.digest}` };
    const [result] = await verify([wrong], target);
    expect(result?.ok).toBe(false);
    expect(result?.problems).toEqual([
      `${wrong.ref} is missing`,
      `${wrong.repository}:2024.1-reference-${ID1} resolves to ${designate?.digest}, expected ${ghost.digest}`,
    ]);
  });

  it('pushes a rock under its rockcraft name, not its folder', async () => {
    ensureRockcraftStandinBuilt();
    const ns = namespace();
    const folder = join(root, 'rocks', 'keystone-folder');
    mkdirSync(folder, { recursive: true });
    const yaml = `name: keystone-api\nversion: "2024.1"\nsummary: Keystone\nbase: ubuntu@22.04\nplatforms:\n  amd64:\n    build-for: [amd64]\n    build-on: [amd64, arm64, s390x, ppc64el]\nparts:\n  keystone:\n    plugin: nil\n`;
    writeFileSync(join(folder, 'rockcraft.yaml'), yaml);
    const packed = await execa(ROCKCRAFT_STANDIN, ['pack'], { cwd: folder, reject: false, timeout: 30_000 });
    expect(packed.exitCode, packed.stderr).toBe(0);
    const rockFile = join(folder, readdirSync(folder).find((f) => f.endsWith('.rock')) ?? 'missing');
    expect(existsSync(rockFile)).toBe(true);
    const imageName = RockcraftDocument.parse(yaml).name;
    const target = targetFor(ns);
    const [image] = await pushBuild({ rocks: [{ rock: 'keystone-folder', imageName, rockFile }], release: '2024.1', train: 'reference', buildId: ID1 }, target);
    expect(image?.rock).toBe('keystone-folder');
    expect(image?.repository).toBe(`${registry.host}/${ns}/keystone-api`);
    expect((await catalog()).filter((r) => r.startsWith(`${ns}/`))).toEqual([`${ns}/keystone-api`]);
    await expect(manifestDigestOverHttp(registry, `${ns}/keystone-api`, `2024.1-reference-${ID1}`)).resolves.toBe(image?.digest);
  });

  it('reports a cancelled publish as cancelled, with no tags pushed', async () => {
    const ns = namespace();
    const target = targetFor(ns);
    const controller = new AbortController();
    const skopeo = new Skopeo(target, { onCommand: () => controller.abort() });
    const error = await rejection(pushBuild({ rocks: [rock('zaqar', 'z1')], release: '2024.1', train: 'reference', buildId: ID1 }, target, { skopeo, signal: controller.signal }));
    expect(error).not.toBeInstanceOf(PublishError);
    expect((error as Error).name).toBe('AbortError');
    await expect(tagsOf(target, 'zaqar')).resolves.toEqual([]);
  });

  it('rejects invalid names before any process runs', async () => {
    const argv: string[][] = [];
    const target = targetFor('ok');
    const skopeo = skopeoFor(target, argv);
    const r = rock('ok', 'ok');
    const cases: [PushBuildInput, RegExp][] = [
      [{ rocks: [r], release: '2024.1', train: 'Reference', buildId: ID1 }, /train/],
      [{ rocks: [r], release: '2024.1', train: 'reference', buildId: '2026-11-22' }, /build id/],
      [{ rocks: [r], release: '2024', train: 'reference', buildId: ID1 }, /release/],
      [{ rocks: [{ ...r, imageName: 'Keystone' }], release: '2024.1', train: 'reference', buildId: ID1 }, /image name "Keystone"/],
      [{ rocks: [r, { ...r, rock: 'other' }], release: '2024.1', train: 'reference', buildId: ID1 }, /image name ok is used by two rocks/],
      [{ rocks: [r, r], release: '2024.1', train: 'reference', buildId: ID1 }, /rock ok is listed twice/],
    ];
    for (const [input, message] of cases) {
      const error = await rejection(pushBuild(input, target, { skopeo }));
      expect(error).toBeInstanceOf(RegistryError);
      expect((error as RegistryError).kind).toBe('invalid');
      expect((error as RegistryError).message).toMatch(message);
    }
    expect(() => parseRegistryTarget({ host: 'registry', namespace: 'x' })).toThrow(/Docker Hub/);
    expect(() => parseRegistryTarget({ host: registry.host, namespace: 'Bad/NS' })).toThrow(/namespace/);
    expect(argv).toEqual([]);
  });
});

const authHash = availability.available ? bcryptHash('probe') : undefined;
const authSkip = !availability.available ? availability.reason : authHash === undefined ? 'skipped: no way to make a bcrypt htpasswd entry (install apache2-utils or perl)' : undefined;

describe.skipIf(authSkip !== undefined)(title('pushBuild with registry credentials', authSkip), () => {
  const credentials = { username: 'robot', password: 'Sup3r-secret-pw' };
  let registry: TestRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: credentials });
  });
  afterAll(async () => registry?.stop());

  it('pushes through an auth file; neither argv nor errors ever hold the password', async () => {
    // Real skopeo behind a wrapper that records its argv.
    const log = join(root, 'auth-argv.log');
    const wrapper = join(root, 'skopeo-argv');
    writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> "${log}"\nexec skopeo "$@"\n`);
    chmodSync(wrapper, 0o755);
    const token = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
    const good = parseRegistryTarget({ host: registry.host, namespace: 'sec', tlsVerify: false, retries: 2, retryDelayMs: 10, ...credentials });
    const r = rock('placement', 'placement 1');
    const [image] = await pushBuild({ rocks: [r], release: '2024.1', train: 'reference', buildId: ID1 }, good, { skopeo: new Skopeo(good, { executable: wrapper }) });
    expect(image?.digest).toBe(r.digest);
    await expect(manifestDigestOverHttp(registry, 'sec/placement', `2024.1-reference-${ID1}`)).resolves.toBe(r.digest);

    const bad = parseRegistryTarget({ host: registry.host, namespace: 'sec', tlsVerify: false, retries: 2, retryDelayMs: 10, username: 'robot', password: 'Wr0ng-secret-pw' });
    const error = await rejection(pushBuild({ rocks: [rock('octavia', 'o1')], release: '2024.1', train: 'reference', buildId: ID1 }, bad, { skopeo: new Skopeo(bad, { executable: wrapper }) }));
    expect(error).toBeInstanceOf(PublishError);
    const cause = (error as PublishError).failures[0]?.error as RegistryError;
    expect([cause.kind, cause.attempts]).toEqual(['auth', 1]);

    const argv = readFileSync(log, 'utf8');
    expect(argv).toContain('--dest-authfile');
    for (const secret of [credentials.password, token, 'Wr0ng-secret-pw', Buffer.from('robot:Wr0ng-secret-pw').toString('base64')]) {
      expect(argv).not.toContain(secret);
      expect((error as Error).message).not.toContain(secret);
    }
    expect(await manifestDigestOverHttp(registry, 'sec/octavia', `2024.1-reference-${ID1}`)).toBeUndefined();
  });
});
