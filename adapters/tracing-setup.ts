import { fileURLToPath } from 'node:url';
import { trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
} from '@temporalio/interceptors-opentelemetry';
import type { WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { enableTracing } from './tracing.js';

/** What the node hands Temporal when tracing is on; empty when it is off. */
export interface TracingSetup {
  readonly enabled: boolean;
  /** Injects the active context into workflow start headers. */
  readonly clientInterceptors: WorkflowClientInterceptor[];
  /** Activity spans from the headers, and the sink that exports the workflows' own spans. */
  readonly worker: Pick<WorkerOptions, 'interceptors' | 'sinks'>;
  /** Workflow interceptor modules for the bundle (spans for workflow runs and activity starts). */
  readonly workflowInterceptorModules: string[];
  /** Exports what is still buffered. */
  shutdown(): Promise<void>;
}

const OFF: TracingSetup = {
  enabled: false,
  clientInterceptors: [],
  worker: {},
  workflowInterceptorModules: [],
  shutdown: async () => {},
};

const WORKFLOW_INTERCEPTORS = {
  spans: fileURLToPath(new URL('../workflows/tracing-interceptors.ts', import.meta.url)),
  context: fileURLToPath(new URL('../workflows/trace-context-interceptors.ts', import.meta.url)),
};

/**
 * Turns tracing on when asked for (docs/operations.md, "Traces"):
 *  - OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: the OpenTelemetry SDK
 *    exports over OTLP/HTTP (JSON), batched (OTEL_BSP_* tune the batches);
 *  - DD_TRACE_ENABLED=true: dd-trace, started by bin/posthorn.mjs before anything else,
 *    receives the spans through its OpenTelemetry bridge.
 * With both, the node's spans go to Datadog and the workflows' spans (exported from the
 * workflow sandbox through a sink, which needs an SDK span processor) go over OTLP, e.g. to
 * the Datadog Agent's OTLP intake. With Datadog alone the workflows' spans are dropped; the
 * context still flows through them, so activity spans stay in the message's trace.
 * `workflows`: "spans" bundles Temporal's OpenTelemetry workflow interceptors (a span per
 * workflow run and activity start); "context" only passes the context on to activities
 * (workflows/trace-context-interceptors.ts), at a fraction of the cost.
 */
export async function setUpTracing(
  env: NodeJS.ProcessEnv,
  log: Logger,
  workflows: 'spans' | 'context' = 'spans',
): Promise<TracingSetup> {
  const otlp = Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
  const datadog = env.DD_TRACE_ENABLED === 'true';
  if (!otlp && !datadog) return OFF;

  const resource = new Resource({ 'service.name': env.OTEL_SERVICE_NAME ?? env.DD_SERVICE ?? 'posthorn' });
  let processor: SpanProcessor = new NoopSpanProcessor();
  let provider: NodeTracerProvider | null = null;
  if (otlp) processor = new BatchSpanProcessor(new OTLPTraceExporter());
  if (datadog) {
    const { default: tracer } = await import('dd-trace');
    new tracer.TracerProvider().register();
  } else {
    provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
    // Sets the global tracer provider, the AsyncLocalStorage context manager and the W3C
    // trace-context propagator.
    provider.register();
  }
  enableTracing();
  log.info({ event: 'tracing.enabled', otlp, datadog, workflows }, 'tracing on');
  return {
    enabled: true,
    clientInterceptors: [new OpenTelemetryWorkflowClientInterceptor({ tracer: trace.getTracer('posthorn') })],
    worker: {
      interceptors: { activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx) })] },
      sinks: { exporter: makeWorkflowExporter(processor, resource) },
    },
    workflowInterceptorModules: [WORKFLOW_INTERCEPTORS[workflows]],
    async shutdown() {
      await (provider ? provider.shutdown() : processor.shutdown()).catch((err) =>
        log.warn({ err, event: 'tracing.shutdown_failed' }, 'could not export the last spans'),
      );
    },
  };
}
