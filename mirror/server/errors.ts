// How the mirror server answers when something goes wrong. Bad input (a malformed name, a ref that
// does not parse) is 400, something the mirror does not have is 404, and those messages name the
// problem. Anything else is a 500 that says only that it failed: a stack trace, a filesystem path
// or a store location would tell a client about the server, not about its request. The details go
// to the operator's log instead.
import type { ErrorRequestHandler, Request, Response } from 'express';
import { CorruptObjectError } from '../build-record.js';
import { LayoutError } from '../layout.js';
import { NotFoundInMirrorError } from '../query.js';
import { RefError } from '../ref.js';
import { NotFoundError } from '../stores/store.js';
import type { ErrorBody } from './protocol.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers (Allow on 405, Content-Range on 416, …). */
    readonly headers: Record<string, string | string[]> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** What the server logs about a failed request (the controller passes its pino logger). */
export interface MirrorServerLogger {
  error(details: object, message: string): void;
}

// A message echoes the caller's input; a hostile client must not get a megabyte echoed back.
const MAX_MESSAGE = 300;

function clip(text: string): string {
  return text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE - 1)}…`;
}

/** Status and client-safe message for an error; undefined for the ones only the log may see. */
export function classify(err: unknown, location: string): { status: number; message: string } | undefined {
  // The store location (`fs:/srv/…`, `s3://bucket/…`) is the server's business.
  const scrub = (m: string) => clip(m.split(location).join('the mirror'));
  if (err instanceof HttpError) return { status: err.status, message: scrub(err.message) };
  if (err instanceof LayoutError || err instanceof RefError) return { status: 400, message: scrub(err.message) };
  if (err instanceof NotFoundInMirrorError) return { status: 404, message: scrub(err.message) };
  // A blob deleted between reading build.json and opening it: the build has just been retired.
  if (err instanceof NotFoundError) return { status: 404, message: 'no longer in the mirror' };
  // express marks its own client errors (a malformed %-escape in a route parameter, say) with a status.
  const status = typeof err === 'object' && err !== null && 'status' in err ? Number(err.status) : NaN;
  if (status >= 400 && status < 500) return { status, message: status === 400 ? 'malformed request (bad percent-encoding?)' : 'request refused' };
  return undefined;
}

/** Whether the client asked for JSON rather than a page. */
export function wantsJson(req: Request): boolean {
  if (req.path.startsWith('/api/')) return true;
  const accept = req.get('accept') ?? '';
  return /\bapplication\/json\b/.test(accept) && !/\btext\/html\b/.test(accept);
}

export function sendError(req: Request, res: Response, status: number, message: string, headers: Record<string, string | string[]> = {}): void {
  res.status(status).set(headers).set('Cache-Control', 'no-store');
  if (wantsJson(req)) {
    const body: ErrorBody = { error: message };
    res.json(body);
  } else {
    res.type('text/plain; charset=utf-8').send(`${message}\n`);
  }
}

export function errorHandler(location: string, logger?: MirrorServerLogger): ErrorRequestHandler {
  // Four parameters: that is how express tells an error handler from a middleware.
  return (err: unknown, req, res, _next) => {
    // Mid-download the status line is gone; all that is left is to cut the connection.
    if (res.headersSent) {
      logger?.error({ err, method: req.method, path: req.path }, 'mirror response failed after it had started');
      res.destroy();
      return;
    }
    const known = classify(err, location);
    if (known) {
      sendError(req, res, known.status, known.message, err instanceof HttpError ? err.headers : {});
      return;
    }
    const kind = err instanceof CorruptObjectError ? 'damaged mirror object' : 'internal error';
    logger?.error({ err, method: req.method, path: req.path }, `mirror request failed: ${kind}`);
    sendError(req, res, 500, 'internal error: the mirror could not answer this request');
  };
}
