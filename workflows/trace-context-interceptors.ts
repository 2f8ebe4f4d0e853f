import type { Headers, WorkflowInterceptors } from '@temporalio/workflow';

/**
 * The header in which Temporal's OpenTelemetry interceptors carry a span context
 * (@temporalio/interceptors-opentelemetry, TRACE_HEADER).
 */
const TRACE_HEADER = '_tracer-data';

/**
 * The cheap way to trace workflows (POSTHORN_TRACE_WORKFLOWS=context, docs/operations.md,
 * "Traces"): no spans inside the workflow, only the context it was started with passed on
 * to the activities it schedules, so their spans stay in the message's trace. The
 * OpenTelemetry workflow interceptors build a tracer provider in every workflow, which the
 * bench measured at several ms of CPU per workflow; this carries one header.
 */
export const interceptors = (): WorkflowInterceptors => {
  let carried: Headers[string] | undefined;
  const withTrace = <T extends { readonly headers: Headers }>(input: T): T =>
    carried ? { ...input, headers: { ...input.headers, [TRACE_HEADER]: carried } } : input;
  return {
    inbound: [
      {
        execute(input, next) {
          carried = input.headers[TRACE_HEADER];
          return next(input);
        },
      },
    ],
    outbound: [
      {
        scheduleActivity: (input, next) => next(withTrace(input)),
        scheduleLocalActivity: (input, next) => next(withTrace(input)),
      },
    ],
  };
};
