// The mirror served on its own (`heliostat mirror serve`): the router, a liveness probe, and
// answers for everything else, so no request ever gets express's default HTML error page.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Express } from 'express';
import type { MirrorStore } from '../stores/store.js';
import { errorHandler, sendError } from './errors.js';
import { createMirrorRouter, type MirrorRouterOptions } from './router.js';

export function createMirrorApp(store: MirrorStore, options: MirrorRouterOptions = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  // Behind a proxy, the operator sets this; trusting X-Forwarded-* by default would let any
  // client choose the URLs the pages print.
  app.set('trust proxy', false);
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').set('Cache-Control', 'no-store').send('ok\n');
  });
  app.use(createMirrorRouter(store, options));
  app.use((req, res) => sendError(req, res, 404, 'not found'));
  app.use(errorHandler(store.location, options.logger));
  return app;
}

export interface RunningServer {
  server: Server;
  /** `http://host:port` as bound (the real port when 0 was asked for). */
  url: string;
  close(graceMs?: number): Promise<void>;
}

/** Listens on host:port; close() stops accepting, lets downloads finish for `graceMs`, then cuts them. */
export async function listenMirror(app: Express, host: string, port: number): Promise<RunningServer> {
  const server = app.listen(port, host);
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shown}:${address.port}`,
    async close(graceMs = 10_000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), graceMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
