import { defineQuery } from '@temporalio/workflow';
import type { RetrySchedule } from '../core/retry-schedule.js';

/** Input of the message workflow (workflow id = message id). */
export interface MessageWorkflowInput {
  readonly messageId: string;
  readonly recipients: readonly string[];
  /** Acceptance time, ms since the epoch; the retry schedule's max age counts from here. */
  readonly acceptedAtMs: number;
  readonly retry: RetrySchedule;
  /** Task queue of the node that owns the sending IPs (its egress dispatcher). */
  readonly egressTaskQueue: string;
}

export type RecipientStatus = 'queued' | 'deferred' | 'delivered' | 'bounced' | 'failed';

export interface MessageStatus {
  readonly recipients: Record<string, { status: RecipientStatus; attempts: number; ip: string | null }>;
}

export type MessageWorkflowResult = MessageStatus;

export const statusQuery = defineQuery<MessageStatus>('status');
