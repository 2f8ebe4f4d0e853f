import type { IpRow, RoutingStore } from '../../adapters/postgres/routing.js';
import type { IpRouteState } from '../../core/routing/ip-actor-types.js';
import { withLocalSuspensions } from '../../core/routing/local-suspensions.js';
import { poolFor } from '../../core/routing/pools.js';
import { chooseIp, type RouteCandidate } from '../../core/routing/routing.js';
import type { LocalSuspensionTable } from './local-suspensions.js';
import type { RouteCache } from './route-cache.js';

export type IpPick =
  | { kind: 'ip'; ip: string; pool: string }
  /** An IP of another node may take it while none of this node's may: deliver there. */
  | { kind: 'elsewhere'; ip: string; node: string; pool: string }
  | { kind: 'wait'; reason: string; retryAfterMs: number; pool: string };

/** Route state to use for an IP whose workflow has not published yet. */
function unpublished(ip: string, warm: boolean, weight: number, nowMs: number): IpRouteState | null {
  // A warming IP takes nothing before its actor has published its caps; a warm one may.
  return warm
    ? { version: 1, ip, weight, paused: null, suspended: {}, caps: null, warmupDay: null, asOfMs: nowMs }
    : null;
}

/**
 * Picks the source IP for a delivery (docs/architecture.md, "The routing wing"): the pool
 * for (tenant, stream), the pool's IPs, their published route state, and today's warmup
 * usage; a capped warming IP is skipped for a warm one. A cap is taken atomically before
 * the IP is used, so caps hold exactly even when nodes race; a lost race picks again. This
 * node's IPs come first (no hop between nodes; the load balancer spreads accepts); only
 * when none of them may send is an IP of another node named, for the workflow to deliver on
 * that node. This node's own suspensions (egress/routing/local-suspensions.ts) are laid over
 * the published route states: an IP the node has just seen refused is out of the choice
 * before its IP workflow says so.
 */
export function createIpChooser(deps: {
  cache: Pick<RouteCache, 'current'>;
  routing: Pick<RoutingStore, 'usage' | 'reserve'>;
  nodeId: string;
  dayMs: number;
  random: () => number;
  now: () => number;
  suspensions?: Pick<LocalSuspensionTable, 'current'>;
}) {
  return async function choose(a: {
    tenantId: string;
    messageType: string;
    provider: string;
    preferredIp: string | null;
    /** IPs that refused this delivery just now: not chosen again for it. */
    exclude?: readonly string[];
  }): Promise<IpPick | null> {
    const snap = deps.cache.current();
    const pool = poolFor(snap.pools, a.tenantId, a.messageType);
    if (!pool) return null;
    const now = deps.now();
    const inPool = snap.ips.filter((r) => r.pool === pool.name && !a.exclude?.includes(r.address));
    const local = deps.suspensions?.current() ?? [];
    // Usage matters only for warming IPs; a pool of warm IPs skips the query.
    const capped = inPool.some((r) => snap.routes.get(r.address)?.caps || !r.warm);
    const used = capped ? await deps.routing.usage(now, deps.dayMs) : [];
    const usageOf = (ip: string) => ({
      today: used.find((u) => u.ip === ip && u.provider === a.provider && u.period === 'day')?.count ?? 0,
      thisHour: used.find((u) => u.ip === ip && u.provider === a.provider && u.period === 'hour')?.count ?? 0,
    });
    const candidatesOf = (rows: readonly IpRow[]): RouteCandidate[] =>
      rows.flatMap((r) => {
        const route = snap.routes.get(r.address) ?? unpublished(r.address, r.warm, r.weight, now);
        return route
          ? [{ ip: r.address, route: withLocalSuspensions(route, local, now), usage: usageOf(r.address) }]
          : [];
      });
    const pick = (candidates: RouteCandidate[]) =>
      chooseIp({
        candidates,
        provider: a.provider,
        preferredIp: a.preferredIp,
        nowMs: now,
        random: deps.random,
        pool: pool.name,
        dayMs: deps.dayMs,
        hourMs: deps.dayMs / 24,
      });
    const wait = (reason: string, retryAfterMs: number): IpPick => ({
      kind: 'wait',
      reason,
      retryAfterMs,
      pool: pool.name,
    });

    const mine = inPool.filter((r) => r.nodeId === deps.nodeId);
    let here: IpPick = wait(`pool ${pool.name} has no IP on node ${deps.nodeId}`, 60_000);
    let candidates = candidatesOf(mine);
    for (let tries = 0; mine.length > 0 && tries <= mine.length; tries++) {
      const choice = pick(candidates);
      if (choice.kind === 'wait') {
        here = wait(choice.reason, choice.retryAfterMs);
        break;
      }
      const route = candidates.find((c) => c.ip === choice.ip)!.route;
      const caps = route.caps ? (route.caps[a.provider] ?? route.caps['*'] ?? null) : null;
      if (!caps || (await deps.routing.reserve(choice.ip, a.provider, caps, now, deps.dayMs))) {
        return { kind: 'ip', ip: choice.ip, pool: pool.name };
      }
      // Another delivery took the last of this IP's cap first: count it full and choose again.
      candidates = candidates.map((c) =>
        c.ip === choice.ip ? { ...c, usage: { today: caps.daily, thisHour: caps.hourly } } : c,
      );
      here = wait(`pool ${pool.name}: every IP at its warmup cap for ${a.provider}`, 60_000);
    }

    const remote = inPool.filter((r) => r.nodeId !== deps.nodeId);
    if (remote.length === 0 || here.kind !== 'wait') return here;
    const there = pick(candidatesOf(remote));
    if (there.kind === 'ip') {
      return {
        kind: 'elsewhere',
        ip: there.ip,
        node: remote.find((r) => r.address === there.ip)!.nodeId,
        pool: pool.name,
      };
    }
    return there.retryAfterMs < here.retryAfterMs ? { ...here, retryAfterMs: there.retryAfterMs } : here;
  };
}

export type IpChooser = ReturnType<typeof createIpChooser>;
