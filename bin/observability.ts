import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { startDogStatsd } from '../adapters/dogstatsd.js';
import { createMetrics, type Metrics, type WarmupLine, warmupLinesOf } from '../adapters/metrics.js';
import { startMetricsServer } from '../adapters/metrics-server.js';
import type { Db } from '../adapters/postgres/db.js';
import type { JournalObserver } from '../adapters/postgres/journal.js';
import { routingStore } from '../adapters/postgres/routing.js';
import { metricsPlugin } from '../api/metrics-routes.js';
import type { Config } from '../config/schema.js';
import type { DeliveryEvent } from '../core/events.js';
import type { QueueStats } from '../egress/dispatcher.js';

/** Metrics wiring of a node (docs/operations.md, "Metrics"): what serve() registers. */
export interface Observability {
  /** Null with POSTHORN_METRICS=off. */
  readonly metrics: Metrics | null;
  /** Counts events the accept insert committed; never throws (the request has succeeded). */
  accepted(events: readonly DeliveryEvent[]): void;
  readonly journal: JournalObserver | undefined;
  readonly apiPlugins: ((app: FastifyInstance) => void)[];
  /** Opens the operator listener and the DogStatsD push, once the node runs. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export function createObservability(
  config: Config,
  deps: {
    db: Db;
    log: Logger;
    egressStats: () => QueueStats[];
    journalLagMs: () => number;
    now: () => number;
  },
): Observability {
  if (!config.metrics) {
    return {
      metrics: null,
      accepted: () => {},
      journal: undefined,
      apiPlugins: [],
      start: async () => {},
      close: async () => {},
    };
  }
  const routing = routingStore(deps.db);
  const metrics = createMetrics({
    topN: config.metricsTopN,
    now: deps.now,
    egressStats: deps.egressStats,
    journalLagMs: deps.journalLagMs,
    tenantNames: async (ids) => {
      const r = await deps.db.query<{ id: string; name: string }>(
        'SELECT id, name FROM tenants WHERE id = ANY($1::uuid[])',
        [ids],
      );
      return new Map(r.rows.map((row) => [row.id, row.name]));
    },
    warmup: () => warmupLines(routing, deps.now(), config.warmupDay),
  });
  const closers: (() => Promise<void>)[] = [];
  return {
    metrics,
    accepted(events) {
      try {
        metrics.eventsRecorded(events);
      } catch (err) {
        deps.log.warn({ err, event: 'metrics.failed' }, 'could not count accepted messages');
      }
    },
    journal: {
      committed(events, batch) {
        metrics.eventsRecorded(events);
        metrics.journalBatch(batch);
      },
    },
    apiPlugins: [metricsPlugin(metrics, config.adminToken ?? null)],
    async start() {
      if (config.metricsPort !== 0) {
        const server = await startMetricsServer({
          host: config.metricsHost,
          port: config.metricsPort,
          metrics,
          token: config.adminToken ?? null,
        });
        closers.push(server.close);
        deps.log.info({ event: 'metrics.listening', url: server.url }, 'metrics listener up');
      }
      if (config.dogstatsd) {
        const push = startDogStatsd({
          target: config.dogstatsd,
          registry: metrics.registry,
          onError: (err) => deps.log.warn({ err, event: 'dogstatsd.error' }, 'DogStatsD push failed'),
        });
        closers.push(push.close);
      }
    },
    async close() {
      for (const c of closers.reverse()) await c();
    },
  };
}

async function warmupLines(
  routing: Pick<ReturnType<typeof routingStore>, 'usage' | 'routeStates'>,
  nowMs: number,
  dayMs: number,
): Promise<WarmupLine[]> {
  const [usage, states] = await Promise.all([routing.usage(nowMs, dayMs), routing.routeStates()]);
  return warmupLinesOf(usage, states);
}
