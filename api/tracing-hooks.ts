import type { Span } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  activeTraceparent,
  inRootContext,
  inSpan,
  SpanKind,
  SpanStatusCode,
  startSpan,
  tracingEnabled,
  withSpan,
  withStoredParent,
} from '../adapters/tracing.js';
import type { MessageStarter, PendingStart, WaveStarter } from '../workflows/contract.js';
import type { Accept } from './accept.js';

/**
 * The API's part of a message's trace (docs/operations.md, "Traces"): a server span per
 * request, the accept span with the message ids, the commit span, and the accept span's
 * context stored in each message's workflow input so that its delivery joins the trace.
 * Each function returns what it was given when tracing is off.
 */
export function tracingPlugin(): (app: FastifyInstance) => void {
  return (app) => {
    if (!tracingEnabled()) return;
    const spans = new WeakMap<FastifyRequest, Span>();
    app.addHook('onRequest', async (req) => {
      const route = req.routeOptions.url ?? 'unmatched';
      const span = startSpan(
        `${req.method} ${route}`,
        { 'http.request.method': req.method, 'http.route': route, 'url.path': req.url.split('?')[0]! },
        undefined,
        SpanKind.SERVER,
      );
      if (span) spans.set(req, span);
    });
    // Activated after the body is read: the body's stream events do not carry the context
    // of the hook that started the span. The handler runs within this call.
    app.addHook('preHandler', (req, _reply, done) => withSpan(spans.get(req) ?? null, done));
    app.addHook('onResponse', async (req, reply) => {
      const span = spans.get(req);
      if (!span) return;
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
  };
}

export function traceAccept(accept: Accept): Accept {
  if (!tracingEnabled()) return accept;
  return {
    ...accept,
    acceptAll: (principal, items) =>
      inSpan(
        'posthorn.accept',
        { 'posthorn.tenant': principal.tenantName, 'posthorn.messages': items.length },
        async (span) => {
          const ids = await accept.acceptAll(principal, items);
          if (ids.length === 1) span?.setAttribute('posthorn.message_id', ids[0]!);
          span?.setAttribute('posthorn.message_ids', ids);
          return ids;
        },
      ),
  };
}

/** The commit of accepted messages (the group commit's wait included). */
export function traceCommit<B extends readonly unknown[], R>(
  insert: (batch: B) => Promise<R>,
): (batch: B) => Promise<R> {
  if (!tracingEnabled()) return insert;
  return (batch) => inSpan('posthorn.commit', { 'posthorn.messages': batch.length }, () => insert(batch));
}

/** Stores the active (accept) span's context with each message to start. */
export function stampTraces(pending: readonly PendingStart[]): readonly PendingStart[] {
  const trace = activeTraceparent();
  return trace ? pending.map((p) => ({ ...p, input: { ...p.input, trace } })) : pending;
}

/**
 * A message workflow is started in its message's trace (its stored traceparent), so the
 * client interceptor's start span and everything the workflow does hang below the accept.
 */
export function traceMessageStarts(starter: MessageStarter): MessageStarter {
  if (!tracingEnabled()) return starter;
  return { start: (p) => withStoredParent(p.input.trace, () => starter.start(p)) };
}

/** A wave is a trace of its own, whatever request happened to launch it; its messages link to it. */
export function traceWaveStarts(starter: WaveStarter): WaveStarter {
  if (!tracingEnabled()) return starter;
  return { start: (input, messages) => inRootContext(() => starter.start(input, messages)) };
}
