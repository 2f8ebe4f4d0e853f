import type { IpRouteState, ProviderId } from '../../core/routing/ip-actor-types.js';
import {
  type LocalSuspension,
  type LocalSuspensions,
  localSuspensionFor,
  markReported,
  reconcileLocalSuspensions,
  suspendLocally,
} from '../../core/routing/local-suspensions.js';

/**
 * The node's table of its own IP × provider suspensions (core/routing/local-suspensions.ts):
 * the egress dispatcher writes it when a refusal suspends an IP, the IP chooser reads it, the
 * outcome feed marks what it has told the IP workflows, and the workflows' published state
 * replaces what they have decided on: at every route-cache reload, and when a report is
 * marked (the reload that carries the workflow's answer can come before the send of the
 * report returns; without the second check the entry would outlive the workflow's decision
 * until the next reload or its own expiry).
 */
export function createLocalSuspensionTable(deps: {
  now: () => number;
  /** POSTHORN_REPUTATION_SCALE: the IP workflows' durations are scaled by it, so are ours. */
  durationScale: number;
}) {
  let table: LocalSuspensions = [];
  let lastRoutes: ReadonlyMap<string, IpRouteState> = new Map();
  return {
    /** Suspends at once; returns the entry when it is new (not an extension), else null. */
    suspend(ip: string, provider: ProviderId, ruleId: string, durationMs: number): LocalSuspension | null {
      const now = deps.now();
      const r = suspendLocally(table, {
        ip,
        provider,
        ruleId,
        durationMs: durationMs * deps.durationScale,
        nowMs: now,
      });
      table = r.table;
      return r.created ? localSuspensionFor(table, ip, provider, now) : null;
    },
    active(ip: string, provider: ProviderId): LocalSuspension | null {
      return localSuspensionFor(table, ip, provider, deps.now());
    },
    /** The active entries (for routing and the operator's view). */
    current(): LocalSuspensions {
      const now = deps.now();
      table = table.filter((s) => s.untilMs > now);
      return table;
    },
    reported(ip: string, provider: ProviderId, atMs: number): void {
      table = reconcileLocalSuspensions(markReported(table, ip, provider, atMs), lastRoutes, deps.now());
    },
    reconcile(routes: ReadonlyMap<string, IpRouteState>): void {
      lastRoutes = routes;
      table = reconcileLocalSuspensions(table, routes, deps.now());
    },
  };
}

export type LocalSuspensionTable = ReturnType<typeof createLocalSuspensionTable>;
