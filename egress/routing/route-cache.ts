import type { IpRow, PauseRow, RoutingStore } from '../../adapters/postgres/routing.js';
import type { IpRouteState } from '../../core/routing/ip-actor-types.js';
import type { PoolDef } from '../../core/routing/pools.js';

/** The node's in-memory copy of what routing reads: pools, IPs, route state, pauses. */
export interface RouteSnapshot {
  readonly pools: readonly PoolDef[];
  readonly ips: readonly IpRow[];
  readonly routes: ReadonlyMap<string, IpRouteState>;
  readonly pauses: readonly PauseRow[];
}

/**
 * Keeps a RouteSnapshot fresh: reloads when a NOTIFY says something changed, and on a timer
 * as a safety net for notifications missed while a connection was down.
 */
export function createRouteCache(
  store: Pick<RoutingStore, 'pools' | 'ips' | 'routeStates' | 'pauses'>,
  refreshMs: number,
) {
  let snapshot: RouteSnapshot = { pools: [], ips: [], routes: new Map(), pauses: [] };
  let loading: Promise<void> | null = null;
  let again = false;
  const listeners: ((snap: RouteSnapshot) => Promise<void>)[] = [];

  async function load(): Promise<void> {
    const [pools, ips, routes, pauses] = await Promise.all([
      store.pools(),
      store.ips(),
      store.routeStates(),
      store.pauses(),
    ]);
    snapshot = { pools, ips, routes: new Map(routes.map((r) => [r.ip, r])), pauses };
    for (const l of listeners) await l(snapshot);
  }

  /** Reloads now; a request during a load runs once more after it, so no change is missed. */
  function refresh(): Promise<void> {
    if (loading) {
      again = true;
      return loading;
    }
    loading = load().finally(() => {
      loading = null;
      if (again) {
        again = false;
        void refresh();
      }
    });
    return loading;
  }

  const timer = setInterval(() => void refresh().catch(() => {}), refreshMs);
  timer.unref();
  return {
    refresh,
    /** Runs after every reload (e.g. to start the workflows of new IPs). */
    onLoad(listener: (snap: RouteSnapshot) => Promise<void>): void {
      listeners.push(listener);
    },
    current: (): RouteSnapshot => snapshot,
    close: () => clearInterval(timer),
  };
}

export type RouteCache = ReturnType<typeof createRouteCache>;
