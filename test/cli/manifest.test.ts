import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { Command, CommanderError } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registerManifest } from '../../src/cli/commands/manifest.js';
import { makeCliEnv } from '../../src/cli/env.js';
import { buildManifest } from '../../src/deploy/manifest.js';
import { isUsageError } from '../../src/errors.js';
import { REPO_ROOT } from '../fixtures/rockcraft/standin.js';
import { heliostat, HELIOSTAT_BIN, type CliResult } from './helpers.js';

let root: string;
let fakeSunbeam: string;

// Records its arguments and the manifest it was given, prints on both streams, exits as told.
const FAKE_SUNBEAM = `#!/bin/sh
printf '%s\\n' "$@" > "$SUNBEAM_RECORD"
cp "$4" "$SUNBEAM_RECORD.manifest"
echo "refreshing the cloud"
echo "sunbeam warning" >&2
exit "\${SUNBEAM_EXIT:-0}"
`;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'heliostat-manifest-'));
  fakeSunbeam = join(root, 'sunbeam');
  await writeFile(fakeSunbeam, FAKE_SUNBEAM);
  await chmod(fakeSunbeam, 0o755);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

/** The commands registered on a fresh program, errors mapped to exit codes as the executable does. */
async function inProcess(args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const stdout = sink();
  const stderr = sink();
  const env = makeCliEnv(stdout.stream, stderr.stream, { PATH: process.env.PATH, ...options.env }, options.cwd ?? root);
  const program = new Command('heliostat')
    .exitOverride()
    .configureOutput({ writeOut: (s) => env.stdout.write(s), writeErr: (s) => env.stderr.write(s) });
  registerManifest(program, env);
  let exitCode = 0;
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) exitCode = error.exitCode === 0 ? 0 : 2;
    else {
      env.stderr.write(`heliostat: error: ${error instanceof Error ? error.message : String(error)}\n`);
      exitCode = isUsageError(error) ? 2 : 1;
    }
  }
  return { stdout: stdout.text(), stderr: stderr.text(), exitCode };
}

async function workdir(name: string): Promise<string> {
  const dir = join(root, name);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir);
  return dir;
}

