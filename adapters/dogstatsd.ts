import StatsD from 'hot-shots';
import type { Registry } from 'prom-client';

/** How often the registry is pushed to the agent, ms (Datadog's default flush is 10 s). */
const PUSH_EVERY_MS = 10_000;

interface Sample {
  readonly value: number;
  readonly labels: Record<string, string | number>;
  readonly metricName?: string;
}

/**
 * Pushes the Prometheus registry to a DogStatsD agent (POSTHORN_DOGSTATSD), for Datadog
 * users without an OpenMetrics scrape: counters as count deltas since the last push, gauges
 * as gauges, histograms as the deltas of their _count and _sum. Labels become tags. Reading
 * the registry on a timer keeps the delivery path free of a second client.
 */
export function startDogStatsd(opts: { target: string; registry: Registry; onError: (err: Error) => void }): {
  push(): Promise<void>;
  close(): Promise<void>;
} {
  const [host, port] = [opts.target.slice(0, opts.target.lastIndexOf(':')), opts.target.split(':').pop()];
  const client = new StatsD({ host, port: Number(port), errorHandler: opts.onError });
  const last = new Map<string, number>();

  async function push(): Promise<void> {
    for (const m of await opts.registry.getMetricsAsJSON()) {
      const type = String(m.type);
      for (const v of m.values as Sample[]) {
        const name = v.metricName ?? m.name;
        const tags = Object.entries(v.labels).map(([k, x]) => `${k}:${x}`);
        if (type === 'gauge') {
          client.gauge(name, v.value, tags);
          continue;
        }
        if (type === 'histogram' && name.endsWith('_bucket')) continue;
        const key = `${name}|${tags.join(',')}`;
        const delta = v.value - (last.get(key) ?? 0);
        last.set(key, v.value);
        // A series that went down was folded away or reset: count it anew.
        if (delta > 0) client.increment(name, delta, tags);
      }
    }
  }

  const timer = setInterval(() => void push().catch(opts.onError), PUSH_EVERY_MS);
  timer.unref();
  return {
    push,
    async close() {
      clearInterval(timer);
      await push().catch(opts.onError);
      await new Promise<void>((resolve) => client.close(() => resolve()));
    },
  };
}
