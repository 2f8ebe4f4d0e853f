import type { IpRouteState, ProviderId } from './ip-actor-types.js';

/**
 * The node's own suspensions of an IP for a provider (docs/architecture.md, "The reroute
 * path"). A refusal the reputation rules read as a suspension (Yahoo [TS04], Microsoft
 * S3150, a block-list listing, …) stops the IP for that provider on this node at once, for
 * the deliveries already queued and for new routing decisions, without waiting for the IP
 * workflow to hear of it through the outcome feed. The IP workflow stays the owner of the
 * IP's state: an entry here is a node-local cache of the decision the workflow is about to
 * make, bounded by the rule's own expiry, and the workflow's published route state replaces
 * it once the workflow has seen the refusal. Other nodes learn of the suspension from that
 * route state, as of any other.
 *
 * Pure: the table is a plain value; the node keeps the current one.
 */
export interface LocalSuspension {
  readonly ip: string;
  readonly provider: ProviderId;
  /** The reputation rule (a classifier rule id, core/routing/reputation.ts) that fired. */
  readonly ruleId: string;
  /** The refusal, ms. */
  readonly sinceMs: number;
  /** Lifts by itself then, ms: the rule's duration from the last refusal. */
  readonly untilMs: number;
  /**
   * When the outcome summary carrying the refusal was sent to the IP workflow, ms (the send's
   * start: the workflow cannot have seen it earlier); null until then.
   */
  readonly reportedAtMs: number | null;
}

export type LocalSuspensions = readonly LocalSuspension[];

const same = (s: LocalSuspension, ip: string, provider: ProviderId) => s.ip === ip && s.provider === provider;

/** The active local suspension of `ip` for `provider`, or null. */
export function localSuspensionFor(
  table: LocalSuspensions,
  ip: string,
  provider: ProviderId,
  nowMs: number,
): LocalSuspension | null {
  return table.find((s) => same(s, ip, provider) && s.untilMs > nowMs) ?? null;
}

/**
 * Suspends `ip` for `provider` until now + durationMs; a new refusal while suspended extends
 * it (as the IP workflow's rules extend theirs). `created` says whether it was not suspended
 * before.
 */
export function suspendLocally(
  table: LocalSuspensions,
  s: { ip: string; provider: ProviderId; ruleId: string; durationMs: number; nowMs: number },
): { table: LocalSuspensions; created: boolean } {
  const before = localSuspensionFor(table, s.ip, s.provider, s.nowMs);
  const rest = table.filter((x) => !same(x, s.ip, s.provider) && x.untilMs > s.nowMs);
  const untilMs = Math.max(before?.untilMs ?? 0, s.nowMs + s.durationMs);
  const entry: LocalSuspension = before
    ? { ...before, untilMs }
    : { ip: s.ip, provider: s.provider, ruleId: s.ruleId, sinceMs: s.nowMs, untilMs, reportedAtMs: null };
  return { table: [...rest, entry], created: before === null };
}

/** The refusals behind (ip, provider) were sent to the IP workflow at `atMs`. */
export function markReported(
  table: LocalSuspensions,
  ip: string,
  provider: ProviderId,
  atMs: number,
): LocalSuspensions {
  return table.map((s) =>
    same(s, ip, provider) && s.reportedAtMs === null && s.sinceMs <= atMs ? { ...s, reportedAtMs: atMs } : s,
  );
}

/**
 * Drops what expired, what the published state already covers, and what the IP workflow has
 * decided since it was told:
 * - a published suspension of the IP for the provider that lasts at least as long makes the
 *   entry redundant (routing reads the longer one either way, see withLocalSuspensions). The
 *   workflow does not publish again when a refusal changes nothing it routes by, so a state
 *   from before the report may be all there is;
 * - a route state computed at or after the report (asOfMs ≥ reportedAtMs) already says
 *   whether the IP is suspended, extended or lifted, and it rules. A route state from before
 *   the report that does not cover the entry says nothing about this refusal and leaves the
 *   entry alone.
 */
export function reconcileLocalSuspensions(
  table: LocalSuspensions,
  routes: ReadonlyMap<string, IpRouteState>,
  nowMs: number,
): LocalSuspensions {
  return table.filter((s) => {
    if (s.untilMs <= nowMs) return false;
    const route = routes.get(s.ip);
    if (!route) return true;
    if (coversLocal(route.suspended[s.provider], s)) return false;
    return !(s.reportedAtMs !== null && route.asOfMs >= s.reportedAtMs);
  });
}

/** A published suspension that holds at least as long as the local entry. */
function coversLocal(
  published: IpRouteState['suspended'][ProviderId] | undefined,
  s: LocalSuspension,
): boolean {
  return published !== undefined && (published.untilMs === null || published.untilMs >= s.untilMs);
}

/**
 * The route state routing should use on this node: the published one with this node's
 * active local suspensions of the IP laid over it (a published suspension that lasts longer
 * is kept).
 */
export function withLocalSuspensions(
  route: IpRouteState,
  table: LocalSuspensions,
  nowMs: number,
): IpRouteState {
  const mine = table.filter((s) => s.ip === route.ip && s.untilMs > nowMs);
  if (mine.length === 0) return route;
  const suspended = { ...route.suspended };
  for (const s of mine) {
    if (coversLocal(suspended[s.provider], s)) continue;
    suspended[s.provider] = { untilMs: s.untilMs, reason: `${s.ruleId} (on this node)` };
  }
  return { ...route, suspended };
}
