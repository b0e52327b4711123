// `heliostat serve` as a real child process for the restart, reload and drain tests: the entry is
// compiled on demand (into its own folder under dist/, so it never races the main build), its JSON
// log is parsed line by line, and the API is reached over a real socket.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../fixtures/rockcraft/standin.js';

const OUT = 'dist/serve-test';
const ENTRY = join(REPO_ROOT, OUT, 'test/controller/serve-entry.js');

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(join(REPO_ROOT, dir), { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) latest = Math.max(latest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return latest;
}

/** Compiles the serve entry (and what it imports) when it is missing or older than the sources. */
export function ensureServeEntryBuilt(): string {
  const sources = Math.max(newest('src'), newest('mirror'), statSync(join(REPO_ROOT, 'test/controller/serve-entry.ts')).mtimeMs);
  if (existsSync(ENTRY) && statSync(ENTRY).mtimeMs >= sources) return ENTRY;
  mkdirSync(join(REPO_ROOT, 'dist'), { recursive: true });
  const config = join(REPO_ROOT, 'dist', `tsconfig.serve-test.${process.pid}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      extends: '../tsconfig.json',
      // Type checking is the typecheck step's job; here only the JavaScript is wanted, fast.
      compilerOptions: { noEmit: false, noCheck: true, rootDir: '..', outDir: 'serve-test' },
      files: ['../test/controller/serve-entry.ts'],
      include: [],
    }),
  );
  try {
    execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', config], { stdio: 'pipe' });
  } finally {
    rmSync(config, { force: true });
  }
  return ENTRY;
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export class ServeProcess {
  readonly lines: LogLine[] = [];
  readonly output: string[] = [];
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private waiters: Array<() => void> = [];

  constructor(args: readonly string[], env: NodeJS.ProcessEnv, cwd: string) {
    this.child = spawn(process.execPath, [ensureServeEntryBuilt(), 'serve', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let buffer = '';
    this.child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const parts = buffer.split('\n');
      buffer = parts.pop() ?? '';
      for (const part of parts) this.take(part);
    });
    this.child.stderr?.on('data', (chunk: Buffer) => this.output.push(chunk.toString('utf8')));
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** The first log line matching, waiting for it to be written. */
  async waitForLog(match: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no such log line; log so far:\n${this.output.join('')}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** The base URL, once the controller says it listens. */
  async ready(): Promise<string> {
    const line = await this.waitForLog((l) => l.msg === 'heliostat controller started');
    return `http://${String(line['address'])}`;
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  private take(text: string): void {
    this.output.push(`${text}\n`);
    try {
      this.lines.push(JSON.parse(text) as LogLine);
    } catch {
      // not a log line
    }
    for (const wake of this.waiters.splice(0)) wake();
  }
}
