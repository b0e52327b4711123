// The mirror's HTTP face as one express router: the JSON API under /api/mirror/v1, and the
// StarlingX view with its browse pages everywhere else. The controller mounts it at `/` beside its
// own routes (which live under names a train may not take, see layout.ts), and `heliostat mirror
// serve` runs it alone (app.ts). Read-only: it never writes to the store.
import { Router } from 'express';
import type { MirrorStore } from '../stores/store.js';
import { apiRouter } from './api.js';
import { readGuard, type MirrorReadAuth } from './auth.js';
import { errorHandler, type MirrorServerLogger } from './errors.js';
import { API_PREFIX } from './protocol.js';
import { claimMirrorPath, viewHandler } from './view.js';

export interface MirrorRouterOptions {
  /** Who may read; public when absent. */
  readAuth?: MirrorReadAuth;
  /** Shown at the top of every page (default "heliostat mirror"). */
  title?: string;
  /** Where failures are reported; clients only ever see a short message. */
  logger?: MirrorServerLogger;
}

export function createMirrorRouter(store: MirrorStore, options: MirrorRouterOptions = {}): Router {
  const router = Router({ caseSensitive: true, strict: true });
  const guard = readGuard(options.readAuth);
  router.use((_req, res, next) => {
    // A listing or a log must never be sniffed into something a browser would run.
    res.set('X-Content-Type-Options', 'nosniff');
    next();
  });
  router.use(`/${API_PREFIX}`, guard, apiRouter(store));
  router.use(claimMirrorPath(), guard, viewHandler(store, { brand: options.title ?? 'heliostat mirror' }));
  router.use(errorHandler(store.location, options.logger));
  return router;
}
