// JSON request bodies: application/json only, at most bodyLimitBytes, objects or lists only.
// It runs after authentication, so nobody without a token makes the controller read a body.
import express, { type RequestHandler } from 'express';
import { ApiError } from './errors.js';

export function jsonBody(limitBytes: number): RequestHandler[] {
  const parse = express.json({ limit: limitBytes, strict: true, type: () => true });
  const contentType: RequestHandler = (req, _res, next) => {
    const length = req.get('content-length');
    const hasBody = req.get('transfer-encoding') !== undefined || (length !== undefined && length !== '0');
    if (!hasBody) {
      req.body = undefined;
      next();
      return;
    }
    if (!req.is('application/json')) {
      const given = req.get('content-type');
      throw new ApiError(415, 'unsupported_media_type', `send the body as application/json${given ? ` (got ${given.split(';')[0]?.trim().slice(0, 100) ?? ''})` : ' (no Content-Type given)'}`);
    }
    next();
  };
  return [contentType, parse];
}
