// The controller's systemd service: the unit file, written only when its text changes, and the
// systemctl calls that follow (daemon-reload, enable --now, restart or reload) made only when needed.
import { execa } from 'execa';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';

export const SERVICE_NAME = 'heliostat.service';

export interface ServicePaths {
  /** The charm's root (holds dist/). */
  charmDir: string;
  /** The rendered controller configuration. */
  configFile: string;
  /** Where unit files go (default /etc/systemd/system). */
  unitDir: string;
  /** The node executable. */
  node: string;
  dataDir: string;
}

export function renderUnit(p: ServicePaths): string {
  return [
    '[Unit]',
    'Description=heliostat controller (OpenStack rock builds, mirror and Sunbeam attach)',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${p.node} ${join(p.charmDir, 'dist/src/cli/main.js')} serve --config ${p.configFile}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    `Environment=HOME=${p.dataDir}`,
    `WorkingDirectory=${p.dataDir}`,
    'Restart=on-failure',
    'RestartSec=5',
    'TimeoutStopSec=330',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** Writes `text` to `file` (atomically) unless it already holds exactly that; true when written. */
export async function writeIfChanged(file: string, text: string, mode = 0o644): Promise<boolean> {
  let current: string | undefined;
  try {
    current = await readFile(file, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) return false;
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
  return true;
}

export type Systemctl = (args: string[]) => Promise<void>;

export const systemctl: Systemctl = async (args) => {
  await execa('systemctl', args, { stdin: 'ignore' });
};

export interface ServiceChange {
  unitChanged: boolean;
  configChanged: boolean;
  /** The change touches what the controller reads only at start (mirror store, data dir, listen address). */
  restartNeeded?: boolean;
  /** Whether the unit existed before this run. */
  existed: boolean;
}

/** The systemctl calls a change needs, in order (none when nothing changed). */
export function plannedCalls(change: ServiceChange): string[][] {
  if (change.unitChanged) {
    const calls = [['daemon-reload'], ['enable', '--now', SERVICE_NAME]];
    if (change.existed) calls.push(['restart', SERVICE_NAME]);
    return calls;
  }
  if (change.configChanged) return [[change.restartNeeded ? 'restart' : 'reload', SERVICE_NAME]];
  return [];
}

/** Writes the unit file and makes systemd run it with the current configuration. */
/** Settings the controller reads only when it starts: a change to one needs a restart, not a reload. */
const START_ONLY = ['mirror', 'dataDir', 'listen'] as const;

/** Whether going from the rendered config `before` to `after` changes a start-only setting. */
export function restartNeeded(before: string, after: string): boolean {
  const read = (text: string): Record<string, unknown> => {
    try {
      const doc: unknown = parse(text);
      return typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  };
  const a = read(before);
  const b = read(after);
  return START_ONLY.some((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}

export async function ensureService(p: ServicePaths, configChanged: boolean, run: Systemctl = systemctl, restartNeeded = false): Promise<string[][]> {
  const unitFile = join(p.unitDir, SERVICE_NAME);
  let existed = true;
  try {
    await readFile(unitFile);
  } catch {
    existed = false;
  }
  const unitChanged = await writeIfChanged(unitFile, renderUnit(p));
  const calls = plannedCalls({ unitChanged, configChanged, restartNeeded, existed });
  for (const args of calls) await run(args);
  return calls;
}

export async function stopService(run: Systemctl = systemctl): Promise<void> {
  await run(['disable', '--now', SERVICE_NAME]);
}
