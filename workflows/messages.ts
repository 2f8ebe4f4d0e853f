import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { IpControl, IpRouteState, OutcomeSummary } from '../core/ip-actor-types.js';
import type { Pause, PauseScope } from '../core/pauses.js';
import type { RetrySchedule } from '../core/retry-schedule.js';
import type { WarmupPlan } from '../core/warmup.js';

/** The task queue of a node's egress dispatcher: deliveries from its IPs run there. */
export const egressTaskQueue = (nodeId: string) => `posthorn-egress-${nodeId}`;

/** Input of the message workflow (workflow id = message id). */
export interface MessageWorkflowInput {
  readonly messageId: string;
  readonly recipients: readonly string[];
  /** Acceptance time, ms since the epoch; the retry schedule's max age counts from here. */
  readonly acceptedAtMs: number;
  readonly retry: RetrySchedule;
  /** Task queue of the node that owns the sending IPs (its egress dispatcher). */
  readonly egressTaskQueue: string;
  /**
   * Set when the message's first attempt was made in a delivery wave: per recipient domain,
   * the attempts made so far and the source IP used (kept for greylisting). The workflow
   * is then started with a start delay for the first retry.
   */
  readonly resume?: Readonly<Record<string, { readonly attempts: number; readonly ip: string | null }>>;
}

/**
 * Input of a delivery wave (workflow id = waveId): the first attempt of messages committed
 * while the previous wave was starting (DESIGN.md §1). Messages it does not settle go on in
 * their own message workflow, started by the wave with the same `retry` and queue.
 */
export interface WaveInput {
  readonly waveId: string;
  readonly messageIds: readonly string[];
  readonly retry: RetrySchedule;
  readonly egressTaskQueue: string;
}

/** What a wave did, for the Web UI: how many it settled, which went on in their own workflow. */
export interface WaveResult {
  readonly settled: number;
  /** Deferred, held, throttled or routed to another node: each now has a message workflow. */
  readonly continued: readonly string[];
  /** Claimed by another wave (a sweeper's repeat): that wave delivers them. */
  readonly skipped: readonly string[];
}

export type RecipientStatus = 'queued' | 'deferred' | 'delivered' | 'bounced' | 'failed';

export interface MessageStatus {
  readonly recipients: Record<string, { status: RecipientStatus; attempts: number; ip: string | null }>;
}

export type MessageWorkflowResult = MessageStatus;

export const statusQuery = defineQuery<MessageStatus>('status');

/** Sent when an operator pause that held this message is lifted. */
export const releaseSignal = defineSignal('release');

/** Input of an IP workflow (workflow id = ipWorkflowId(ip)). */
export interface IpWorkflowInput {
  readonly ip: string;
  /** False: the IP starts on its warmup plan. */
  readonly warm: boolean;
  /** Length of a warmup day, ms (a real day, except in tests). */
  readonly dayMs: number;
  /** Relative share among the pool's IPs (ips.weight). */
  readonly weight?: number;
  /** The IP's own warmup plan; absent: the default plan. */
  readonly plan?: WarmupPlan;
  /** Multiplies reputation effect durations; 1 except in tests (core/ip-actor.ts). */
  readonly effectScale?: number;
  /** Signals handled before continuing as new; lower only in tests. */
  readonly signalsPerRun?: number;
  /** The actor's state carried across continue-as-new (core/ip-actor.ts IpState). */
  readonly state?: unknown;
}

export const ipWorkflowId = (ip: string) => `ip-${ip}`;
export const outcomesSignal = defineSignal<[OutcomeSummary]>('outcomes');
export const ipControlSignal = defineSignal<[IpControl]>('control');
/** The IP's configuration changed (ips.weight, its warmup plan). */
export const ipReconfigureSignal = defineSignal<[{ weight: number; plan: WarmupPlan | null }]>('reconfigure');
export const ipStateQuery = defineQuery<{ state: unknown; route: IpRouteState }>('state');

/** Pauses beyond single IPs are kept by the one control workflow (id CONTROL_WORKFLOW_ID). */
export const CONTROL_WORKFLOW_ID = 'posthorn-control';
export const pauseSignal = defineSignal<[Pause]>('pause');
export const resumeSignal =
  defineSignal<[{ scope: PauseScope; value: string; reason: string; actor: string }]>('resume');
export const pausesQuery = defineQuery<Pause[]>('pauses');
