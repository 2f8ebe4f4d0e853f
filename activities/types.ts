import type { Category } from '../core/bounce/taxonomy.js';
import type { IpRouteState } from '../core/ip-actor-types.js';
import type { HoldKey, Pause } from '../core/pauses.js';
import type { WaveInput, WaveResult } from '../workflows/messages.js';

/**
 * The contract between workflows and activities: plain JSON in and out, ids rather than
 * bodies. Workflows import these types only (`import type`).
 */
export interface DeliverInput {
  readonly messageId: string;
  /** Recipient domain of this group; one SMTP transaction serves one domain. */
  readonly domain: string;
  readonly recipients: readonly string[];
  /** 1-based attempt number for this group. */
  readonly attempt: number;
  /** The source IP of the previous attempt, kept across retries where possible (greylisting). */
  readonly preferredIp: string | null;
}

export type RecipientVerdict = 'delivered' | 'deferred' | 'bounced';

export interface DeliverResult {
  /** Source IP used, or null when no connection was attempted. */
  readonly ip: string | null;
  readonly recipients: readonly {
    readonly address: string;
    readonly verdict: RecipientVerdict;
    /** A wait the remote asked for before the next try, ms. */
    readonly retryHintMs: number | null;
    /** What the outcome was (DESIGN.md §4), null when delivered. */
    readonly category: Category | null;
  }[];
  /**
   * Set when nothing was tried and the workflow should come back later without counting an
   * attempt (DESIGN.md §1: sleep durably rather than pile up waiting activities):
   * - throttled: the node's ready queue for the destination was full or over its rate;
   * - held: an operator pause applies, or no IP of the pool may take this provider now;
   *   a release signal ends the wait early;
   * - elsewhere: the IP chosen belongs to another node: deliver again on that node's queue.
   */
  readonly wait:
    | { readonly kind: 'throttled' | 'held'; readonly retryAfterMs: number; readonly reason: string }
    | { readonly kind: 'elsewhere'; readonly node: string; readonly ip: string; readonly reason: string }
    | null;
  /** Mailbox provider of the recipient domain (provider detection), once known. */
  readonly provider: string | null;
  /** The activity's clock when it finished, ms since the epoch; workflows use it for age. */
  readonly finishedAtMs: number;
}

export interface ExpireInput {
  readonly messageId: string;
  readonly recipients: readonly string[];
  readonly attempts: number;
}

export interface MessageActivities {
  deliver(input: DeliverInput): Promise<DeliverResult>;
  expire(input: ExpireInput): Promise<void>;
}

/** The wave's local activity: claims, delivers and settles or hands on every message. */
export interface WaveActivities {
  deliverWave(input: WaveInput): Promise<WaveResult>;
}

/** Activities of the IP and control workflows: publishing what routing reads. */
export interface ControlActivities {
  /** Writes an IP's route state to PostgreSQL and announces it to every node. */
  publishRouteState(state: IpRouteState): Promise<void>;
  /** Replaces the published pauses with the control workflow's set. */
  publishPauses(pauses: readonly Pause[]): Promise<void>;
  /** Signals every message held by a lifted pause to go on; returns how many. */
  releaseHeld(key: HoldKey): Promise<number>;
}
