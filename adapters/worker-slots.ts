import type { Worker } from '@temporalio/worker';
import { createSlotWatch } from '../core/slot-watch.js';

/**
 * Watches a worker's activity slots (core/slot-watch.ts): `kind` local counts the local
 * activities (a wave's deliveries), remote the activity tasks. Progress is what the node
 * records (`progress`, a count that grows as delivery outcomes are committed), not tasks
 * ending: a delivery that waits and is tried again ends its task without moving anything.
 * Returns whether the slots are stuck now.
 */
export function watchWorkerSlots(
  worker: Worker,
  kind: 'local' | 'remote',
  capacity: number,
  windowMs: number,
  now: () => number,
  progress: () => number,
): () => boolean {
  const watch = createSlotWatch(capacity, windowMs);
  let seen = progress();
  const sample = () => {
    const s = worker.getStatus();
    const busy = kind === 'local' ? s.numInFlightLocalActivities : s.numInFlightActivities;
    const done = progress();
    watch.observe(now(), busy, done - seen);
    seen = done;
  };
  // Emits on every change of in-flight activities; a quiet worker is sampled when asked.
  worker.numInFlightActivities$.subscribe(sample);
  return () => {
    sample();
    return watch.stuck(now());
  };
}
