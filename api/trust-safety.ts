import type { Logger } from 'pino';
import type { ControlClient } from '../adapters/control-client.js';
import type { TrustSafetyStore } from '../adapters/postgres/trust-safety.js';
import {
  type AutoPause,
  decideAutoPauses,
  type SafetyThresholds,
  TRUST_AND_SAFETY_ACTOR,
} from '../core/limits/safety.js';
import type { Pause } from '../core/routing/pauses.js';

/** Outcome minutes older than the window are kept this long for the sending ramp's yesterday, ms. */
const KEEP_OUTCOMES_MS = 2 * 86_400_000;
/** How often old outcome minutes are deleted, ms. */
const PRUNE_EVERY_MS = 3_600_000;

export interface TrustSafetyDeps {
  readonly store: Pick<TrustSafetyStore, 'exclusive' | 'windows' | 'record' | 'prune'>;
  readonly control: Pick<ControlClient, 'pause'>;
  /** The pauses in force as this node's route cache has them. */
  readonly pauses: () => readonly Pause[];
  readonly thresholds: SafetyThresholds;
  readonly intervalMs: number;
  readonly now: () => number;
  readonly log: Logger;
}

/**
 * Trust and safety on a node: every `intervalMs` it judges each tenant's and sending
 * domain's outcomes over the sliding window (core/limits/safety.ts) and pauses those past a
 * threshold through the control workflow, so the pause is a signal in its history with the
 * reason, and records a `paused` event in the delivery log. Every node runs it; an advisory
 * lock gives the turn to one at a time, and the pause, its record and its event commit
 * together (a failed signal rolls back the record, and the next round tries again).
 */
export function startTrustSafety(deps: TrustSafetyDeps): {
  runOnce(): Promise<AutoPause[]>;
  close(): Promise<void>;
} {
  let lastPrune = 0;
  let running: Promise<unknown> | null = null;
  let closed = false;

  function inForce(scope: 'tenant' | 'sending_domain', value: string): boolean {
    const now = deps.now();
    return deps
      .pauses()
      .some(
        (p) =>
          p.scope === scope &&
          p.value.toLowerCase() === value.toLowerCase() &&
          (p.untilMs === null || p.untilMs > now),
      );
  }

  async function runOnce(): Promise<AutoPause[]> {
    const made: AutoPause[] = [];
    await deps.store.exclusive(async (tx) => {
      const windows = await deps.store.windows(tx, deps.now() - deps.thresholds.windowMs);
      for (const p of decideAutoPauses(windows, deps.thresholds, inForce)) {
        await deps.store.record(tx, p, TRUST_AND_SAFETY_ACTOR);
        await deps.control.pause({ kind: p.scope, value: p.value }, null, p.reason, TRUST_AND_SAFETY_ACTOR);
        deps.log.warn(
          { event: 'safety.paused', scope: p.scope, value: p.value, reason: p.reason },
          `${p.scope} ${p.value} paused by trust and safety`,
        );
        made.push(p);
      }
    });
    if (deps.now() - lastPrune >= PRUNE_EVERY_MS) {
      lastPrune = deps.now();
      await deps.store.prune(deps.now() - Math.max(deps.thresholds.windowMs, KEEP_OUTCOMES_MS));
    }
    return made;
  }

  const timer = setInterval(() => {
    if (closed || running) return;
    running = runOnce()
      .catch((err) => deps.log.warn({ err, event: 'safety.failed' }, 'trust and safety round failed'))
      .finally(() => {
        running = null;
      });
  }, deps.intervalMs);
  timer.unref();

  return {
    runOnce,
    async close() {
      closed = true;
      clearInterval(timer);
      await running;
    },
  };
}
