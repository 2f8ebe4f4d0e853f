import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Category } from '../core/bounce/taxonomy.js';
import type { RetrySchedule } from '../core/delivery/retry-schedule.js';
import type { DomainStatus, RecordStatus } from '../core/domains/lifecycle.js';
import type { RecordFinding } from '../core/domains/records.js';
import type { IpControl, IpRouteState, OutcomeSummary } from '../core/routing/ip-actor-types.js';
import type { HoldKey, Pause, PauseScope } from '../core/routing/pauses.js';
import type { WarmupPlan } from '../core/routing/warmup.js';

/** The task queue of a node's egress dispatcher: deliveries from its IPs run there. */
export const egressTaskQueue = (nodeId: string) => `posthorn-egress-${nodeId}`;

/**
 * Every node's egress worker also polls this queue: a delivery its own node did not pick up
 * in time (RetrySchedule.pickupMs) goes here, to whichever node is alive, which routes it
 * afresh.
 */
export const SHARED_EGRESS_TASK_QUEUE = 'posthorn-egress';

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
  /**
   * scheduled_at, ms since the epoch: the workflow waits until then, and until then its
   * send time can be moved (rescheduleUpdate) or the send canceled (cancelUpdate). The
   * retry schedule's max age counts from the time it is released. Absent: send now.
   */
  readonly scheduledAtMs?: number;
  /** W3C traceparent of the message's accept span, when tracing is on (docs/operations.md, "Traces"). */
  readonly trace?: string;
}

/**
 * Input of a delivery wave (workflow id = waveId): the first attempt of messages committed
 * while the previous wave was starting (docs/architecture.md, "The path of a message").
 * Messages it does not settle go on in their own message workflow, started by the wave with
 * the same `retry` and queue.
 */
export interface WaveInput {
  readonly waveId: string;
  readonly messageIds: readonly string[];
  readonly retry: RetrySchedule;
  readonly egressTaskQueue: string;
  /** Message id → W3C traceparent of its accept span, when tracing is on. */
  readonly traces?: Readonly<Record<string, string>>;
}

/** What a wave did, for the Web UI: how many it settled, which went on in their own workflow. */
export interface WaveResult {
  readonly settled: number;
  /** Deferred, held, throttled or routed to another node: each now has a message workflow. */
  readonly continued: readonly string[];
  /** Claimed by another wave (a sweeper's repeat): that wave delivers them. */
  readonly skipped: readonly string[];
}

export type RecipientStatus = 'queued' | 'deferred' | 'delivered' | 'bounced' | 'failed' | 'canceled';

export interface MessageStatus {
  readonly recipients: Record<string, { status: RecipientStatus; attempts: number; ip: string | null }>;
}

export type MessageWorkflowResult = MessageStatus;

export const statusQuery = defineQuery<MessageStatus>('status');

/** Sent when an operator pause that held this message is lifted. */
export const releaseSignal = defineSignal('release');

/**
 * Moves a scheduled message's send time (PATCH /emails/{id}); `scheduledAtMs` in the past
 * sends it now. Rejected (the validator throws NOT_SCHEDULED) once the message has left
 * its wait, or when it never had one, so the HTTP answer says what the workflow did.
 */
export const rescheduleUpdate = defineUpdate<{ scheduledAtMs: number }, [{ scheduledAtMs: number }]>(
  'reschedule',
);
/** Cancels a scheduled message (POST /emails/{id}/cancel); rejected like rescheduleUpdate. */
export const cancelUpdate = defineUpdate<{ canceled: true }, []>('cancel');
/** The message of an update validator's rejection: the message is not (or no longer) waiting. */
export const NOT_SCHEDULED = 'not-scheduled';

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
  /** Multiplies reputation effect durations; 1 except in tests (core/routing/ip-actor.ts). */
  readonly effectScale?: number;
  /** Signals handled before continuing as new; lower only in tests. */
  readonly signalsPerRun?: number;
  /** The actor's state carried across continue-as-new (core/routing/ip-actor.ts IpState). */
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

/**
 * Input of a domain actor (workflow id = domainWorkflowId(domainId)): it checks the sending
 * domain's DNS records while it is pending or flagged, and rechecks a verified one
 * (docs/operations.md, "Sending domains").
 */
export interface DomainWorkflowInput {
  readonly domainId: string;
  /** Between checks while pending or temporary_failure, ms. */
  readonly checkIntervalMs: number;
  /** Between rechecks of a verified domain, ms. */
  readonly recheckIntervalMs: number;
  /** Pending or flagged this long without every record: failed, ms. */
  readonly giveUpMs: number;
}

export const domainWorkflowId = (domainId: string) => `domain-${domainId}`;
/** Check now (a verify request, a deletion): ends the actor's wait early. */
export const checkDomainSignal = defineSignal('check');

// ---- Activities: plain JSON in and out, ids rather than bodies ----

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
    /** What the outcome was, null when delivered (docs/architecture.md, "Bounces and the taxonomy"). */
    readonly category: Category | null;
  }[];
  /**
   * Set when nothing was tried and the workflow should come back later without counting an
   * attempt (sleep durably rather than pile up waiting activities; docs/architecture.md,
   * "The path of a message", step 7):
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
  /** Records a scheduled message's new send time (messages.scheduled_at). */
  reschedule(input: { messageId: string; scheduledAtMs: number }): Promise<void>;
  /** Records a scheduled message as canceled: a final `canceled` event per recipient. */
  cancelScheduled(input: { messageId: string; recipients: readonly string[] }): Promise<void>;
  /**
   * A scheduled message's time has come: its Date header becomes the send time (RFC 5322
   * §3.6.1, the moment the message is ready to go) and its recipients are `queued`.
   */
  releaseScheduled(input: { messageId: string; recipients: readonly string[] }): Promise<void>;
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

