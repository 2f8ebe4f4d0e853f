import type { Client } from '@temporalio/client';
import {
  checkDomainSignal,
  type DomainWorkflowInput,
  domainWorkflowId,
  SENDING_DOMAIN,
  TENANT,
} from '../workflows/contract.js';
import { MESSAGE_TASK_QUEUE } from './temporal.js';

/** Starting and waking domain actors (workflows/domain.ts), one per domain being verified. */
export function domainActorClient(client: Client, timing: Omit<DomainWorkflowInput, 'domainId'>) {
  const start = (domain: { id: string; name: string; tenantName: string }) => ({
    workflowId: domainWorkflowId(domain.id),
    taskQueue: MESSAGE_TASK_QUEUE,
    args: [{ domainId: domain.id, ...timing }] as [DomainWorkflowInput],
    typedSearchAttributes: [
      { key: TENANT, value: domain.tenantName },
      { key: SENDING_DOMAIN, value: domain.name },
    ],
  });
  return {
    /** Check now: signals the running actor, or starts one (a failed domain's actor has ended). */
    async checkNow(domain: { id: string; name: string; tenantName: string }): Promise<void> {
      await client.workflow.signalWithStart('domainWorkflow', {
        ...start(domain),
        signal: checkDomainSignal,
        signalArgs: [],
      });
    },

    /** Starts the actor unless it runs; a running one is left alone (no extra check). */
    async ensureRunning(domain: { id: string; name: string; tenantName: string }): Promise<void> {
      await client.workflow.start('domainWorkflow', {
        ...start(domain),
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
    },

    /** Wakes the actor if one runs; an actor that has ended needs nothing. */
    async wake(domainId: string): Promise<void> {
      await client.workflow
        .getHandle(domainWorkflowId(domainId))
        .signal(checkDomainSignal)
        .catch(() => {});
    },
  };
}
