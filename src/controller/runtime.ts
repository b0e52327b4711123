// The controller as a process: load the configuration, open the mirror, start the controller,
// listen, and handle signals — SIGHUP reloads (a bad file keeps the running configuration and
// says why, in the log and in /status), SIGTERM/SIGINT drain (builds finish or are cancelled after
// the grace period, queued jobs stay queued on disk) and close. The HTTP handler comes from a
// `compose` function so the composition itself (serve.ts) stays one small, separately tested step.
import { openOutput } from '../../mirror/query.js';
import { startNotifications, type BuildCoordinates, type PublishedFile } from './notify/index.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DestinationStream, Logger } from 'pino';
import type { MirrorStore } from '../../mirror/stores/store.js';
import { closeMirrorStore, openMirrorStore } from '../cli/mirror-store.js';
import type { Settings } from '../cli/settings.js';
import { describeConfig, loadControllerConfig, type ControllerConfig } from './config.js';
import { Controller } from './controller.js';
import type { CronClock } from './cron.js';
import { createLogger } from './logger.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ComposeContext {
  controller: Controller;
  config: ControllerConfig;
  logger: Logger;
  store: MirrorStore;
}

export interface RuntimeOptions {
  configPath?: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  version: string;
  compose: (context: ComposeContext) => RequestHandler;
  /** Install SIGHUP/SIGTERM/SIGINT handlers (default true). */
  signals?: boolean;
  logDestination?: DestinationStream;
  clock?: CronClock;
}

export interface RunningController {
  controller: Controller;
  server: Server;
  /** Where it listens (the port is the real one when the configuration asked for 0). */
  address: { host: string; port: number };
  /** Re-reads the configuration file; false (and the old configuration kept) when it is invalid. */
  reload(): Promise<boolean>;
  /** Drains and closes; resolves when everything has stopped. */
  shutdown(signal?: string): Promise<void>;
  /** Resolves once shutdown has completed. */
  closed: Promise<void>;
}

/** The settings the mirror-store helpers need, from the controller configuration. */
export function storeSettings(config: ControllerConfig): Settings {
  return {
    rocksRepo: config.upstream.url,
    cacheDir: config.cacheDir,
    offline: config.upstream.offline,
    verbose: false,
    archives: config.archives,
    dataDir: config.dataDir,
    mirror: config.mirror.spec,
    s3: config.mirror.s3,
  };
}

/** images.json or manifest.yaml of a committed build, for the git publisher. */
async function readBuildFile(store: MirrorStore, build: BuildCoordinates, file: PublishedFile): Promise<Uint8Array | undefined> {
  try {
    const opened = await openOutput(store, build, build.buildId, file);
    const chunks: Buffer[] = [];
    for await (const chunk of opened.stream) chunks.push(Buffer.from(chunk as Buffer));
    return Buffer.concat(chunks);
  } catch {
    // A build without a registry push has neither file: nothing to publish.
    return undefined;
  }
}

export async function startController(options: RuntimeOptions): Promise<RunningController> {
  let config = await loadControllerConfig(options.configPath, { env: options.env, cwd: options.cwd });
  const logger = createLogger({ level: config.logLevel, secrets: () => config.secrets, ...(options.logDestination ? { destination: options.logDestination } : {}) });
  const store = await openMirrorStore(storeSettings(config), config.mirror.spec, { create: true, cwd: options.cwd });
  const controller = new Controller(config, { store, logger, version: options.version, env: options.env, ...(options.clock ? { clock: options.clock } : {}) });
  await controller.start();
  const notify = (c: ControllerConfig) =>
    startNotifications(controller, c.notifications, {
      logger,
      dataDir: c.dataDir,
      readBuildFile: (build, file) => readBuildFile(store, build, file),
      ...(c.http.signingSecret ? { signingSecret: c.http.signingSecret } : {}),
    });
  let notifications = notify(config);
  let handler = options.compose({ controller, config, logger, store });
  const server = createServer((req, res) => handler(req, res));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.listen.port, config.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    await controller.drain(0);
    closeMirrorStore(store);
    throw new Error(`cannot listen on ${config.listen.host}:${config.listen.port}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const bound = server.address() as AddressInfo;
  const address = { host: config.listen.host, port: bound.port };
  logger.info({ config: describeConfig(config), address: `${address.host}:${address.port}` }, 'heliostat controller started');

  let finished!: () => void;
  const closed = new Promise<void>((resolve) => (finished = resolve));
  let shuttingDown: Promise<void> | undefined;

  const reload = async (): Promise<boolean> => {
    try {
      const next = await loadControllerConfig(options.configPath, { env: options.env, cwd: options.cwd });
      if (next.listen.host !== config.listen.host || next.listen.port !== config.listen.port) {
        logger.warn('the listen address changed in the configuration; it takes effect after a restart');
      }
      await controller.applyConfig(next);
      config = next;
      notifications.stop();
      notifications = notify(config);
      handler = options.compose({ controller, config, logger, store });
      logger.info({ config: describeConfig(config) }, 'configuration reloaded');
      return true;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      controller.reloadFailed(message);
      logger.error({ error: message }, 'configuration reload failed; the previous configuration stays in effect');
      return false;
    }
  };

  const shutdown = (signal = 'shutdown'): Promise<void> => {
    shuttingDown ??= (async () => {
      logger.info({ signal, graceMs: config.drainGraceMs }, 'draining: no new builds; running builds may finish');
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await controller.drain();
      notifications.stop();
      // Event streams stay open until told otherwise; the work is done, so they are closed now.
      server.closeAllConnections();
      await closing;
      closeMirrorStore(store);
      removeSignals();
      logger.info('controller stopped');
      finished();
    })();
    return shuttingDown;
  };

  const onHup = () => void reload();
  const onStop = (signal: NodeJS.Signals) => void shutdown(signal);
  const removeSignals = () => {
    process.off('SIGHUP', onHup);
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
  };
  if (options.signals ?? true) {
    process.on('SIGHUP', onHup);
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
  }
  return { controller, server, address, reload, shutdown, closed };
}
