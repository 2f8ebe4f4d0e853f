/**
 * Whether a worker's task slots are stuck: (nearly) every slot busy and no work completed
 * for a whole window. Busy slots alone are load (a burst to a slow provider fills them for
 * a while, and they drain); full slots that do not drain mean nothing moves — a stuck
 * statement, receivers holding every session open — and /health says so
 * (docs/reliability.md, "Hostile input": a stuck journal or a full worker is unhealthy).
 */
export interface SlotWatch {
  /** Called whenever the number of busy slots changes; `completed`: work completed meanwhile. */
  observe(nowMs: number, busy: number, completed: number): void;
  stuck(nowMs: number): boolean;
}

/**
 * Slots count as full from this share up: a task that waits (throttled, held) ends and
 * comes back as a new task a moment later, so a full worker flickers just below capacity.
 */
const FULL_SHARE = 0.9;

export function createSlotWatch(capacity: number, windowMs: number): SlotWatch {
  const full = Math.max(1, Math.floor(capacity * FULL_SHARE));
  let fullSinceMs: number | null = null;
  let lastCompletedMs = Number.NEGATIVE_INFINITY;
  return {
    observe(nowMs, busy, completed) {
      if (completed > 0) lastCompletedMs = nowMs;
      if (busy < full) fullSinceMs = null;
      else fullSinceMs ??= nowMs;
    },
    stuck(nowMs) {
      return fullSinceMs !== null && nowMs - fullSinceMs >= windowMs && nowMs - lastCompletedMs >= windowMs;
    },
  };
}