describe('heliostat manifest (in process)', () => {
  it('prints the manifest for a release and risk', async () => {
    const r = await inProcess(['manifest', '--release', 'epoxy', '--risk', 'edge']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe(buildManifest({ release: '2025.1', risk: 'edge' }));
    expect(r.stderr).toBe('');
  });

  it('defaults to stable and takes repeated --feature', async () => {
    const r = await inProcess(['manifest', '--release', '2026.1', '--feature', 'dns', '--feature', 'telemetry']);
    expect(r.exitCode, r.stderr).toBe(0);
    const doc = parse(r.stdout) as { core: { software: { charms: Record<string, { channel: string }> } }; features: Record<string, unknown> };
    expect(doc.core.software.charms['keystone-k8s']?.channel).toBe('2026.1/stable');
    expect(Object.keys(doc.features)).toEqual(['dns', 'telemetry']);
  });

  it('writes the file atomically with -o, leaving nothing else behind', async () => {
    const dir = await workdir('write');
    const r = await inProcess(['manifest', '--release', 'caracal', '--risk', 'candidate', '-o', 'm.yaml'], { cwd: dir });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`note: wrote ${join(dir, 'm.yaml')}\n`);
    expect(await readFile(join(dir, 'm.yaml'), 'utf8')).toBe(buildManifest({ release: '2024.1', risk: 'candidate' }));
    expect(await readdir(dir)).toEqual(['m.yaml']);
  });

  it.each([
    [['--release', 'yoga'], /^heliostat: error: release yoga \(2022\.1\) has no Sunbeam charms; Sunbeam releases: bobcat \(2023\.2\), caracal \(2024\.1\), epoxy \(2025\.1\), gazpacho \(2026\.1\)\n$/],
    [['--release', 'nope'], /^heliostat: error: unknown release 'nope'; valid releases: /],
    [['--release', '2025.1', '--risk', 'daily'], /^heliostat: error: unknown risk 'daily'; valid risks: stable, candidate, beta, edge\n$/],
    [['--release', '2025.1', '--feature', 'vault'], /^heliostat: error: unknown feature 'vault' for Sunbeam 2025\.1; features with charms: baremetal, /],
    [['--release', '2025.1', '--apply'], /^heliostat: error: --apply needs -o <file>/],
  ])('rejects %j with one line, exit 2, nothing written', async (args, message) => {
    const dir = await workdir('bad');
    const record = join(dir, 'record');
    const r = await inProcess(['manifest', ...args, ...(args.includes('--apply') ? [] : ['-o', 'm.yaml']), '--sunbeam', fakeSunbeam], {
      cwd: dir,
      env: { SUNBEAM_RECORD: record },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    expect(await readdir(dir)).toEqual([]);
  });

  it('reports a missing --release as a usage error', async () => {
    const r = await inProcess(['manifest']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("required option '--release <release>' not specified");
  });

  it('--apply runs sunbeam cluster refresh -m <file> and passes its output through', async () => {
    const dir = await workdir('apply');
    const record = join(dir, 'record');
    const r = await inProcess(['manifest', '--release', '2025.1', '--risk', 'beta', '-o', 'manifest.yaml', '--apply', '--sunbeam', fakeSunbeam], {
      cwd: dir,
      env: { SUNBEAM_RECORD: record },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const file = join(dir, 'manifest.yaml');
    expect((await readFile(record, 'utf8')).split('\n')).toEqual(['cluster', 'refresh', '-m', file, '']);
    expect(await readFile(`${record}.manifest`, 'utf8')).toBe(buildManifest({ release: '2025.1', risk: 'beta' }));
    expect(r.stdout).toBe('refreshing the cloud\n');
    expect(r.stderr).toContain('sunbeam warning\n');
    expect(r.stderr).toContain(`note: sunbeam cluster refresh -m ${file}: exit 0\n`);
  });

  it('--apply reports a failing sunbeam with exit 1', async () => {
    const dir = await workdir('apply-fail');
    const r = await inProcess(['manifest', '--release', '2025.1', '-o', 'm.yaml', '--apply', '--sunbeam', fakeSunbeam], {
      cwd: dir,
      env: { SUNBEAM_RECORD: join(dir, 'record'), SUNBEAM_EXIT: '3' },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`heliostat: error: sunbeam cluster refresh -m ${join(dir, 'm.yaml')} failed with exit code 3\n`);
  });

  it('--apply reports a sunbeam it cannot run', async () => {
    const dir = await workdir('apply-missing');
    const r = await inProcess(['manifest', '--release', '2025.1', '-o', 'm.yaml', '--apply', '--sunbeam', join(dir, 'no-sunbeam')], { cwd: dir });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`heliostat: error: cannot run ${join(dir, 'no-sunbeam')}: not found (choose the executable with --sunbeam <path>)`);
  });
});

describe('heliostat charms (in process)', () => {
  it('prints charm → resource → rock → apps as JSON', async () => {
    const r = await inProcess(['charms', '--release', 'caracal', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ charm: string; resource: string; rock: string | null; external: boolean; apps: string[]; containers: string[] | null; section: string | null }>;
    expect(rows.filter((x) => x.charm === 'cinder-k8s').map((x) => [x.resource, x.rock, x.apps, x.section])).toEqual([
      ['cinder-api-image', 'cinder-consolidated', ['cinder'], 'core'],
      ['cinder-scheduler-image', 'cinder-consolidated', ['cinder'], 'core'],
    ]);
    expect(rows.find((x) => x.charm === 'designate-bind-k8s')).toMatchObject({ rock: null, external: true, apps: ['bind'], section: 'dns' });
  });

  it('prints a table, marking external images and charms Sunbeam does not deploy', async () => {
    const r = await inProcess(['charms', '--release', '2026.1']);
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^CHARM +SECTION +RESOURCE +ROCK +CONTAINERS +APPS$/);
    expect(lines.find((l) => l.startsWith('designate-bind-k8s'))).toMatch(/dns +designate-bind-image +external ubuntu\/bind9:9\.18-22\.04_beta +designate-bind +bind$/);
    expect(lines.find((l) => l.startsWith('ovn-relay-k8s'))).toMatch(/^ovn-relay-k8s +- +ovn-sb-db-server-image +ovn-consolidated/);
    expect(r.stderr).toContain("note: charms with section '-' are in the 2026.1 branch but Sunbeam 2026.1 does not deploy them");
  });

  it('rejects a release without Sunbeam charms', async () => {
    const r = await inProcess(['charms', '--release', 'flamingo']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^heliostat: error: release flamingo \(2025\.2\) has no Sunbeam charms/);
  });
});

// The built executable runs these once program.ts registers the commands.
const registered = existsSync(HELIOSTAT_BIN) && readFileSync(join(REPO_ROOT, 'dist/src/cli/program.js'), 'utf8').includes('registerManifest');

describe.skipIf(!registered)('heliostat manifest and charms (built executable)', () => {
  it('prints the manifest', async () => {
    const r = await heliostat(['manifest', '--release', '2024.1', '--risk', 'edge', '--feature', 'dns']);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout + '\n').toBe(buildManifest({ release: '2024.1', risk: 'edge', features: ['dns'] }));
  });

  it('applies through sunbeam and records its argv', async () => {
    const dir = await workdir('bin-apply');
    const record = join(dir, 'record');
    const r = await heliostat(['manifest', '--release', 'gazpacho', '-o', 'out.yaml', '--apply', '--sunbeam', fakeSunbeam], { cwd: dir, env: { SUNBEAM_RECORD: record } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect((await readFile(record, 'utf8')).trimEnd().split('\n')).toEqual(['cluster', 'refresh', '-m', join(dir, 'out.yaml')]);
    expect(await readFile(join(dir, 'out.yaml'), 'utf8')).toBe(buildManifest({ release: '2026.1', risk: 'stable' }));
  });

  it('fails a bad risk with exit 2 and writes nothing', async () => {
    const dir = await workdir('bin-bad');
    const r = await heliostat(['manifest', '--release', '2024.1', '--risk', 'nightly', '-o', 'out.yaml'], { cwd: dir });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe("heliostat: error: unknown risk 'nightly'; valid risks: stable, candidate, beta, edge");
    expect(await readdir(dir)).toEqual([]);
  });

  it('lists charms', async () => {
    const r = await heliostat(['charms', '--release', '2025.1', '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Array<{ charm: string; resource: string; rock: string | null }>;
    expect(rows.filter((x) => x.charm === 'neutron-k8s').map((x) => x.rock)).toEqual(['neutron-server']);
  });
});
