import {
  Client,
  type WorkflowClientInterceptor,
  WorkflowExecutionAlreadyStartedError,
} from '@temporalio/client';
import type { SearchAttributeType } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { MessageStarter, PendingStart, WaveStarter } from '../workflows/contract.js';
import {
  ALL_SEARCH_ATTRIBUTES,
  MESSAGE_IDS,
  MESSAGE_TYPE,
  SENDING_DOMAIN,
  SENDING_DOMAINS,
  TENANT,
  TENANTS,
} from '../workflows/contract.js';

export const MESSAGE_TASK_QUEUE = 'posthorn-messages';
export { egressTaskQueue } from '../workflows/contract.js';

// Temporal's enum names for the operator service (temporal.api.enums.v1.IndexedValueType).
const INDEXED_VALUE_TYPE: Record<SearchAttributeType, number> = {
  TEXT: 1,
  KEYWORD: 2,
  INT: 3,
  DOUBLE: 4,
  BOOL: 5,
  DATETIME: 6,
  KEYWORD_LIST: 7,
};

/** Search attributes as the dev server's --search-attribute flags name their types. */
export function searchAttributeFlags(): Record<string, string> {
  const cli: Record<SearchAttributeType, string> = {
    TEXT: 'Text',
    KEYWORD: 'Keyword',
    INT: 'Int',
    DOUBLE: 'Double',
    BOOL: 'Bool',
    DATETIME: 'Datetime',
    KEYWORD_LIST: 'KeywordList',
  };
  return Object.fromEntries(ALL_SEARCH_ATTRIBUTES.map((k) => [k.name, cli[k.type]]));
}

/**
 * One NativeConnection serves both the worker and the client, so that workflow starts
 * can be eager (the first workflow task is handed straight to this process's worker).
 */
export async function connectTemporal(
  address: string,
  namespace: string,
  interceptors: WorkflowClientInterceptor[] = [],
): Promise<{ connection: NativeConnection; client: Client }> {
  const connection = await NativeConnection.connect({ address });
  const client = new Client({ connection, namespace, interceptors: { workflow: interceptors } });
  return { connection, client };
}

/** Registers our search attributes on the namespace; those already there are kept. */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<void> {
  const existing = await client.connection.operatorService.listSearchAttributes({ namespace });
  const missing = ALL_SEARCH_ATTRIBUTES.filter((k) => !(k.name in (existing.customAttributes ?? {})));
  if (missing.length === 0) return;
  await client.connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((k) => [k.name, INDEXED_VALUE_TYPE[k.type]])),
  });
}

export function temporalMessageStarter(client: Client): MessageStarter {
  return {
    async start({ input, attributes, delayMs }: PendingStart) {
      try {
        await client.workflow.start('messageWorkflow', {
          taskQueue: MESSAGE_TASK_QUEUE,
          workflowId: input.messageId,
          // A message is delivered by one workflow, ever: a start repeated by the start
          // sweeper after the first one's workflow closed must not run it again.
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          args: [input],
          typedSearchAttributes: [
            { key: TENANT, value: attributes.tenant },
            { key: SENDING_DOMAIN, value: attributes.sendingDomain },
            { key: MESSAGE_TYPE, value: attributes.messageType },
          ],
          // scheduled_at: Temporal holds the first task back durably.
          ...(delayMs > 0 ? { startDelay: delayMs } : { requestEagerStart: true }),
        });
      } catch (err) {
        // Workflow id = message id: a start that reached the server before this one is done.
        if (err instanceof WorkflowExecutionAlreadyStartedError) return;
        throw err;
      }
    },
  };
}

/**
 * Starts delivery waves, eagerly: the first workflow task comes back to this process's
 * worker with the start's answer, so the wave's local activity runs here, on the node
 * that owns the connections to use.
 */
export function temporalWaveStarter(client: Client): WaveStarter {
  return {
    async start(input, messages) {
      const distinct = (f: (p: PendingStart) => string) => [...new Set(messages.map(f))];
      await client.workflow.start('waveWorkflow', {
        taskQueue: MESSAGE_TASK_QUEUE,
        workflowId: input.waveId,
        args: [input],
        typedSearchAttributes: [
          { key: MESSAGE_IDS, value: [...input.messageIds] },
          { key: TENANTS, value: distinct((p) => p.attributes.tenant) },
          { key: SENDING_DOMAINS, value: distinct((p) => p.attributes.sendingDomain) },
        ],
        requestEagerStart: true,
        // A node that dies mid-wave: its wave's task times out after this and runs again on
        // the next worker to poll (which skips what the journal settled). A longer wave
        // keeps its task alive with the SDK's heartbeats.
        workflowTaskTimeout: '20s',
      });
    },
  };
}

/**
 * Routes the SDK's own logs into ours (warnings and up) and leaves signal handling to the
 * process: the node decides when and in what order to stop. Call once, before connecting.
 */
export function installTemporalRuntime(
  log: Logger,
  opts: { metricsAddress?: string | undefined } = {},
): void {
  Runtime.install({
    shutdownSignals: [],
    // The SDK's own metrics (workflow task latency, slots, polls), served by the Rust core
    // on their own address when asked for (docs/operations.md, "Metrics").
    ...(opts.metricsAddress
      ? { telemetryOptions: { metrics: { prometheus: { bindAddress: opts.metricsAddress } } } }
      : {}),
    logger: new DefaultLogger('WARN', (entry) => {
      const fields = { event: 'temporal.sdk', ...entry.meta };
      switch (entry.level) {
        case 'ERROR':
          log.error(fields, entry.message);
          break;
        case 'WARN':
          log.warn(fields, entry.message);
          break;
        default:
          log.debug(fields, entry.message);
      }
    }),
  });
}
