// The project's packing script builds the .charm zip; read back with a real unzip (zipinfo for the
// modes in each entry's external attributes), its layout is charmcraft's, every shim is executable
// and reaches the compiled entry point, and shims extracted from it run against the stand-ins.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ensureBuilt } from '../fixtures/build-on-demand.js';
import { ensureHookToolsBuilt, REPO_ROOT } from '../fixtures/hook-tools/standin.js';
import { TestUnit } from './unit.js';

const run = promisify(execFile);
const has = (tool: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const ZIP = has('zip') && has('unzip') && has('zipinfo');

describe.skipIf(!ZIP)(`the packed charm${ZIP ? '' : ' (skipped: install Debian zip and unzip)'}`, { timeout: 300_000 }, () => {
  let dir: string;
  let charm: string;
  let modes: Map<string, string>;
  const hooks = readdirSync(join(REPO_ROOT, 'hooks')).filter((h) => h !== 'README.md');
  const actions = Object.keys(parse(readFileSync(join(REPO_ROOT, 'actions.yaml'), 'utf8')) as object);

  beforeAll(async () => {
    ensureHookToolsBuilt();
    ensureBuilt(REPO_ROOT, 'src/cli/main.ts', ['src', 'mirror']);
    ensureBuilt(REPO_ROOT, 'charm/pack.ts', ['charm']);
    dir = mkdtempSync(join(tmpdir(), 'heliostat-pack-test-'));
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'dist/charm/pack.js'), '--output', join(dir, 'heliostat.charm')]);
    charm = stdout.trim();
    // zipinfo: "-rwxr-xr-x  3.0 unx  347 tx defN 25-Nov-22 04:33 hooks/install"
    const { stdout: listing } = await run('zipinfo', [charm], { maxBuffer: 64 * 1024 * 1024 });
    modes = new Map(listing.split('\n').flatMap((line) => {
      const m = /^([-dl][rwxsS-]{9})\s.*\s(\S+)$/.exec(line);
      return m?.[1] && m[2] ? [[m[2], m[1]] as const] : [];
    }));
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has charmcraft\'s layout and a manifest of the base', async () => {
    expect(charm).toBe(join(dir, 'heliostat.charm'));
    for (const file of ['metadata.yaml', 'config.yaml', 'actions.yaml', 'charmcraft.yaml', 'manifest.yaml', 'dist/charm/main.js', 'dist/src/cli/main.js', 'node_modules/yaml/package.json', 'node_modules/zod/package.json']) expect(modes.has(file), file).toBe(true);
    expect([...modes.keys()].some((f) => f.startsWith('node_modules/vitest/'))).toBe(false);
    expect([...modes.keys()].some((f) => f.startsWith('test/') || f.startsWith('dist/test/'))).toBe(false);
    const { stdout } = await run('unzip', ['-p', charm, 'manifest.yaml']);
    expect(parse(stdout)).toMatchObject({ bases: [{ name: 'ubuntu', channel: '24.04', architectures: ['amd64'] }], analysis: { attributes: expect.any(Array) as unknown[] } });
  });

  it('keeps every hook and action shim executable, each pointing at the compiled entry point', async () => {
    for (const path of [...hooks.map((h) => `hooks/${h}`), ...actions.map((a) => `actions/${a}`)]) {
      expect(modes.get(path), path).toMatch(/^-rwx/);
      const { stdout } = await run('unzip', ['-p', charm, path]);
      expect(stdout.trim().split('\n').at(-1), path).toBe('exec node "$CHARM_DIR/dist/charm/main.js"');
    }
  });

  it('runs a hook and an action from the extracted charm against the stand-ins', async () => {
    const root = join(dir, 'unpacked');
    await run('unzip', ['-q', charm, '-d', root]);
    const unit = new TestUnit();
    try {
      await run(join(root, 'hooks', 'config-changed'), [], { env: { ...unit.env({ CHARM_DIR: root, JUJU_CHARM_DIR: root, JUJU_HOOK_NAME: 'config-changed', JUJU_DISPATCH_PATH: 'hooks/config-changed' }) } });
      expect(existsSync(unit.configFile)).toBe(true);
      expect(readFileSync(join(unit.unitDir, 'heliostat.service'), 'utf8')).toContain(`${root}/dist/src/cli/main.js serve --config ${unit.configFile}`);
      unit.update((s) => {
        s.action = { params: {}, results: {} };
      });
      await run(join(root, 'actions', 'status'), [], { env: unit.env({ CHARM_DIR: root, JUJU_ACTION_NAME: 'status', JUJU_DISPATCH_PATH: 'actions/status', HELIOSTAT_CHARM_API_URL: 'http://127.0.0.1:1' }) });
      expect(unit.state().action?.failed).toMatch(/^the controller does not answer at http:\/\/127\.0\.0\.1:1/);
    } finally {
      unit.remove();
    }
  });

  it.skipIf(!has('charmcraft'))('charmcraft pack accepts the project (skipped: charmcraft is not installed)', async () => {
    await run('charmcraft', ['pack', '--destructive-mode'], { cwd: REPO_ROOT });
  });
});
