// Request logging: one JSON line per request with method, path, route, status, duration and the
// actor's name. Headers are never logged; the child logger also redacts authorization and cookie
// fields in case a caller passes a request object into a log line.
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import type { ControllerMetrics } from './metrics.js';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
  'authorization',
  'token',
  '*.token',
  'signingSecret',
  '*.signingSecret',
];

export function httpLogger(logger: Logger): Logger {
  return logger.child({ component: 'http' }, { redact: { paths: REDACT_PATHS, censor: '[redacted]' } });
}

export function requestLogger(logger: Logger, metrics: ControllerMetrics): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    let done = false;
    const record = () => {
      if (done) return;
      done = true;
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The route template, not the path, keeps the metric's label set small.
      const route = req.route ? `${req.baseUrl}${String((req.route as { path: unknown }).path)}` : 'unmatched';
      const status = res.headersSent ? res.statusCode : 499;
      metrics.request(req.method, route, status, ms);
      const actor: unknown = res.locals['actor'];
      const fields = { method: req.method, path: req.originalUrl.split('?')[0], route, status, ms: Math.round(ms * 10) / 10, ...(typeof actor === 'string' ? { actor } : {}) };
      if (status >= 500) logger.error(fields, 'request');
      else if (status >= 400) logger.warn(fields, 'request');
      else logger.info(fields, 'request');
    };
    res.on('finish', record);
    res.on('close', record);
    next();
  };
}
