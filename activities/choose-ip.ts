import type { RoutingStore } from '../adapters/postgres/routing.js';
import type { IpRouteState } from '../core/ip-actor-types.js';
import { poolFor } from '../core/pools.js';
import { chooseIp, type RouteCandidate } from '../core/routing.js';
import type { RouteCache } from '../egress/route-cache.js';

export type IpPick =
  | { kind: 'ip'; ip: string; ehloName: string; pool: string; overflow: boolean }
  | { kind: 'wait'; reason: string; retryAfterMs: number; pool: string };

/** Route state to use for an IP whose workflow has not published yet. */
function unpublished(ip: string, warm: boolean, weight: number, nowMs: number): IpRouteState | null {
  // A warming IP takes nothing before its actor has published its caps; a warm one may.
  return warm
    ? { version: 1, ip, weight, paused: null, suspended: {}, caps: null, warmupDay: null, asOfMs: nowMs }
    : null;
}

/**
 * Picks the source IP for a delivery (DESIGN.md §3.2): the pool for (tenant, stream), the
 * pool's IPs on this node, their published route state, and today's warmup usage; a capped
 * warming IP is skipped for a warm one. A cap is taken atomically before the IP is used, so
 * caps hold exactly even when nodes race; a lost race picks again.
 */
export function createIpChooser(deps: {
  cache: Pick<RouteCache, 'current'>;
  routing: Pick<RoutingStore, 'usage' | 'reserve'>;
  nodeId: string;
  dayMs: number;
  random: () => number;
  now: () => number;
}) {
  return async function choose(a: {
    tenantId: string;
    messageType: string;
    provider: string;
    preferredIp: string | null;
  }): Promise<IpPick | null> {
    const snap = deps.cache.current();
    const pool = poolFor(snap.pools, a.tenantId, a.messageType);
    if (!pool) return null;
    const rows = snap.ips.filter((r) => r.pool === pool.name && r.nodeId === deps.nodeId);
    if (rows.length === 0) {
      return {
        kind: 'wait',
        reason: `pool ${pool.name} has no IP on node ${deps.nodeId}`,
        retryAfterMs: 60_000,
        pool: pool.name,
      };
    }
    const now = deps.now();
    const used = await deps.routing.usage(now, deps.dayMs);
    const usageOf = (ip: string) => ({
      today: used.find((u) => u.ip === ip && u.provider === a.provider && u.period === 'day')?.count ?? 0,
      thisHour: used.find((u) => u.ip === ip && u.provider === a.provider && u.period === 'hour')?.count ?? 0,
    });
    let candidates: RouteCandidate[] = rows.flatMap((r) => {
      const route = snap.routes.get(r.address) ?? unpublished(r.address, r.warm, r.weight, now);
      return route ? [{ ip: r.address, route, usage: usageOf(r.address) }] : [];
    });
    for (let tries = 0; tries <= rows.length; tries++) {
      const choice = chooseIp({
        candidates,
        provider: a.provider,
        preferredIp: a.preferredIp,
        nowMs: now,
        random: deps.random,
        pool: pool.name,
        dayMs: deps.dayMs,
        hourMs: deps.dayMs / 24,
      });
      if (choice.kind === 'wait')
        return { kind: 'wait', reason: choice.reason, retryAfterMs: choice.retryAfterMs, pool: pool.name };
      const picked = candidates.find((c) => c.ip === choice.ip)!;
      const caps = picked.route.caps
        ? (picked.route.caps[a.provider] ?? picked.route.caps['*'] ?? null)
        : null;
      if (!caps || (await deps.routing.reserve(choice.ip, a.provider, caps, now, deps.dayMs))) {
        const row = rows.find((r) => r.address === choice.ip)!;
        return {
          kind: 'ip',
          ip: choice.ip,
          ehloName: row.ehloName,
          pool: pool.name,
          overflow: choice.overflow,
        };
      }
      // Another delivery took the last of this IP's cap first: count it full and choose again.
      candidates = candidates.map((c) =>
        c.ip === choice.ip ? { ...c, usage: { today: caps.daily, thisHour: caps.hourly } } : c,
      );
    }
    return {
      kind: 'wait',
      reason: `pool ${pool.name}: every IP at its warmup cap for ${a.provider}`,
      retryAfterMs: 60_000,
      pool: pool.name,
    };
  };
}

export type IpChooser = ReturnType<typeof createIpChooser>;
