import type { Client } from '@temporalio/client';
import type { IpControl, OutcomeSummary } from '../core/routing/ip-actor-types.js';
import type { Pause, PauseScope } from '../core/routing/pauses.js';
import type { WarmupPlan } from '../core/routing/warmup.js';
import {
  CONTROL_WORKFLOW_ID,
  type IpWorkflowInput,
  ipControlSignal,
  ipReconfigureSignal,
  ipStateQuery,
  ipWorkflowId,
  outcomesSignal,
  pauseSignal,
  pausesQuery,
  resumeSignal,
  SENDING_IP,
} from '../workflows/contract.js';
import { MESSAGE_TASK_QUEUE } from './temporal.js';

/** What an operator pauses: one IP (optionally for one provider), or a wider scope. */
export type PauseTarget =
  | { kind: 'ip'; ip: string; provider: string | null }
  | { kind: PauseScope; value: string };

/**
 * Starting and signalling the long-lived workflows: IP actors and the control workflow.
 * Every operator action goes through here as a signal, so workflow histories record it.
 */
export function controlClient(client: Client, ipDefaults: (ip: string) => Omit<IpWorkflowInput, 'ip'>) {
  const ipStart = (ip: string) => ({
    workflowId: ipWorkflowId(ip),
    taskQueue: MESSAGE_TASK_QUEUE,
    args: [{ ip, ...ipDefaults(ip) }] as [IpWorkflowInput],
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    typedSearchAttributes: [{ key: SENDING_IP, value: ip }],
  });
  const controlStart = {
    workflowId: CONTROL_WORKFLOW_ID,
    taskQueue: MESSAGE_TASK_QUEUE,
    args: [{}] as [{ pauses?: Pause[] }],
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
  };

  return {
    /** Makes sure the IP's actor and the control workflow run (idempotent). */
    async ensureRunning(ips: readonly string[]): Promise<void> {
      await client.workflow.start('controlWorkflow', controlStart);
      for (const ip of ips) await client.workflow.start('ipWorkflow', ipStart(ip));
    },

    async reconfigure(ip: string, weight: number, plan: WarmupPlan | null): Promise<void> {
      await client.workflow.signalWithStart('ipWorkflow', {
        ...ipStart(ip),
        signal: ipReconfigureSignal,
        signalArgs: [{ weight, plan }],
      });
    },

    async sendOutcomes(summary: OutcomeSummary): Promise<void> {
      await client.workflow.signalWithStart('ipWorkflow', {
        ...ipStart(summary.ip),
        signal: outcomesSignal,
        signalArgs: [summary],
      });
    },

    async pause(target: PauseTarget, untilMs: number | null, reason: string, actor: string): Promise<void> {
      if (target.kind === 'ip') {
        const c: IpControl = { kind: 'pause', provider: target.provider, untilMs, reason, actor };
        await client.workflow.signalWithStart('ipWorkflow', {
          ...ipStart(target.ip),
          signal: ipControlSignal,
          signalArgs: [c],
        });
        return;
      }
      const p: Pause = { scope: target.kind, value: target.value.toLowerCase(), untilMs, reason, actor };
      await client.workflow.signalWithStart('controlWorkflow', {
        ...controlStart,
        signal: pauseSignal,
        signalArgs: [p],
      });
    },

    async resume(target: PauseTarget, reason: string, actor: string): Promise<void> {
      if (target.kind === 'ip') {
        const c: IpControl = { kind: 'resume', provider: target.provider, reason, actor };
        await client.workflow.signalWithStart('ipWorkflow', {
          ...ipStart(target.ip),
          signal: ipControlSignal,
          signalArgs: [c],
        });
        return;
      }
      await client.workflow.signalWithStart('controlWorkflow', {
        ...controlStart,
        signal: resumeSignal,
        signalArgs: [{ scope: target.kind, value: target.value.toLowerCase(), reason, actor }],
      });
    },

    pauses: () => client.workflow.getHandle(CONTROL_WORKFLOW_ID).query(pausesQuery),
    ipState: (ip: string) => client.workflow.getHandle(ipWorkflowId(ip)).query(ipStateQuery),
  };
}

export type ControlClient = ReturnType<typeof controlClient>;
