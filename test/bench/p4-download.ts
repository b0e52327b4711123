// P4: downloading a 500 MiB rock through the mirror server against nginx serving the same file
// from the same disk, side by side. One build whose rock is 500 MiB of incompressible,
// deterministic bytes is published to a filesystem store; the store's consumer view hard-links
// the rock under `<train>/<release>/<series>/<build-id>/outputs/rocks/…`, so nginx (its own
// minimal configuration: one server on loopback, `root` = the store root, sendfile on) and the
// mirror (which resolves the path through build.json to the blob, the same inode) serve the same
// page-cached bytes under the same URL path.
//
// The client runs in a worker thread, so it does not share the mirror server's event loop: both
// servers face the same client, in its own thread. The warm-up download from each server hashes
// the body and checks it against the published digest; timed downloads only count bytes (neither
// is hashed). Then rounds alternate which server goes first; the ratio is of the median MiB/s.
// A range request for the last 100 MiB is measured the same way, as a secondary figure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants as fsc } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { outputKey } from '../../mirror/layout.js';
import { publishBuild } from '../../mirror/publish.js';
import { createMirrorApp, listenMirror } from '../../mirror/server/index.js';
import { FsStore } from '../../mirror/stores/fs.js';
import { metadata } from '../mirror/helpers.js';
import { MiB, median, round, since, type BenchContext, type BenchFigures, type Benchmark } from './common.js';
import { writeRandomFile } from './build-shape.js';

const GOAL = 0.8;
const GOAL_TEXT = `≥ ${GOAL}× nginx`;
const ROCK_PATH = 'rocks/keystone_2024.1_amd64.rock';
const RANGE_BYTES = 100 * MiB;

