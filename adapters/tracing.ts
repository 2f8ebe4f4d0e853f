import {
  type Attributes,
  type Context,
  context,
  type Link,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

/**
 * Spans of the path of a message (docs/operations.md, "Traces"), written against the
 * OpenTelemetry API. Which backend receives them is decided once at start
 * (adapters/tracing-setup.ts): an OTLP exporter, or Datadog's tracer through its
 * OpenTelemetry bridge. With neither, every helper here runs its function directly and
 * creates nothing: the delivery path pays one boolean test.
 */
let enabled = false;

/** Called once by the set-up when a backend is registered. */
export function enableTracing(): void {
  enabled = true;
}

export function tracingEnabled(): boolean {
  return enabled;
}

const tracer = () => trace.getTracer('posthorn');

/** Runs `fn` in a new span, child of the active one; errors mark the span and are rethrown. */
export async function inSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span | null) => Promise<T>,
  options: { kind?: SpanKind; links?: Link[] } = {},
): Promise<T> {
  if (!enabled) return fn(null);
  return tracer().startActiveSpan(name, { attributes, ...options }, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A span that its caller ends, child of `parent` (default: the active context). */
export function startSpan(
  name: string,
  attributes: Attributes,
  parent: Context = context.active(),
  kind: SpanKind = SpanKind.INTERNAL,
): Span | null {
  return enabled ? tracer().startSpan(name, { attributes, kind }, parent) : null;
}

/** Runs `fn` with `span` active. */
export function withSpan<T>(span: Span | null, fn: () => T): T {
  return span ? context.with(trace.setSpan(context.active(), span), fn) : fn();
}

/** The active span's context as a W3C traceparent, to be stored with a message; null when off. */
export function activeTraceparent(): string | null {
  if (!enabled) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** The context a stored traceparent names (the root context when there is none). */
export function contextOf(traceparent: string | null | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

/**
 * Runs `fn` with the message's own trace (its stored traceparent) as the active context,
 * and a link to the span active now: a delivery wave carries many messages, and each
 * message's delivery belongs to the message's trace, linked to the wave that carried it.
 */
export function inMessageTrace<T>(traceparent: string | null | undefined, fn: () => T): T {
  if (!enabled || !traceparent) return fn();
  const wave = trace.getSpanContext(context.active());
  const ctx = contextOf(traceparent);
  return context.with(wave ? ctx.setValue(WAVE_LINK, wave) : ctx, fn);
}

/** Runs `fn` under the stored context when there is one (a message workflow's start joins the message's trace). */
export function withStoredParent<T>(traceparent: string | null | undefined, fn: () => T): T {
  return enabled && traceparent ? context.with(contextOf(traceparent), fn) : fn();
}

/** Runs `fn` outside any trace: a wave is a trace of its own, which its messages link to. */
export function inRootContext<T>(fn: () => T): T {
  return enabled ? context.with(ROOT_CONTEXT, fn) : fn();
}

const WAVE_LINK = Symbol.for('posthorn.wave-link');

/** The link to the wave a message's delivery ran in, if any (set by inMessageTrace). */
export function waveLinks(): Link[] {
  const sc = context.active().getValue(WAVE_LINK) as Link['context'] | undefined;
  return sc ? [{ context: sc, attributes: { 'posthorn.link': 'delivery_wave' } }] : [];
}

export { SpanKind, SpanStatusCode };
