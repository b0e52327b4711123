// What the unit needs besides the charm itself to build and publish: rockcraft and LXD (rockcraft
// packs inside LXD), the Juju client (attach-resource), skopeo (registry pushes) and, when the
// registry is on this machine, Debian's docker-registry. Each is installed only when missing, so
// install and upgrade-charm can run any number of times.
import { execa } from 'execa';
import type { HookTools } from './hook-tools.js';

interface Snap {
  name: string;
  args: string[];
  /** Run once after the snap was installed by this hook. */
  after?: string[];
}

const SNAPS: Snap[] = [
  { name: 'lxd', args: [], after: ['lxd', 'init', '--auto'] },
  { name: 'rockcraft', args: ['--classic'] },
  { name: 'juju', args: ['--channel=3.6/stable'] },
];

async function succeeds(file: string, args: string[]): Promise<{ ok: boolean; stdout: string }> {
  const r = await execa(file, args, { reject: false, stdin: 'ignore' });
  return { ok: !r.failed, stdout: String(r.stdout) };
}

async function run(file: string, args: string[], env: Record<string, string> = {}): Promise<void> {
  const r = await execa(file, args, { reject: false, stdin: 'ignore', env });
  if (r.failed) throw new Error(`${file} ${args.join(' ')} failed (exit ${r.exitCode ?? '?'}): ${String(r.stderr).trim().split('\n').at(-1) ?? ''}`);
}

/** Whether the registry option names this machine (then the unit runs the registry itself). */
export function localRegistry(host: unknown): boolean {
  return typeof host === 'string' && /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(host.trim());
}

export function wantedDebs(options: Record<string, unknown>): string[] {
  return ['skopeo', ...(localRegistry(options['registry']) ? ['docker-registry'] : [])];
}

export async function ensurePackages(tools: HookTools, options: Record<string, unknown>): Promise<void> {
  for (const snap of SNAPS) {
    if ((await succeeds('snap', ['list', snap.name])).ok) continue;
    await tools.log(`installing the ${snap.name} snap`, 'INFO');
    await run('snap', ['install', snap.name, ...snap.args]);
    if (snap.after) await run(snap.after[0] ?? '', snap.after.slice(1));
  }
  const missing: string[] = [];
  for (const deb of wantedDebs(options)) {
    const q = await succeeds('dpkg-query', ['-W', '-f=${Status}', deb]);
    if (!q.ok || !q.stdout.includes('install ok installed')) missing.push(deb);
  }
  if (missing.length === 0) return;
  await tools.log(`installing ${missing.join(' ')}`, 'INFO');
  await run('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { DEBIAN_FRONTEND: 'noninteractive' });
}
