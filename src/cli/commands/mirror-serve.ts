// `heliostat mirror serve`: the mirror's HTTP server on its own (the controller mounts the same
// router beside its API), and `heliostat mirror hash-password`, which makes the password hashes
// its read-access file takes. Serving runs until SIGINT or SIGTERM, then lets downloads in flight
// finish for a few seconds before it closes.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parse } from 'yaml';
import { z } from 'zod';
import { hashPassword, isPasswordHash, validateReadAuth, type MirrorReadAuth } from '../../../mirror/server/auth.js';
import type { RunningServer } from '../../../mirror/server/app.js';
import { UsageError } from '../../errors.js';
import type { CliEnv } from '../env.js';
import { printJson } from '../output.js';
import { say, storeOptions, withStore, type MirrorFlags } from './mirror-common.js';

type ServeFlags = MirrorFlags & { listen?: string; title?: string; readAuth?: string };

export interface ListenAddress {
  host: string;
  port: number;
}

/** `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (all interfaces); port 0 picks a free one. */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]*)):(\d{1,5})$/.exec(text);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UsageError(`invalid --listen ${JSON.stringify(text)}: expected HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

const readAuthSchema = z
  .object({
    public: z.boolean(),
    clients: z
      .array(
        z
          .object({
            name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'expected a client name of letters, digits, ".", "_", "@" and "-"'),
            token: z.string().min(16, 'must be at least 16 characters').optional(),
            passwordHash: z.string().refine(isPasswordHash, 'expected scrypt$<salt hex>$<hash hex> (see heliostat mirror hash-password)').optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

/** Reads a read-access file (YAML or JSON). Messages name the field, never a value: the file holds secrets. */
export async function loadReadAuth(path: string): Promise<MirrorReadAuth> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read --read-auth file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  let data: unknown;
  try {
    data = parse(text);
  } catch {
    throw new UsageError(`--read-auth file ${path} is not valid YAML or JSON`);
  }
  const parsed = readAuthSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`--read-auth file ${path}: ${issue?.path.join('.') || 'top level'}: ${issue?.message ?? 'invalid'}`);
  }
  try {
    validateReadAuth(parsed.data);
  } catch (err) {
    throw new UsageError(`--read-auth file ${path}: ${(err as Error).message}`);
  }
  return parsed.data;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const done = (signal: NodeJS.Signals) => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolveSignal(signal);
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

export function registerMirrorServe(mirror: Command, env: CliEnv): void {
  storeOptions(
    mirror
      .command('serve')
      .description('serve the mirror over HTTP: the StarlingX view with downloads, browse pages and the JSON API (/api/mirror/v1)')
      .option('--listen <host:port>', 'address to listen on (default 127.0.0.1:8080; port 0 picks a free one)')
      .option('--title <text>', 'name shown at the top of every page')
      .option('--read-auth <file>', 'YAML/JSON file {public, clients: [{name, token?, passwordHash?}]} limiting who may read'),
  ).action(async (flags: ServeFlags, cmd: Command) => {
    const address = parseListen(flags.listen ?? '127.0.0.1:8080');
    const readAuth = flags.readAuth === undefined ? undefined : await loadReadAuth(resolve(env.cwd, flags.readAuth));
    await withStore(env, cmd, async (store) => {
      // Loaded here, not at the top: express costs every other command a quarter second at start.
      const { createMirrorApp, listenMirror } = await import('../../../mirror/server/app.js');
      const app = createMirrorApp(store, {
        ...(readAuth ? { readAuth } : {}),
        ...(flags.title ? { title: flags.title } : {}),
        logger: { error: (details, message) => env.stderr.write(`heliostat: ${message}: ${describe(details)}\n`) },
      });
      let running: RunningServer;
      try {
        running = await listenMirror(app, address.host, address.port);
      } catch (err) {
        throw new Error(`cannot listen on ${flags.listen ?? '127.0.0.1:8080'}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
      const out = env.output(flags.json);
      const access = readAuth && !readAuth.public ? `${readAuth.clients.length} clients` : 'public';
      if (out.json) printJson(out, { url: `${running.url}/`, mirror: store.location, access });
      say(out, `serving ${store.location} at ${running.url}/ (read access: ${access}); stop with Ctrl-C`);
      const signal = await untilSignal();
      say(out, `${signal}: stopping`);
      await running.close(5_000);
    });
  });

  mirror
    .command('hash-password')
    .description('read a password on stdin and print its scrypt hash, for the passwordHash of a mirror read client')
    .action(async () => {
      if (process.stdin.isTTY) env.stderr.write('password (then Enter and Ctrl-D): ');
      const text = (await readStdin()).replace(/\r?\n$/, '');
      if (text === '') throw new UsageError('no password on stdin: pipe it in, e.g. heliostat mirror hash-password < password-file');
      if (/[\r\n]/.test(text)) throw new UsageError('the password on stdin must be one line');
      env.stdout.write(`${await hashPassword(text)}\n`);
    });
}

/** One line about a failure for the operator: the error's message, method and path; nothing else from the request. */
function describe(details: object): string {
  const d = details as { err?: unknown; method?: string; path?: string };
  const message = d.err instanceof Error ? d.err.message : String(d.err);
  return `${d.method ?? ''} ${d.path ?? ''}: ${message.split('\n')[0] ?? ''}`.trim();
}
