import {
  OpenTelemetryInboundInterceptor,
  OpenTelemetryInternalsInterceptor,
  OpenTelemetryOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/workflow/index.js';
import type { WorkflowInterceptors } from '@temporalio/workflow';

/**
 * Workflow interceptors for tracing, bundled only when tracing is on
 * (adapters/tracing-setup.ts): a span per workflow run and per activity start, with the
 * context passed on in the activity's headers. Spans leave the sandbox through the
 * `exporter` sink.
 */
export const interceptors = (): WorkflowInterceptors => ({
  inbound: [new OpenTelemetryInboundInterceptor()],
  outbound: [new OpenTelemetryOutboundInterceptor()],
  internals: [new OpenTelemetryInternalsInterceptor()],
});
