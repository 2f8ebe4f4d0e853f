import type { ProviderId } from '../delivery/providers.js';

/**
 * The contract of the per-IP actor (docs/architecture.md, "The routing wing"): what the
 * node tells an IP's workflow, what the workflow keeps, and what it publishes for routing.
 * Plain, versioned JSON only (no Map, Set, Date or class instances): it lives in Temporal
 * history and crosses continue-as-new.
 */

/** Declared with provider detection; re-exported for the modules that take the IP contract from here. */
export type { ProviderId };

/** A reply worth the actor's attention (e.g. Yahoo "[TS04]", Microsoft "S3150"). */
export interface NotableReply {
  readonly code: number;
  readonly enhanced: string | null;
  readonly text: string;
}

/** Outcomes of one IP with one provider over a window, aggregated by the node. */
export interface ProviderOutcomes {
  readonly delivered: number;
  readonly deferred: number;
  readonly bounced: number;
  readonly complaints: number;
  /** At most a few per window: distinct replies that reputation rules may match. */
  readonly notable: readonly NotableReply[];
}

/** What the node's dispatcher signals to an IP workflow every few seconds (never per message). */
export interface OutcomeSummary {
  readonly ip: string;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly byProvider: Readonly<Record<ProviderId, ProviderOutcomes>>;
}

/** An operator's action on an IP, carried as a signal so the history says who, when and why. */
export type IpControl =
  | {
      readonly kind: 'pause';
      readonly provider: ProviderId | null;
      readonly untilMs: number | null;
      readonly reason: string;
      readonly actor: string;
    }
  | {
      readonly kind: 'resume';
      readonly provider: ProviderId | null;
      readonly reason: string;
      readonly actor: string;
    };

/** What routing needs to know about one IP, as published (route-state table and NOTIFY). */
export interface IpRouteState {
  readonly version: 1;
  readonly ip: string;
  /** Relative share among the pool's eligible IPs; 0 takes no new traffic. */
  readonly weight: number;
  /** Paused entirely by an operator until (ms since epoch) or indefinitely (null). */
  readonly paused: { readonly untilMs: number | null; readonly reason: string } | null;
  /** Provider → not to be used for it until (ms), and why (a rule id or an operator's reason). */
  readonly suspended: Readonly<
    Record<ProviderId, { readonly untilMs: number | null; readonly reason: string }>
  >;
  /**
   * Warmup caps, null once the IP is warm. Provider → messages allowed per day and per hour;
   * "*" applies to providers without their own line.
   */
  readonly caps: Readonly<Record<ProviderId, { readonly daily: number; readonly hourly: number }>> | null;
  readonly warmupDay: number | null;
  /** When this state was computed (ms); routing ignores effects that expired since. */
  readonly asOfMs: number;
  /**
   * Provider → factor (0 < f ≤ 1) on `weight` for that provider only, from reputation rules
   * that lower the weight (e.g. Gmail "likely unsolicited", a bounce rate over threshold):
   * what one receiver thinks of the IP says nothing about the others. Absent = 1.
   */
  readonly weightFactors?: Readonly<Record<ProviderId, number>>;
  /**
   * Provider → slow down until (ms), and why (a rule id): the receiver asked for less (Gmail
   * 4.7.28, Microsoft 4.7.650, Yahoo TS01/TS02). Routing prefers other IPs for that provider;
   * the dispatcher may lower its message rate to that provider's sites. Absent = none.
   */
  readonly throttled?: Readonly<Record<ProviderId, { readonly untilMs: number; readonly reason: string }>>;
}
