// The controller's JSON logs (pino). Two guards keep secrets out: fields that hold secrets by name
// are redacted wherever they appear, and every line is scrubbed of the configured secret values
// just before it is written — which catches a token quoted inside an error message too.
import { pino, type DestinationStream, type Logger } from 'pino';
import { scrub } from './config.js';

const SECRET_KEYS = ['token', 'tokens', 'password', 'passwordHash', 'secretKey', 'accessKey', 'signingSecret', 'authorization', 'cookie', 'credentials'];

/** Redaction paths: the secret keys at the top level and up to two levels down, and request headers. */
export const REDACT_PATHS = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
];

export interface LoggerOptions {
  level: string;
  /** The current secret values (they change when the configuration is reloaded). */
  secrets: () => readonly string[];
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { name: 'heliostat' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: { streamWrite: (line) => scrub(line, options.secrets()) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
