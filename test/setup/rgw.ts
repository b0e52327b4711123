// Vitest global setup: one real S3 server (Ceph RGW on a single-node memstore cluster) for the whole
// run, started by test/fixtures/rgw/start-rgw.sh under a private directory in the OS temp dir, on
// the default ports when they are free and on free ephemeral ports otherwise (so parallel runs on
// one machine do not collide). Tests read the connection with `inject('rgw')`.
//
// Without the Ceph binaries: under CI the run fails with the install hint; elsewhere `rgw` is
// undefined and the S3 tests report themselves skipped with RGW_SKIP_REASON.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, rmSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { freePort } from '../fixtures/ports.js';

export interface RgwConnection {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  region: string;
  accessKey: string;
  secretKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    rgw: RgwConnection | undefined;
  }
}

export const RGW_INSTALL_HINT = 'install the test packages with `sudo .ci/install-test-deps` (Debian: radosgw ceph-mon ceph-osd ceph-common)';
export const RGW_SKIP_REASON = `skipped: Ceph RGW is not installed; ${RGW_INSTALL_HINT}`;

const RGW_SCRIPTS = resolve(import.meta.dirname, '../fixtures/rgw');
const START = join(RGW_SCRIPTS, 'start-rgw.sh');
const STOP = join(RGW_SCRIPTS, 'stop-rgw.sh');
const BASE_PREFIX = 'heliostat-rgw-';
const REQUIRED_PROGRAMS = ['radosgw', 'radosgw-admin', 'ceph-mon', 'ceph-osd', 'ceph-authtool', 'monmaptool', 'uuidgen', 'curl', 'setsid'];
const DEFAULT_PORTS = { RGW_PORT: 7480, RGW_MON_V2_PORT: 3300, RGW_MON_V1_PORT: 6789 };

const run = promisify(execFile);

/** Programs the RGW fixture needs that are not on PATH (empty when it can run). */
export function missingRgwPrograms(): string[] {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const found = (program: string) =>
    dirs.some((dir) => {
      try {
        accessSync(join(dir, program), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  return REQUIRED_PROGRAMS.filter((p) => !found(p));
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

/** The default ports if all are free, otherwise three free ephemeral ports. */
async function choosePorts(preferDefaults: boolean): Promise<Record<keyof typeof DEFAULT_PORTS, string>> {
  const defaultsFree = preferDefaults && (await Promise.all(Object.values(DEFAULT_PORTS).map(portFree))).every(Boolean);
  const ports = defaultsFree ? Object.values(DEFAULT_PORTS) : await Promise.all([freePort(), freePort(), freePort()]);
  const [rgw, v2, v1] = ports.map(String) as [string, string, string];
  return { RGW_PORT: rgw, RGW_MON_V2_PORT: v2, RGW_MON_V1_PORT: v1 };
}

function stderrOf(err: unknown): string {
  const stderr = typeof err === 'object' && err !== null && 'stderr' in err ? err.stderr : undefined;
  return typeof stderr === 'string' ? stderr : Buffer.isBuffer(stderr) ? stderr.toString() : '';
}

export interface RgwInstance extends RgwConnection {
  base: string;
  stop(): Promise<void>;
  /** Synchronous stop (also run on process exit if stop() was never called). */
  stopSync(): void;
}

/**
 * Starts a private RGW under a fresh directory in the OS temp dir. Used by the global setup and by
 * tests that need an instance of their own (e.g. to stop it mid-operation).
 */
export async function startRgw(options: { memstoreBytes?: number; preferDefaultPorts?: boolean } = {}): Promise<RgwInstance> {
  const base = await mkdtemp(join(tmpdir(), BASE_PREFIX));
  const accessKey = `heliostat-${randomBytes(6).toString('hex')}`;
  const secretKey = randomBytes(24).toString('base64url');
  const stopEnv = { ...process.env, RGW_BASE: base, RGW_WIPE: '1' };
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stopSync);
    execFileSync(STOP, [], { env: stopEnv, timeout: 60_000, stdio: 'ignore' });
    rmSync(base, { recursive: true, force: true });
  };
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stopSync);
    await run(STOP, [], { env: stopEnv, timeout: 60_000 });
    await rm(base, { recursive: true, force: true });
  };
  // Should the process end without stopping it (an interrupted run), still leave no daemon behind.
  process.once('exit', stopSync);

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    // Another run may grab the same ports between the check and the start: then pick new ones.
    const ports = await choosePorts(attempt === 0 && options.preferDefaultPorts !== false);
    const env = { ...process.env, RGW_BASE: base, ...ports, RGW_ACCESS_KEY: accessKey, RGW_SECRET_KEY: secretKey, RGW_MEMSTORE_BYTES: String(options.memstoreBytes ?? 2 * 1024 ** 3) };
    try {
      await run(START, [], { env, timeout: 180_000 });
      return { endpoint: `http://127.0.0.1:${ports.RGW_PORT}`, region: 'us-east-1', accessKey, secretKey, base, stop, stopSync };
    } catch (err) {
      lastError = err;
      if (!stderrOf(err).includes('already in use')) break;
    }
  }
  await stop().catch(() => undefined);
  throw new Error(`could not start Ceph RGW for the tests: ${lastError instanceof Error ? lastError.message : String(lastError)}\n${stderrOf(lastError)}`);
}

/**
 * Stops and removes instances a killed run left behind (no exit handler runs on SIGKILL). Only
 * directories untouched for hours are taken: no test run lasts that long.
 */
async function sweepStale(maxAgeMs = 6 * 3600_000): Promise<void> {
  for (const name of await readdir(tmpdir())) {
    if (!name.startsWith(BASE_PREFIX)) continue;
    const base = join(tmpdir(), name);
    const info = await stat(base).catch(() => undefined);
    if (!info?.isDirectory() || Date.now() - info.mtimeMs < maxAgeMs) continue;
    await run(STOP, [], { env: { ...process.env, RGW_BASE: base, RGW_WIPE: '1' }, timeout: 60_000 }).catch(() => undefined);
    await rm(base, { recursive: true, force: true });
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const missing = missingRgwPrograms();
  if (missing.length > 0) {
    if (process.env.CI) throw new Error(`Ceph RGW test server unavailable: missing ${missing.join(', ')}; ${RGW_INSTALL_HINT}`);
    console.warn(`S3 tests ${RGW_SKIP_REASON} (missing ${missing.join(', ')})`);
    project.provide('rgw', undefined);
    return () => Promise.resolve();
  }
  await sweepStale();
  const rgw = await startRgw();
  project.provide('rgw', { endpoint: rgw.endpoint, region: rgw.region, accessKey: rgw.accessKey, secretKey: rgw.secretKey });
  return () => rgw.stop();
}