/** What the domain actor's check found: the domain is gone, or each record's finding. */
export type DomainCheck =
  | { readonly kind: 'gone' }
  | {
      readonly kind: 'checked';
      readonly status: DomainStatus;
      readonly statusSinceMs: number;
      readonly records: readonly {
        readonly key: string;
        readonly required: boolean;
        readonly finding: RecordFinding;
      }[];
    };

export interface DomainCheckResult {
  readonly domainId: string;
  /** The status the check read: the result is stored only if it is still the domain's. */
  readonly expected: { readonly status: DomainStatus; readonly sinceMs: number };
  readonly status: DomainStatus;
  readonly sinceMs: number;
  readonly records: Readonly<Record<string, RecordStatus>>;
  readonly checkedAtMs: number;
}

/** Activities of the domain actor: the DNS lookups and storing what they showed. */
export interface DomainActivities {
  checkDomain(input: { domainId: string }): Promise<DomainCheck>;
  /** False when the domain's status changed meanwhile (a verify request): nothing stored. */
  recordDomainCheck(result: DomainCheckResult): Promise<boolean>;
}

// ---- Starting message workflows (api/ and the wave hand them over) ----

export interface MessageSearchAttributes {
  readonly tenant: string;
  readonly sendingDomain: string;
  readonly messageType: string;
}

/**
 * Starts a message workflow; workflow id = message id. Idempotent: a workflow that already
 * exists for the id (running or closed) counts as started and is never started twice.
 */
export interface MessageStarter {
  start(pending: PendingStart): Promise<void>;
}

/** A committed message's workflow start: what accept and the start sweeper hand to Temporal. */
export interface PendingStart {
  readonly input: MessageWorkflowInput;
  readonly attributes: MessageSearchAttributes;
  readonly delayMs: number;
}

/** Starts one delivery wave workflow (workflow id = input.waveId). */
export interface WaveStarter {
  start(input: WaveInput, messages: readonly PendingStart[]): Promise<void>;
}

// ---- Search attributes (Temporal Web UI filters) ----

/**
 * Custom search attributes, set when a workflow starts (free, unlike an upsert) so the
 * Temporal Web UI can filter message workflows: e.g. `PosthornTenant = "acme"`.
 */
export const TENANT = defineSearchAttributeKey('PosthornTenant', SearchAttributeType.KEYWORD);
export const SENDING_DOMAIN = defineSearchAttributeKey('PosthornSendingDomain', SearchAttributeType.KEYWORD);
export const MESSAGE_TYPE = defineSearchAttributeKey('PosthornMessageType', SearchAttributeType.KEYWORD);

/** Set on IP workflows at start, and on message workflows after their first routed attempt. */
export const SENDING_IP = defineSearchAttributeKey('PosthornSendingIp', SearchAttributeType.KEYWORD);
/** Mailbox provider of a message's recipient domain (provider detection). */
export const PROVIDER = defineSearchAttributeKey('PosthornProvider', SearchAttributeType.KEYWORD);

/**
 * Set on delivery waves (one workflow carrying the first attempt of many messages): the
 * ids of its messages, and their tenants and sending domains, so that the Web UI finds a
 * message's wave with `PosthornMessageIds = "<id>"`.
 */
export const MESSAGE_IDS = defineSearchAttributeKey('PosthornMessageIds', SearchAttributeType.KEYWORD_LIST);
export const TENANTS = defineSearchAttributeKey('PosthornTenants', SearchAttributeType.KEYWORD_LIST);
export const SENDING_DOMAINS = defineSearchAttributeKey(
  'PosthornSendingDomains',
  SearchAttributeType.KEYWORD_LIST,
);

export const ALL_SEARCH_ATTRIBUTES = [
  TENANT,
  SENDING_DOMAIN,
  MESSAGE_TYPE,
  SENDING_IP,
  PROVIDER,
  MESSAGE_IDS,
  TENANTS,
  SENDING_DOMAINS,
] as const;

// ---- Webhook endpoint actors (docs/architecture.md, "Webhooks: the outbox and the endpoint actor") ----

/** Input of a webhook endpoint's actor (workflow id = webhookWorkflowId(webhookId)). */
export interface WebhookWorkflowInput {
  readonly webhookId: string;
}

export const webhookWorkflowId = (webhookId: string) => `webhook-${webhookId}`;
/** New events are queued for the endpoint, or it was re-enabled, or an event replayed. */
export const webhookWakeSignal = defineSignal('wake');

export type WebhookDrainResult =
  /** The webhook was deleted: the actor ends. */
  | { readonly kind: 'gone' }
  /** Disabled (by hand or for failing): nothing is sent until a wake after re-enabling. */
  | { readonly kind: 'disabled'; readonly reason: 'manual' | 'failing' }
  | {
      readonly kind: 'drained';
      readonly attempted: number;
      readonly succeeded: number;
      /** More events are due now (the batch was full): drain again at once. */
      readonly more: boolean;
      /** When the next queued event is due, ms since the epoch; null when none waits. */
      readonly nextDueAtMs: number | null;
      /** The activity's clock at the end, ms since the epoch. */
      readonly finishedAtMs: number;
    };

export interface WebhookActivities {
  /**
   * Claims the endpoint's due events, POSTs them with bounded concurrency, records every
   * attempt and the events' next tries, disables an endpoint failing for too long.
   */
  drainWebhook(input: WebhookWorkflowInput): Promise<WebhookDrainResult>;
}