function envInt(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isSafeInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** The nginx executable: on PATH or in the sbin directories a non-root PATH may leave out. */
function findNginx(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean);
  for (const dir of dirs) {
    const path = join(dir, 'nginx');
    try {
      accessSync(path, fsc.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

// ---- the download client ------------------------------------------------------------------------

interface DownloadRequest {
  id: number;
  url: string;
  range?: string;
  hash: boolean;
}

interface Download {
  status: number;
  contentLength: number;
  bytes: number;
  ms: number;
  sha256?: string;
  error?: string;
}

/**
 * The client, run in a worker thread: one GET per request on a fresh connection, the body counted
 * (and hashed when asked) chunk by chunk and dropped. Plain CommonJS, since it is evaluated.
 */
const CLIENT_SOURCE = `
const { parentPort } = require('node:worker_threads');
const http = require('node:http');
const { createHash } = require('node:crypto');
parentPort.on('message', (job) => {
  const began = performance.now();
  const hash = job.hash ? createHash('sha256') : undefined;
  const done = (result) => parentPort.postMessage({ id: job.id, ...result });
  const req = http.get(job.url, { agent: false, headers: job.range ? { Range: job.range } : {} }, (res) => {
    let bytes = 0;
    res.on('data', (chunk) => {
      bytes += chunk.length;
      if (hash) hash.update(chunk);
    });
    res.on('end', () =>
      done({
        status: res.statusCode,
        contentLength: Number(res.headers['content-length'] ?? -1),
        bytes,
        ms: performance.now() - began,
        sha256: hash ? 'sha256:' + hash.digest('hex') : undefined,
      }),
    );
    res.on('error', (err) => done({ status: res.statusCode, contentLength: -1, bytes, ms: 0, error: String(err) }));
  });
  req.on('error', (err) => done({ status: 0, contentLength: -1, bytes: 0, ms: 0, error: String(err) }));
});
`;

class DownloadClient {
  readonly #worker = new Worker(CLIENT_SOURCE, { eval: true });
  readonly #pending = new Map<number, (d: Download) => void>();
  #next = 0;

  constructor() {
    this.#worker.on('message', (msg: Download & { id: number }) => {
      this.#pending.get(msg.id)?.(msg);
      this.#pending.delete(msg.id);
    });
    this.#worker.on('error', (err) => {
      for (const resolve of this.#pending.values()) resolve({ status: 0, contentLength: -1, bytes: 0, ms: 0, error: String(err) });
      this.#pending.clear();
    });
  }

  get(url: string, options: { range?: string; hash?: boolean } = {}): Promise<Download> {
    const id = this.#next++;
    const job: DownloadRequest = { id, url, hash: options.hash ?? false, ...(options.range ? { range: options.range } : {}) };
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    await this.#worker.terminate();
  }
}

// ---- nginx --------------------------------------------------------------------------------------

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function nginxConfig(dir: string, root: string, port: number): string {
  const at = (name: string) => join(dir, name);
  return `# P4: one server on loopback, in the foreground, everything it writes under ${dir}.
daemon off;
master_process off;
worker_processes 1;
pid ${at('nginx.pid')};
error_log ${at('error.log')} warn;
events {
  worker_connections 64;
}
http {
  access_log ${at('access.log')};
  client_body_temp_path ${at('tmp/body')};
  proxy_temp_path ${at('tmp/proxy')};
  fastcgi_temp_path ${at('tmp/fastcgi')};
  uwsgi_temp_path ${at('tmp/uwsgi')};
  scgi_temp_path ${at('tmp/scgi')};
  types {
    application/x-tar rock tar;
  }
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / {
    }
  }
}
`;
}

/** SIGQUIT (graceful), then SIGKILL if it has not exited within `graceMs`. */
async function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGQUIT');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

interface RunningNginx {
  url: string;
  version: string;
  config: string;
}

/** Starts nginx on a free loopback port; retries with another port if it could not bind. */
async function startNginx(ctx: BenchContext, nginx: string, dir: string, root: string, probePath: string): Promise<RunningNginx> {
  const version = (spawnSync(nginx, ['-v'], { encoding: 'utf8' }).stderr || '').trim();
  await mkdir(join(dir, 'tmp'), { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = join(dir, 'nginx.conf');
    await writeFile(config, nginxConfig(dir, root, port));
    const child = spawn(nginx, ['-p', `${dir}/`, '-e', join(dir, 'error.log'), '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    ctx.defer('stop nginx', () => stopProcess(child));
    const url = `http://127.0.0.1:${port}`;
    const began = performance.now();
    while (child.exitCode === null && child.signalCode === null && since(began) < 10_000) {
      const ok = await fetch(`${url}${probePath}`, { method: 'HEAD' }).then(
        (r) => r.status,
        () => 0,
      );
      if (ok === 200) return { url, version, config };
      if (ok !== 0) throw new Error(`nginx answered ${ok} for ${probePath}; error log: ${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const log = `${stderr}${await readFile(join(dir, 'error.log'), 'utf8').catch(() => '')}`.trim();
    await stopProcess(child);
    if (attempt < 3 && /Address already in use/.test(log)) continue;
    throw new Error(`nginx did not start: ${log || 'no output'}`);
  }
}

// ---- the benchmark ------------------------------------------------------------------------------

interface Sample {
  server: 'mirror' | 'nginx';
  round: number;
  ms: number;
  mibPerS: number;
}

function check(d: Download, server: string, what: string, status: number, length: number): void {
  if (d.error) throw new Error(`${server} ${what}: ${d.error}`);
  if (d.status !== status || d.contentLength !== length || d.bytes !== length) {
    throw new Error(`${server} ${what}: status ${d.status}, Content-Length ${d.contentLength}, ${d.bytes} bytes received; expected ${status} with ${length} bytes`);
  }
}

async function run(ctx: BenchContext): Promise<BenchFigures> {
  const rockBytes = envInt('HELIOSTAT_BENCH_P4_ROCK_MIB', 500) * MiB;
  const rounds = envInt('HELIOSTAT_BENCH_P4_ROUNDS', 5);
  // The last 100 MiB; the last fifth of a smaller rock in a reduced run.
  const rangeBytes = Math.min(RANGE_BYTES, Math.floor(rockBytes / 5));
  const setup = {
    rockMiB: rockBytes / MiB,
    rounds,
    rangeMiB: round(rangeBytes / MiB, 2),
    client: 'node:http in a worker thread, one connection per download, body counted and dropped',
    hashing: 'warm-up downloads only (checked against the published digest); timed downloads are not hashed, on either server',
  };
  const nginx = findNginx();
  if (!nginx) {
    const note = 'not run: nginx is not installed (bash .ci/install-test-deps installs nginx-light)';
    if (process.env.CI) throw new Error(note);
    return { goal: GOAL_TEXT, met: false, note, setup };
  }

  const dir = await mkdtemp(join(tmpdir(), 'heliostat-bench-p4-'));
  ctx.defer('remove P4 files', () => rm(dir, { recursive: true, force: true }));

  ctx.log(`writing a ${rockBytes / MiB} MiB rock and publishing it`);
  const source = join(dir, 'staged', 'keystone.rock');
  await writeRandomFile(source, 'p4-keystone', rockBytes);
  const store = new FsStore(join(dir, 'mirror'), { fsync: false });
  const buildId = '20261101T100000Z';
  const meta = metadata(buildId);
  const published = await publishBuild(store, { metadata: meta, files: [{ path: ROCK_PATH, source }] });
  if (published.viewLinks === 0) throw new Error('the filesystem store did not materialise the consumer view');
  await rm(source);
  const record = JSON.parse((await store.get(published.recordKey))?.toString('utf8') ?? '{}') as {
    files?: Record<string, { digest: string; size: number }>;
  };
  const digest = record.files?.[ROCK_PATH]?.digest;
  if (!digest) throw new Error(`build.json has no ${ROCK_PATH}`);
  // The same path under both servers: the view key is a path below the store root.
  const path = `/${outputKey(meta, buildId, ROCK_PATH)}`;
  ctx.check();

  const mirror = await listenMirror(createMirrorApp(store), '127.0.0.1', 0);
  ctx.defer('close mirror server', () => mirror.close(1000));
  const web = await startNginx(ctx, nginx, join(dir, 'nginx'), store.root, path);
  const client = new DownloadClient();
  ctx.defer('stop download client', () => client.close());
  const servers = { mirror: mirror.url, nginx: web.url } as const;
  const names = ['mirror', 'nginx'] as const;
  ctx.log(`mirror ${mirror.url}, ${web.version} ${web.url}, path ${path}`);

  // Warm-up, once each: the page cache, the mirror's parsed records, and a check of the bytes.
  for (const name of names) {
    const d = await client.get(`${servers[name]}${path}`, { hash: true });
    check(d, name, 'warm-up', 200, rockBytes);
    if (d.sha256 !== digest) throw new Error(`${name} sent bytes with digest ${d.sha256 ?? '?'}, expected ${digest}`);
    const r = await client.get(`${servers[name]}${path}`, { range: `bytes=-${rangeBytes}`, hash: false });
    check(r, name, 'range warm-up', 206, rangeBytes);
  }
  ctx.check();

  const whole: Sample[] = [];
  const ranged: Sample[] = [];
  for (let round = 1; round <= rounds; round++) {
    const order = round % 2 === 1 ? names : [...names].reverse();
    for (const name of order) {
      const d = await client.get(`${servers[name]}${path}`);
      check(d, name, `round ${round}`, 200, rockBytes);
      whole.push({ server: name, round, ms: round3(d.ms), mibPerS: round3(rockBytes / MiB / (d.ms / 1000)) });
      ctx.check();
    }
    for (const name of order) {
      const d = await client.get(`${servers[name]}${path}`, { range: `bytes=-${rangeBytes}` });
      check(d, name, `range round ${round}`, 206, rangeBytes);
      ranged.push({ server: name, round, ms: round3(d.ms), mibPerS: round3(rangeBytes / MiB / (d.ms / 1000)) });
      ctx.check();
    }
    ctx.log(`round ${round}: ${whole.slice(-2).map((s) => `${s.server} ${s.mibPerS.toFixed(0)} MiB/s`).join(', ')}`);
  }

  const med = (samples: Sample[], server: string) => round(median(samples.filter((s) => s.server === server).map((s) => s.mibPerS)), 1);
  const mirrorMiBs = med(whole, 'mirror');
  const nginxMiBs = med(whole, 'nginx');
  const ratio = round(mirrorMiBs / nginxMiBs, 3);
  const rangeMirror = med(ranged, 'mirror');
  const rangeNginx = med(ranged, 'nginx');
  const met = ratio >= GOAL;
  return {
    goal: GOAL_TEXT,
    met,
    ...(met ? {} : { note: `the mirror served ${mirrorMiBs} MiB/s against nginx's ${nginxMiBs} MiB/s (median of ${rounds})` }),
    ratio,
    mirrorMiBs,
    nginxMiBs,
    range: { bytes: rangeBytes, ratio: round(rangeMirror / rangeNginx, 3), mirrorMiBs: rangeMirror, nginxMiBs: rangeNginx },
    nginx: web.version,
    setup,
    samples: whole,
    rangeSamples: ranged,
  };
}

const round3 = (value: number) => round(value, 3);

export const P4: Benchmark = {
  name: 'P4',
  title: 'downloading a 500 MiB rock: mirror server against nginx',
  goal: GOAL_TEXT,
  budgetS: 300,
  run,
  summarise: (r) => {
    if (r.ratio === undefined) return ['not run'];
    const range = r.range as { ratio: number; mirrorMiBs: number; nginxMiBs: number };
    return [
      `mirror ${Number(r.mirrorMiBs)} MiB/s, nginx ${Number(r.nginxMiBs)} MiB/s: ratio ${Number(r.ratio)}`,
      `last ${round(Number((r.range as { bytes: number }).bytes) / MiB, 1)} MiB (range): mirror ${String(range.mirrorMiBs)} MiB/s, nginx ${String(range.nginxMiBs)} MiB/s: ratio ${String(range.ratio)}`,
    ];
  },
};
