// The Juju hook tools, run by name from PATH (Juju prepends its tools directory) with argument
// arrays, never through a shell. Each method is one exact invocation of the hook-tool interface.
import { execa } from 'execa';

export type WorkloadState = 'maintenance' | 'blocked' | 'waiting' | 'active';
export type LogLevel = 'TRACE' | 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR';

export class HookToolError extends Error {
  constructor(
    readonly tool: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(`${tool} failed${exitCode !== undefined ? ` (exit ${exitCode})` : ''}${stderr ? `: ${stderr.trim()}` : ''}`);
    this.name = 'HookToolError';
  }
}

export interface HookToolsOptions {
  env?: NodeJS.ProcessEnv;
}

export class HookTools {
  constructor(private readonly options: HookToolsOptions = {}) {}

  private async run(tool: string, args: readonly string[], input?: string): Promise<string> {
    const result = await execa(tool, args, { env: this.options.env ?? process.env, extendEnv: false, reject: false, stripFinalNewline: true, ...(input !== undefined ? { input } : { stdin: 'ignore' as const }) });
    if (result.failed) throw new HookToolError(tool, result.exitCode, String(result.stderr ?? result.message));
    return String(result.stdout);
  }

  private async json<T>(tool: string, args: readonly string[]): Promise<T> {
    const out = await this.run(tool, args);
    try {
      return (out.trim() === '' ? null : JSON.parse(out)) as T;
    } catch {
      throw new HookToolError(tool, 0, 'output is not JSON');
    }
  }

  async configGet(): Promise<Record<string, unknown>> {
    return (await this.json<Record<string, unknown> | null>('config-get', ['--format=json'])) ?? {};
  }

  async statusSet(state: WorkloadState, message = ''): Promise<void> {
    await this.run('status-set', [state, '--', message]);
  }

  async isLeader(): Promise<boolean> {
    return (await this.json<boolean>('is-leader', ['--format=json'])) === true;
  }

  async relationIds(endpoint: string): Promise<string[]> {
    return (await this.json<string[] | null>('relation-ids', [endpoint, '--format=json'])) ?? [];
  }

  async relationList(relationId: string, app = false): Promise<string[] | string> {
    return (await this.json<string[] | string | null>('relation-list', ['--format=json', '-r', relationId, ...(app ? ['--app'] : [])])) ?? [];
  }

  /** The databag of a unit, or of an application with `app`. */
  async relationGet(relationId: string, unitOrApp: string, app = false): Promise<Record<string, string>> {
    return (await this.json<Record<string, string> | null>('relation-get', ['--format=json', '-r', relationId, ...(app ? ['--app'] : []), '-', unitOrApp])) ?? {};
  }

  /** Sets keys of this unit's (or, leader only, this application's) databag; "" deletes a key. */
  async relationSet(relationId: string, values: Record<string, string>, app = false): Promise<void> {
    await this.run('relation-set', ['-r', relationId, ...(app ? ['--app'] : []), '--file', '-'], JSON.stringify(values));
  }

  async secretGet(id: string): Promise<Record<string, string>> {
    return (await this.json<Record<string, string> | null>('secret-get', ['--format=json', id])) ?? {};
  }

  /** The address other applications reach this unit at over `binding` (first ingress address). */
  async ingressAddress(binding: string): Promise<string | undefined> {
    const info = await this.json<{ 'ingress-addresses'?: string[] } | null>('network-get', [binding, '--format=json']);
    return info?.['ingress-addresses']?.[0];
  }

  async openPort(port: number): Promise<void> {
    await this.run('open-port', [`${port}/tcp`]);
  }

  async applicationVersionSet(version: string): Promise<void> {
    await this.run('application-version-set', ['--', version]);
  }

  async log(message: string, level: LogLevel = 'INFO'): Promise<void> {
    await this.run('juju-log', ['-l', level, '--', message]);
  }

  async actionGet(): Promise<Record<string, unknown>> {
    return (await this.json<Record<string, unknown> | null>('action-get', ['--format=json'])) ?? {};
  }

  async actionSet(values: Record<string, string>): Promise<void> {
    const pairs = Object.entries(values).map(([k, v]) => `${k}=${v}`);
    if (pairs.length > 0) await this.run('action-set', pairs);
  }

  async actionFail(message: string): Promise<void> {
    await this.run('action-fail', ['--', message]);
  }
}
