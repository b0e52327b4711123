// Packs the charm as charmcraft would lay it out, without charmcraft: a `.charm` zip holding what
// Juju reads (metadata, config, actions, charmcraft.yaml and a manifest.yaml), the hook and action
// shims, the built JavaScript and only the production node_modules, with executable bits kept (zip
// stores Unix modes in each entry's external attributes). Uses Debian's `zip`.
//   node dist/charm/pack.js [--output FILE] [--root DIR]
import { execa } from 'execa';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

/** Files and folders of the project that go into the charm, as they are. */
export const CHARM_CONTENT = ['metadata.yaml', 'config.yaml', 'actions.yaml', 'charmcraft.yaml', 'package.json', 'hooks', 'actions', 'dist/src', 'dist/mirror', 'dist/charm', 'src/catalog/data'];

export interface PackOptions {
  root: string;
  output: string;
  now?: Date;
}

/** What charmcraft writes as manifest.yaml for a charm of charmcraft.yaml's base and platforms. */
export function manifest(charmcraft: { base?: string; platforms?: Record<string, unknown> }, now: Date): string {
  const [name = 'ubuntu', channel = '24.04'] = (charmcraft.base ?? 'ubuntu@24.04').split('@');
  return stringify({
    'charmcraft-version': 'heliostat-pack',
    'charmcraft-started-at': now.toISOString(),
    bases: [{ name, channel, architectures: Object.keys(charmcraft.platforms ?? { amd64: null }) }],
    analysis: { attributes: [{ name: 'language', result: 'javascript' }, { name: 'framework', result: 'unknown' }] },
  });
}

/** The production dependencies' folders (relative to the root), as npm resolves them. */
async function productionModules(root: string): Promise<string[]> {
  const { stdout } = await execa('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root, reject: false });
  return String(stdout)
    .split('\n')
    .map((line) => relative(root, line.trim()))
    .filter((rel) => rel.startsWith('node_modules') && !rel.includes('..'));
}

export async function packCharm(options: PackOptions): Promise<string> {
  const root = resolve(options.root);
  for (const required of ['dist/charm/main.js', 'dist/src/cli/main.js']) {
    await stat(join(root, required)).catch(() => {
      throw new Error(`${required} is missing: run \`npm run build\` first`);
    });
  }
  const stage = await mkdtemp(join(tmpdir(), 'heliostat-pack-'));
  try {
    for (const entry of CHARM_CONTENT) await cp(join(root, entry), join(stage, entry), { recursive: true, preserveTimestamps: true });
    // Each package folder once (nested ones come with their parent), .bin links left out.
    const modules = (await productionModules(root)).sort();
    for (const dir of modules) {
      if (modules.some((other) => other !== dir && dir.startsWith(`${other}/`))) continue;
      await cp(join(root, dir), join(stage, dir), { recursive: true, filter: (src) => !src.includes(`${join('node_modules', '.bin')}`) });
    }
    const charmcraft = parse(await readFile(join(root, 'charmcraft.yaml'), 'utf8')) as { base?: string; platforms?: Record<string, unknown> };
    await writeFile(join(stage, 'manifest.yaml'), manifest(charmcraft, options.now ?? new Date()));
    const output = isAbsolute(options.output) ? options.output : resolve(root, options.output);
    await mkdir(resolve(output, '..'), { recursive: true });
    await rm(output, { force: true });
    // -X: no extra (uid/time) fields; modes stay in the external attributes. -y: links as links.
    await execa('zip', ['-q', '-r', '-X', '-y', output, '.'], { cwd: stage });
    return output;
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

async function main(argv: string[]): Promise<void> {
  const flag = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const root = flag('--root') ?? resolve(fileURLToPath(import.meta.url), '..', '..', '..');
  const output = flag('--output') ?? 'heliostat_ubuntu@24.04-amd64.charm';
  process.stdout.write(`${await packCharm({ root, output })}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`pack-charm: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
