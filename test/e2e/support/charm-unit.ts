// One unit of the heliostat charm, driven as Juju drives it (the charm tests' TestUnit: hook and
// action shims, stand-in hook tools, the unit's state in a JSON file) plus what a story needs on
// top: `juju config` merging options as Juju does, secrets, and relating an application. The test
// plays systemd with `SystemdPlayer`: it reads the unit file the charm wrote and carries out each
// systemctl call the stand-in recorded on a real controller process.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LISTEN_PORT } from '../../../charm/render.js';
import { SERVICE_NAME } from '../../../charm/service.js';
import { TestUnit } from '../../charm/unit.js';
import { ensureHookToolsBuilt, type HookState, type RelationState } from '../../fixtures/hook-tools/standin.js';
import { ControllerProcess } from './controller-process.js';

export class CharmUnit extends TestUnit {
  constructor() {
    ensureHookToolsBuilt();
    super();
  }

  /** `juju add-secret` (granted to the unit). */
  addSecret(id: string, content: Record<string, string>): string {
    this.update((s) => {
      s.secrets[id] = content;
    });
    return id;
  }

  /** `juju config heliostat k=v …` without running the hook (deploy-time options). */
  setOptions(options: Record<string, unknown>): void {
    this.update((s) => {
      s.config = { ...s.config, ...options };
    });
  }

  /** `juju config heliostat k=v …`: the options change, then config-changed runs. */
  async jujuConfig(options: Record<string, unknown>): Promise<HookState> {
    this.setOptions(options);
    return this.hook('config-changed');
  }

  /**
   * `juju integrate heliostat <remoteApp>` and the provider answering: relation-created and
   * -joined (the charm asks for what it needs), then the provider's application databag and
   * relation-changed.
   */
  async relate(endpoint: string, remoteApp: string, answer: Record<string, string>): Promise<HookState> {
    const id = `${endpoint}:${Object.values(this.state().relations).flat().length + 1}`;
    const relation: RelationState = { id, remoteApp, units: [`${remoteApp}/0`], data: {} };
    this.update((s) => {
      s.relations[endpoint] = [...(s.relations[endpoint] ?? []), relation];
    });
    const env = { JUJU_RELATION: endpoint, JUJU_RELATION_ID: id, JUJU_REMOTE_APP: remoteApp, JUJU_REMOTE_UNIT: `${remoteApp}/0` };
    await this.hook(`${endpoint}-relation-created`, env);
    await this.hook(`${endpoint}-relation-joined`, env);
    this.update((s) => {
      const r = s.relations[endpoint]?.find((x) => x.id === id);
      if (r) r.data[remoteApp] = answer;
    });
    return this.hook(`${endpoint}-relation-changed`, env);
  }
}

/** The parts of a systemd unit file that decide how its process runs. */
export interface UnitFile {
  execStart: string[];
  environment: Record<string, string>;
  workingDirectory?: string;
}

/** Parses [Service] ExecStart=, Environment= and WorkingDirectory= (the unit uses no quoting). */
export function parseUnit(text: string): UnitFile {
  let execStart: string[] | undefined;
  const environment: Record<string, string> = {};
  let workingDirectory: string | undefined;
  for (const line of text.split('\n')) {
    const m = /^(ExecStart|Environment|WorkingDirectory)=(.*)$/.exec(line.trim());
    if (!m?.[2]) continue;
    if (/["'\\]/.test(m[2])) throw new Error(`quoting in "${line}" is not understood here`);
    const words = m[2].split(/\s+/).filter(Boolean);
    if (m[1] === 'ExecStart') execStart = words;
    else if (m[1] === 'WorkingDirectory') workingDirectory = m[2];
    else for (const w of words) environment[w.slice(0, w.indexOf('='))] = w.slice(w.indexOf('=') + 1);
  }
  if (!execStart) throw new Error('the unit has no ExecStart');
  return { execStart, environment, ...(workingDirectory ? { workingDirectory } : {}) };
}

/**
 * systemd for the charm's unit: `sync()` carries out the systemctl calls the charm made since the
 * last sync (enable --now/start, restart, reload = SIGHUP, stop/disable --now) on the controller
 * process, started from the unit file with its Environment= over `env`.
 */
export class SystemdPlayer {
  process: ControllerProcess | undefined;
  /** Every call carried out, in order (what the charm asked of systemd). */
  readonly calls: string[][] = [];
  /** Whether each reload was taken by the controller. */
  readonly reloads: boolean[] = [];

  /**
   * `port` is the one the charm's configuration listens on (option `port`, default 8080): started
   * processes hold a machine-wide lock on it (see controller-process.ts).
   */
  constructor(
    private readonly unit: CharmUnit,
    private readonly env: NodeJS.ProcessEnv,
    private readonly port: number = LISTEN_PORT,
  ) {}

  unitFile(): UnitFile {
    return parseUnit(readFileSync(join(this.unit.unitDir, SERVICE_NAME), 'utf8'));
  }

  /** The controller's base URL, as its log says once it listens. */
  get url(): string {
    if (!this.process?.running) throw new Error('the controller is not running');
    return this.process.url;
  }

  async sync(): Promise<string[][]> {
    const fresh = this.unit.state().systemctl.slice(this.calls.length);
    for (const call of fresh) {
      this.calls.push(call);
      await this.carryOut(call);
    }
    return fresh;
  }

  async stop(): Promise<void> {
    await this.process?.stop();
    this.process = undefined;
  }

  private async carryOut(call: string[]): Promise<void> {
    const [verb, ...args] = call;
    if (verb === 'daemon-reload') return;
    if (args.filter((a) => !a.startsWith('--'))[0] !== SERVICE_NAME) throw new Error(`systemctl ${call.join(' ')}: not the charm's unit`);
    const now = args.includes('--now');
    if (verb === 'start' || (verb === 'enable' && now)) {
      if (!this.process?.running) await this.start();
    } else if (verb === 'restart') {
      await this.stop();
      await this.start();
    } else if (verb === 'reload') {
      if (!this.process?.running) throw new Error('systemctl reload of a unit that is not running');
      this.reloads.push(await this.process.reload());
    } else if (verb === 'stop' || (verb === 'disable' && now)) {
      await this.stop();
    } else if (verb !== 'enable' && verb !== 'disable') {
      throw new Error(`systemctl ${call.join(' ')}: not played here`);
    }
  }

  private async start(): Promise<void> {
    const unit = this.unitFile();
    this.process = await ControllerProcess.start(unit.execStart, {
      env: { ...this.env, ...unit.environment },
      cwd: unit.workingDirectory ?? '/',
      port: this.port,
    });
  }
}
