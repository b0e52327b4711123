// One charm unit run as Juju runs it: hook and action shims with Juju's environment, the stand-in
// hook tools (and systemctl, snap, apt) first on PATH, the unit's state in a JSON file that tests
// set before and read after each hook.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { emptyHookState, HOOK_STATE_ENV, HOOK_TOOLS_BIN_DIR, readHookState, REPO_ROOT, writeHookState, type HookState } from '../fixtures/hook-tools/standin.js';

/** config.yaml's defaults, as config-get returns them for options nobody set. */
export function configDefaults(): Record<string, unknown> {
  const doc = parse(readFileSync(join(REPO_ROOT, 'config.yaml'), 'utf8')) as { options: Record<string, { default?: unknown }> };
  return Object.fromEntries(Object.entries(doc.options).flatMap(([name, o]) => (o.default !== undefined ? [[name, o.default]] : [])));
}

/** What is already on a machine the charm is deployed to (install then skips it). */
// Asynchronous: a test may serve the controller's API from its own process meanwhile.
const run = promisify(execFile);

export const PROVISIONED = { snaps: ['lxd', 'rockcraft', 'juju'], debs: ['skopeo'] };

export class TestUnit {
  readonly dir = mkdtempSync(join(tmpdir(), 'heliostat-charm-'));
  readonly stateFile = join(this.dir, 'state.json');
  readonly dataDir = join(this.dir, 'data');
  readonly unitDir = join(this.dir, 'systemd');
  readonly configFile = join(this.dataDir, 'heliostat.yaml');

  constructor(
    readonly unit = 'heliostat/0',
    /** The controller's address for update-status and actions (default the rendered port on loopback). */
    readonly origin?: string,
  ) {
    writeHookState(this.stateFile, { ...emptyHookState(), config: configDefaults(), ...PROVISIONED });
  }

  state(): HookState {
    return existsSync(this.stateFile) ? readHookState(this.stateFile) : emptyHookState();
  }

  update(fn: (s: HookState) => void): HookState {
    const s = this.state();
    fn(s);
    writeHookState(this.stateFile, s);
    return s;
  }

  config(options: Record<string, unknown>): void {
    this.update((s) => {
      s.config = { ...configDefaults(), ...options };
    });
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PATH: `${HOOK_TOOLS_BIN_DIR}:${process.env['PATH'] ?? ''}`,
      HOME: this.dir,
      CHARM_DIR: REPO_ROOT,
      JUJU_CHARM_DIR: REPO_ROOT,
      JUJU_UNIT_NAME: this.unit,
      JUJU_MODEL_NAME: 'ops',
      JUJU_MODEL_UUID: '00000000-0000-4000-8000-000000000000',
      JUJU_VERSION: '3.6.8',
      [HOOK_STATE_ENV]: this.stateFile,
      HELIOSTAT_CHARM_DATA_DIR: this.dataDir,
      HELIOSTAT_SYSTEMD_DIR: this.unitDir,
      ...(this.origin ? { HELIOSTAT_CHARM_API_URL: this.origin } : {}),
      ...extra,
    };
  }

  /** Runs hooks/<name> (the shim) and returns the state after it. */
  async hook(name: string, extra: Record<string, string> = {}): Promise<HookState> {
    await run(join(REPO_ROOT, 'hooks', name), [], { env: this.env({ JUJU_HOOK_NAME: name, JUJU_DISPATCH_PATH: `hooks/${name}`, JUJU_CONTEXT_ID: `${this.unit}-${name}`, ...extra }) });
    return this.state();
  }

  /** Runs actions/<name> with its params; returns the action's results or failure. */
  async action(name: string, params: Record<string, unknown> = {}): Promise<NonNullable<HookState['action']>> {
    this.update((s) => {
      s.action = { params, results: {} };
    });
    await run(join(REPO_ROOT, 'actions', name), [], { env: this.env({ JUJU_ACTION_NAME: name, JUJU_DISPATCH_PATH: `actions/${name}`, JUJU_ACTION_UUID: '1' }) });
    const action = this.state().action;
    if (!action) throw new Error('the action left no state');
    return action;
  }

  rendered(): Record<string, unknown> {
    return parse(readFileSync(this.configFile, 'utf8')) as Record<string, unknown>;
  }

  lastStatus(): { state: string; message: string } | undefined {
    return this.state().statuses.at(-1);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export const s3RelationEnv = { JUJU_RELATION: 's3-credentials', JUJU_RELATION_ID: 's3-credentials:7', JUJU_REMOTE_APP: 's3-integrator', JUJU_REMOTE_UNIT: 's3-integrator/0' };
