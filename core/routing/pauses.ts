/**
 * Operator pauses beyond single IPs: a destination domain, a mailbox provider, a tenant or
 * a sending domain. Pure set operations for the control workflow, and the check the
 * delivery activity makes before routing. Values are compared lowercased.
 */
export type PauseScope = 'domain' | 'provider' | 'tenant' | 'sending_domain';

export interface Pause {
  readonly scope: PauseScope;
  readonly value: string;
  /** Lifted automatically at this time (ms since epoch); null: until resumed. */
  readonly untilMs: number | null;
  readonly reason: string;
  readonly actor: string;
}

/**
 * What a held message waits on: an operator pause (its scope and value), or `route` with a
 * pool's name when no IP of the pool could take the message.
 */
export interface HoldKey {
  readonly scope: PauseScope | 'route';
  readonly value: string;
}

export interface PauseKey {
  readonly scope: PauseScope;
  readonly value: string;
}

const same = (a: PauseKey, b: PauseKey) =>
  a.scope === b.scope && a.value.toLowerCase() === b.value.toLowerCase();

/** Adds a pause, or replaces the one with the same scope and value (a new reason or expiry). */
export function addPause(pauses: readonly Pause[], p: Pause): Pause[] {
  return [...pauses.filter((x) => !same(x, p)), { ...p, value: p.value.toLowerCase() }];
}

export function removePause(
  pauses: readonly Pause[],
  key: PauseKey,
): { pauses: Pause[]; removed: Pause | null } {
  const removed = pauses.find((x) => same(x, key)) ?? null;
  return { pauses: pauses.filter((x) => !same(x, key)), removed };
}

/** Drops pauses whose time is up; returns them so their held messages can be released. */
export function expirePauses(pauses: readonly Pause[], nowMs: number): { pauses: Pause[]; expired: Pause[] } {
  const expired = pauses.filter((p) => p.untilMs !== null && p.untilMs <= nowMs);
  return { pauses: pauses.filter((p) => !expired.includes(p)), expired };
}

/** The soonest automatic expiry, ms since epoch, or null. */
export function nextPauseExpiry(pauses: readonly Pause[]): number | null {
  const times = pauses.map((p) => p.untilMs).filter((t): t is number => t !== null);
  return times.length > 0 ? Math.min(...times) : null;
}

/** The pause that holds a delivery with these attributes, if any (in force at `nowMs`). */
export function pauseFor(
  pauses: readonly Pause[],
  delivery: { domain: string; provider: string; tenant: string; sendingDomain: string },
  nowMs: number,
): Pause | null {
  const keys: PauseKey[] = [
    { scope: 'tenant', value: delivery.tenant },
    { scope: 'sending_domain', value: delivery.sendingDomain },
    { scope: 'domain', value: delivery.domain },
    { scope: 'provider', value: delivery.provider },
  ];
  for (const key of keys) {
    const p = pauses.find((x) => same(x, key) && (x.untilMs === null || x.untilMs > nowMs));
    if (p) return p;
  }
  return null;
}
