// The controller's HTTP face: the JSON API under /api/v1, probes, and Prometheus metrics, mounted
// on an express app the caller owns (the mirror server may share it).
import { Router, type Express, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import type { ControllerApi, HttpOptions } from '../types.js';
import { requireReader, requireWriteToken } from './auth.js';
import { errorHandler, unknownPath } from './errors.js';
import { healthz, readyz } from './health.js';
import { httpLogger, requestLogger } from './logging.js';
import { ControllerMetrics } from './metrics.js';
import { apiRouter } from './routes.js';
import { DEFAULT_SSE, type SseOptions } from './sse.js';
import { API_PREFIX } from './views.js';

export interface ControllerHttpOptions extends HttpOptions {
  logger: Logger;
  /** Registry the metrics go to; a new one (with process metrics) when absent. One mount per registry. */
  metrics?: Registry;
  /** Accept `http:` callback URLs to the loopback interface (tests, a local relay). */
  allowLoopbackHttpCallbacks?: boolean;
  /** Event stream tuning (heartbeat period, log batching). */
  sse?: Partial<SseOptions>;
  /** How long /readyz waits for the controller's status. */
  readyTimeoutMs?: number;
  now?: () => Date;
}

// API answers are per request and may describe private builds: never cached, never sniffed.
const apiHeaders: RequestHandler = (_req, res, next) => {
  res.set({ 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' });
  next();
};

export function mountControllerHttp(app: Express, controller: ControllerApi, options: ControllerHttpOptions): void {
  const logger = httpLogger(options.logger);
  let registry = options.metrics;
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'heliostat_' });
  }
  const metricsRegistry = registry;
  const metrics = new ControllerMetrics(metricsRegistry, controller);
  controller.onEvent((event) => {
    try {
      metrics.observe(event);
    } catch (error) {
      logger.warn({ reason: error instanceof Error ? error.message : String(error), event: event.type }, 'metrics: event not counted');
    }
  });

  const read = requireReader(options.writeTokens, options.mirrorRead);
  const write = requireWriteToken(options.writeTokens);
  const root = Router();
  root.use([API_PREFIX, '/healthz', '/readyz', '/metrics'], requestLogger(logger, metrics));
  root.get('/healthz', healthz);
  root.get('/readyz', readyz(controller, options.readyTimeoutMs ?? 5_000));
  root.get('/metrics', read, async (_req, res) => {
    res.set('Content-Type', metricsRegistry.contentType).send(await metricsRegistry.metrics());
  });
  root.use(
    API_PREFIX,
    apiHeaders,
    apiRouter({
      controller,
      read,
      write,
      bodyLimitBytes: options.bodyLimitBytes,
      callbacks: { allowLoopbackHttp: options.allowLoopbackHttpCallbacks ?? false },
      sse: { ...DEFAULT_SSE, ...options.sse },
      logger,
      now: options.now ?? (() => new Date()),
    }),
    unknownPath,
  );
  root.use(errorHandler(logger, options.bodyLimitBytes));
  app.disable('x-powered-by');
  app.use(root);
}

export { ApiError } from './errors.js';
export { openApiDocument } from './openapi.js';
export { apiRouter } from './routes.js';
export type { SseOptions } from './sse.js';
