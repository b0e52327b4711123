// The controller as the operating system runs it: any command line (the systemd unit's ExecStart,
// or `heliostat serve --config FILE`) started as a real child process, its JSON log read line by
// line, SIGHUP answered by a "reloaded" or "reload failed" line, SIGTERM by an orderly exit.
// A configuration rendered by the charm listens on a fixed port, so such processes take a
// machine-wide lock on that port first: two story files never fight over it.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive as alive } from '../../fixtures/ports.js';

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export interface StartOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** A fixed port the process listens on: held under a lock until the process has exited. */
  port?: number;
}

/** Takes `<tmp>/heliostat-port-<port>.lock` (waiting while a live process holds it); returns its release. */
export async function lockPort(port: number, timeoutMs = 240_000): Promise<() => void> {
  const file = join(tmpdir(), `heliostat-port-${port}.lock`);
  for (const deadline = Date.now() + timeoutMs; ; await sleep(250)) {
    try {
      const fd = openSync(file, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder = Number.NaN;
    try {
      holder = Number(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    // A holder that died without releasing (a killed test run) leaves a stale lock behind.
    if (Number.isInteger(holder) && !alive(holder)) rmSync(file, { force: true });
    else if (Date.now() > deadline) throw new Error(`port ${port} stayed locked by process ${holder}`);
  }
}

export class ControllerProcess {
  readonly lines: LogLine[] = [];
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;
  /** The API's base URL, once started. */
  url = '';
  private constructor(
    private readonly child: ChildProcess,
    release: () => void,
  ) {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const part of parts) this.take(part);
    });
    child.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk.toString('utf8')));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        release();
        resolve(code);
      }),
    );
  }

  /** Starts `argv` (program first) and waits until the controller says it listens. */
  static async start(argv: readonly string[], options: StartOptions): Promise<ControllerProcess> {
    const [program, ...args] = argv;
    if (!program) throw new Error('empty command line');
    const release = options.port !== undefined ? await lockPort(options.port) : () => undefined;
    const child = spawn(program, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new ControllerProcess(child, release);
    p.url = await p.ready();
    return p;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first log line from index `from` on that matches, waiting for it to be written. */
  async waitForLog(match: (line: LogLine) => boolean, from = 0, timeoutMs = 60_000): Promise<LogLine> {
    for (const deadline = Date.now() + timeoutMs; ; await sleep(50)) {
      const found = this.lines.slice(from).find(match);
      if (found) return found;
      if (!this.running) throw new Error(`the controller exited (${String(this.child.exitCode ?? this.child.signalCode)}); output:\n${this.output.join('')}`);
      if (Date.now() > deadline) throw new Error(`no such log line; output so far:\n${this.output.join('')}`);
    }
  }

  /** The base URL, once the controller says it listens. */
  async ready(): Promise<string> {
    const line = await this.waitForLog((l) => l.msg === 'heliostat controller started');
    return `http://${String(line['address']).replace(/^0\.0\.0\.0:/, '127.0.0.1:')}`;
  }

  /** SIGHUP; resolves with whether the controller took the new configuration. */
  async reload(): Promise<boolean> {
    const from = this.lines.length;
    this.child.kill('SIGHUP');
    const line = await this.waitForLog((l) => l.msg === 'configuration reloaded' || l.msg.startsWith('configuration reload failed'), from);
    return line.msg === 'configuration reloaded';
  }

  /** SIGTERM, and the exit code once it has drained (SIGKILL after `graceMs`). */
  async stop(graceMs = 60_000): Promise<number | null> {
    if (!this.running) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  private take(text: string): void {
    this.output.push(`${text}\n`);
    try {
      this.lines.push(JSON.parse(text) as LogLine);
    } catch {
      // not a log line
    }
  }
}
