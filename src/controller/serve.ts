// `heliostat serve` composed: one express app with the controller's HTTP API (/api/v1, probes,
// metrics) and, beside it, the mirror (its JSON API and the browsable StarlingX view), under the
// process runtime (signals, reload, drain). The composition is this one function.
import express from 'express';
import { createMirrorRouter } from '../../mirror/server/index.js';
import { mountControllerHttp } from './http/index.js';
import { startController, type ComposeContext, type RequestHandler, type RunningController, type RuntimeOptions } from './runtime.js';

export function composeApp({ controller, config, logger, store }: ComposeContext): express.Express {
  const app = express();
  mountControllerHttp(app, controller, { ...config.http, logger });
  app.use(createMirrorRouter(store, { readAuth: config.http.mirrorRead, logger }));
  return app;
}

export function serve(options: Omit<RuntimeOptions, 'compose'>): Promise<RunningController> {
  return startController({ ...options, compose: (context): RequestHandler => composeApp(context) });
}
