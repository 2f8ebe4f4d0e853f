import type { HeldStore } from '../../adapters/postgres/held.js';
import { type Pause, pauseFor } from '../../core/routing/pauses.js';
import type { RouteCache } from './route-cache.js';

/** A held delivery waits at most this long before looking again, ms (a lost release signal). */
const MAX_HOLD_MS = 3_600_000;

/**
 * The operator-pause check before routing. A held delivery is recorded in held_messages
 * first and the pauses re-read after, so a resume that lands in between is never missed:
 * the control workflow publishes the lifted pause before it releases held messages.
 */
export function createPauseGate(deps: {
  cache: Pick<RouteCache, 'current' | 'refresh'>;
  held: Pick<HeldStore, 'hold' | 'unhold'>;
  now: () => number;
}) {
  return async function check(
    messageId: string,
    delivery: { domain: string; provider: string; tenant: string; sendingDomain: string },
  ): Promise<{ pause: Pause; retryAfterMs: number } | null> {
    const pause = pauseFor(deps.cache.current().pauses, delivery, deps.now());
    if (!pause) return null;
    await deps.held.hold(messageId, delivery.domain, pause);
    await deps.cache.refresh();
    const still = pauseFor(deps.cache.current().pauses, delivery, deps.now());
    if (!still) {
      await deps.held.unhold(messageId, delivery.domain);
      return null;
    }
    const left =
      still.untilMs === null
        ? MAX_HOLD_MS
        : Math.min(MAX_HOLD_MS, Math.max(1000, still.untilMs - deps.now()));
    return { pause: still, retryAfterMs: left };
  };
}

export type PauseGate = ReturnType<typeof createPauseGate>;
