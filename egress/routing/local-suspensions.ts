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
 * outcome feed marks what it has told the IP workflows, and every route-cache reload lets
 * the workflows' published state replace what they have decided on.
 */
export function createLocalSuspensionTable(deps: {
  now: () => number;
  /** POSTHORN_REPUTATION_SCALE: the IP workflows' durations are scaled by it, so are ours. */
  durationScale: number;
}) {
  let table: LocalSuspensions = [];
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
      table = markReported(table, ip, provider, atMs);
    },
    reconcile(routes: ReadonlyMap<string, IpRouteState>): void {
      table = reconcileLocalSuspensions(table, routes, deps.now());
    },
  };
}

export type LocalSuspensionTable = ReturnType<typeof createLocalSuspensionTable>;
