// Every error the API answers is JSON `{error: {code, message}}`. Client mistakes get a 4xx that
// says what to fix; anything else is a 500 whose details stay in the log.
import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { Logger } from 'pino';
import { NotFoundInMirrorError } from '../../../mirror/query.js';
import { isUsageError } from '../../errors.js';
import { redactCredentials } from '../notify/url.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string, code = 'invalid_request') => new ApiError(400, code, message);
export const notFound = (message: string) => new ApiError(404, 'not_found', message);

export function sendError(res: Parameters<RequestHandler>[1], error: ApiError): void {
  res.status(error.status).set(error.headers).json({ error: { code: error.code, message: error.message } });
}

/** For paths under the API that no route serves. */
export const unknownPath: RequestHandler = (req) => {
  throw notFound(`no such endpoint: ${req.method} ${req.baseUrl}${req.path}`);
};

/** For a path that exists, asked with a method it does not serve. */
export function methodNotAllowed(allowed: readonly string[]): RequestHandler {
  const allow = [...allowed, ...(allowed.includes('GET') ? ['HEAD'] : [])].join(', ');
  return (req) => {
    throw new ApiError(405, 'method_not_allowed', `${req.method} is not allowed here; use ${allow}`, { Allow: allow });
  };
}

// What body-parser reports, by its error `type`.
const BODY_ERRORS: Record<string, (limit: number) => ApiError> = {
  'entity.parse.failed': () => badRequest('the request body is not valid JSON', 'invalid_json'),
  'entity.too.large': (limit) => new ApiError(413, 'payload_too_large', `the request body is larger than ${limit} bytes`),
  'encoding.unsupported': () => new ApiError(415, 'unsupported_media_type', 'unsupported Content-Encoding; send identity, gzip or deflate'),
  'charset.unsupported': () => new ApiError(415, 'unsupported_media_type', 'unsupported charset; send UTF-8 JSON'),
  'request.aborted': () => badRequest('the request body was not received completely', 'aborted'),
  'request.size.invalid': () => badRequest('the request body is shorter or longer than its Content-Length', 'invalid_length'),
};

function bodyErrorType(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const type = (error as { type?: unknown }).type;
  return typeof type === 'string' ? type : undefined;
}

/**
 * The core refuses valid requests because of its state (not the leader: 409, shutting down: 503)
 * with an error named ControllerStateError carrying `statusCode`; matched by shape so that this
 * layer does not depend on the core's modules.
 */
function stateStatus(error: unknown): 409 | 503 | undefined {
  if (!(error instanceof Error) || error.name !== 'ControllerStateError') return undefined;
  const status = (error as Error & { statusCode?: unknown }).statusCode;
  return status === 409 || status === 503 ? status : undefined;
}

/** Maps what handlers throw to the JSON error answer; the last handler of the API router. */
export function errorHandler(logger: Logger, bodyLimitBytes: number): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const type = bodyErrorType(error);
    const fromBody = type ? BODY_ERRORS[type] : undefined;
    let answer: ApiError;
    if (error instanceof ApiError) answer = error;
    else if (fromBody) answer = fromBody(bodyLimitBytes);
    else if (stateStatus(error)) answer = new ApiError(stateStatus(error) ?? 409, stateStatus(error) === 503 ? 'unavailable' : 'conflict', error instanceof Error ? error.message : 'refused');
    else if (error instanceof NotFoundInMirrorError) answer = notFound(redactCredentials(error.message));
    // The controller refused the request as invalid (all or nothing: it changed nothing).
    else if (isUsageError(error)) answer = badRequest(redactCredentials(error instanceof Error ? error.message : String(error)));
    else {
      const detail = error instanceof Error ? { type: error.name, message: redactCredentials(error.message), stack: redactCredentials(error.stack ?? '') } : { message: redactCredentials(String(error)) };
      logger.error({ err: detail, method: req.method, path: req.path }, 'request failed');
      answer = new ApiError(500, 'internal', 'internal error; the controller log has the details');
    }
    sendError(res, answer);
  };
}
