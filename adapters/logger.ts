import pino, { type Logger } from 'pino';

/**
 * Structured logs: stable event names in `event`, ids as fields. Message bodies and
 * secrets are never passed to the logger; the redaction below is the safety net for
 * headers that carry keys.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'posthorn' },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.token', 'token'],
      censor: '[redacted]',
    },
  });
}
