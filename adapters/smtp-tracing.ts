import { type Context, context, type Span, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { startSpan, tracingEnabled } from './tracing.js';

/**
 * Spans for one SMTP connection (docs/operations.md, "Traces"): the TCP connect, then one
 * span per command from the moment it is written to its reply (the greeting, EHLO,
 * STARTTLS, MAIL, RCPT, DATA, the message up to its final dot, RSET, QUIT), and the TLS
 * handshake. Replies come in the order of their commands (RFC 5321 §4.2; RFC 2920 keeps it
 * when pipelining), so pending spans are a FIFO. A kept connection serves several
 * deliveries: each send sets the parent, the delivery's own span.
 */
export interface SmtpTrace {
  /** Makes the active context the parent of the spans that follow. */
  adopt(): void;
  connected(): void;
  command(line: string): void;
  /** The message body, up to CRLF.CRLF (its reply ends the span). */
  body(): void;
  reply(raw: string): void;
  /** A TLS handshake began; the returned function ends it (with the error, if any). */
  handshake(): (err?: Error | null) => void;
  /** The connection is gone: spans still waiting end as errors. */
  closed(reason: string): void;
}

export function smtpTrace(attributes: {
  mxHost: string;
  address: string;
  port: number;
  sourceIp: string | null;
}): SmtpTrace | null {
  if (!tracingEnabled()) return null;
  const base = {
    'posthorn.mx_host': attributes.mxHost,
    'server.address': attributes.address,
    'server.port': attributes.port,
    'posthorn.ip': attributes.sourceIp ?? 'default',
  };
  let parent: Context = context.active();
  const pending: Span[] = [];
  const open = (name: string, extra: Record<string, string> = {}) =>
    startSpan(name, { ...base, ...extra }, parent, SpanKind.CLIENT);
  let connect = open('smtp connect');
  const push = (span: Span | null) => {
    if (span) pending.push(span);
  };
  return {
    adopt() {
      parent = context.active();
    },
    connected() {
      connect?.end();
      connect = null;
      push(open('smtp greeting'));
    },
    command(line) {
      const verb = line.split(' ', 1)[0]!.toUpperCase();
      // The argument of MAIL and RCPT is an address: the verb names the span, the address
      // stays out of the trace backend.
      push(open(`smtp ${verb}`, { 'smtp.command': verb }));
    },
    body() {
      push(open('smtp message'));
    },
    reply(raw) {
      const span = pending.shift();
      if (!span) return;
      const code = Number(raw.slice(0, 3));
      span.setAttribute('smtp.reply_code', code);
      if (code >= 400) span.setStatus({ code: SpanStatusCode.ERROR, message: raw.split('\n', 1)[0]! });
      span.end();
    },
    handshake() {
      const span = open('tls handshake');
      return (err) => {
        if (err) span?.setStatus({ code: SpanStatusCode.ERROR, message: err.message });
        span?.end();
      };
    },
    closed(reason) {
      for (const span of [connect, ...pending.splice(0)]) {
        span?.setStatus({ code: SpanStatusCode.ERROR, message: reason });
        span?.end();
      }
      connect = null;
    },
  };
}
