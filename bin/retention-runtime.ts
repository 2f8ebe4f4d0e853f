import type { Logger } from 'pino';
import type { RetentionStore } from '../adapters/postgres/retention.js';
import { daysAhead, daysPastRetention } from '../core/retention.js';

/** Partitions made ahead of time, days: a week of node downtime never leaves a day without one. */
const DAYS_AHEAD = 7;
/** How often retention runs, ms. */
const INTERVAL_MS = 3_600_000;
/** Bodies emptied per statement, and statements per run: a backlog drains over several runs. */
const BODY_BATCH = 1000;
const BODY_BATCHES_PER_RUN = 50;

/**
 * Retention on this node (docs/operations.md, "Retention"): day partitions of the delivery
 * log made a week ahead and dropped past POSTHORN_EVENT_RETENTION, message bodies emptied
 * past POSTHORN_BODY_RETENTION. The first run completes before the node serves.
 */
export async function startRetention(deps: {
  store: RetentionStore;
  eventRetentionMs: number;
  bodyRetentionMs: number;
  log: Logger;
  now: () => number;
}): Promise<{ close(): Promise<void> }> {
  const { store, log } = deps;
  async function run(): Promise<void> {
    const now = deps.now();
    const existing = new Set(await store.partitionDays());
    const create = daysAhead(now, DAYS_AHEAD).filter((d) => !existing.has(d));
    const drop = daysPastRetention([...existing], now, deps.eventRetentionMs);
    if (create.length > 0 || drop.length > 0) {
      const done = await store.apply(create, drop, now - deps.eventRetentionMs);
      if (done && (done.created.length || done.dropped.length || done.defaultRows))
        log.info({ event: 'retention.partitions', ...done }, 'delivery log partitions maintained');
    }
    let bodies = 0;
    for (let i = 0; i < BODY_BATCHES_PER_RUN; i++) {
      const n = await store.dropBodies(now - deps.bodyRetentionMs, BODY_BATCH);
      bodies += n;
      if (n < BODY_BATCH) break;
    }
    if (bodies > 0) log.info({ event: 'retention.bodies', bodies }, 'message bodies past retention emptied');
  }
  await run();
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    running = run().catch((err) => log.warn({ err, event: 'retention.failed' }, 'retention run failed'));
  }, INTERVAL_MS);
  timer.unref();
  return {
    async close() {
      clearInterval(timer);
      await running;
    },
  };
}
