import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { DeliveryEvent } from '../core/events.js';
import { createTopN, OTHER } from './top-n.js';

/**
 * The node's Prometheus metrics (docs/operations.md, "Metrics"). Delivery counts are taken
 * where events are committed to `delivery_events` (the journal's batches and the accept
 * insert), after the commit, so for each node the counters add up to its rows in that table.
 * The hot path is one Map lookup per family per event: series are kept here, keyed by their
 * label values, and handed to prom-client only when scraped. Tenant and sending-domain labels
 * are bounded by top-N (adapters/top-n.ts): a tenant outside the N busiest is `other`.
 */
export interface Metrics {
  readonly registry: Registry;
  /** Rows just committed to delivery_events. */
  eventsRecorded(events: readonly DeliveryEvent[]): void;
  /** One journal statement committed: how many rows it wrote and how long the first waited (ms). */
  journalBatch(batch: { events: number; updates: number; suppressions: number; waitedMs: number }): void;
  /** An attempt recorded for a message accepted at `acceptedAtMs`, started at `startedAtMs`. */
  attemptRecorded(a: {
    acceptedAtMs: number;
    startedAtMs: number;
    firstAttempt: boolean;
    delivered: number;
    finishedAtMs: number;
  }): void;
  /** One API request answered. `route` is the route pattern (`/emails/:id`), never the URL. */
  requestServed(method: string, route: string, status: number, seconds: number): void;
  /** The Prometheus text exposition. */
  text(): Promise<string>;
}

export interface MetricsDeps {
  /** Tenant and sending-domain label values each (docs/operations.md, "Label cardinality"). */
  readonly topN: number;
  readonly now: () => number;
  /** Tenant names for tenant ids (labels carry names; events carry ids). */
  readonly tenantNames: (ids: readonly string[]) => Promise<ReadonlyMap<string, string>>;
  /** The dispatcher's ready queues (egress/dispatcher.ts, the same figures as /admin/egress). */
  readonly egressStats: () => QueueStats[];
  /** How long the journal's oldest write in flight has waited, ms. */
  readonly journalLagMs: () => number;
  /** Warmup usage in the current day and hour, with the caps of the IPs still warming. */
  readonly warmup: () => Promise<readonly WarmupLine[]>;
}

/** What the dispatcher reports per ready queue (egress/dispatcher.ts QueueStats, the figures of /admin/egress). */
export interface QueueStats {
  readonly ip: string | null;
  readonly site: string;
  readonly queued: number;
  readonly active: number;
  readonly connections: number;
  readonly idleConnections: number;
  readonly messagesSent: number;
  readonly throttled: number;
}

export interface WarmupLine {
  readonly ip: string;
  readonly provider: string;
  readonly period: 'day' | 'hour';
  readonly used: number;
  readonly cap: number | null;
}

/**
 * Warmup usage of the current day and hour (ip_usage) beside the cap of that period, from
 * the IP's published route state: its provider's line, else "*"; null once the IP is warm.
 */
export function warmupLinesOf(
  usage: readonly { ip: string; provider: string; period: 'day' | 'hour'; count: number }[],
  states: readonly { ip: string; caps: Readonly<Record<string, { daily: number; hourly: number }>> | null }[],
): WarmupLine[] {
  const caps = new Map(states.map((s) => [s.ip, s.caps]));
  return usage.map((u) => {
    const c = caps.get(u.ip);
    const cap = c ? (c[u.provider] ?? c['*'] ?? null) : null;
    return {
      ip: u.ip,
      provider: u.provider,
      period: u.period,
      used: u.count,
      cap: cap === null ? null : u.period === 'day' ? cap.daily : cap.hourly,
    };
  });
}

/** How often the top-N tenants and sending domains are ranked again, ms. */
const RERANK_EVERY_MS = 5 * 60_000;
/** Ready queues exported by site, busiest first; the rest are summed as site="other". */
const SITES_EXPORTED = 20;

// Seconds. A first attempt normally starts within a wave window (100 ms) of the accept;
// deliveries that wait for retries reach minutes to days (the retry schedule's max age is 3 d).
const LATENCY_BUCKETS = [
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  300,
  900,
  3600,
  4 * 3600,
  86_400,
  259_200,
];
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
const WAIT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30];

/** The separator of label values in a series key; never part of a label value we emit. */
const SEP = '\u0001';

interface Series {
  readonly values: string[];
  n: number;
}

/**
 * A counter whose series live in a Map until scraped. `fold` merges the series of a label
 * value that lost its top-N place into `other`, so the sum over that label never drops.
 */
class CountingFamily {
  private readonly series = new Map<string, Series>();
  constructor(
    registry: Registry,
    name: string,
    help: string,
    readonly labelNames: readonly string[],
    /** The exported value of a stored label value (tenant ids become names). */
    translate: (label: string, value: string) => string = (_l, v) => v,
  ) {
    const series = this.series;
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect(this: Counter<string>) {
        this.reset();
        for (const s of series.values()) {
          const labels: Record<string, string> = {};
          labelNames.forEach((l, i) => {
            labels[l] = translate(l, s.values[i]!);
          });
          this.inc(labels, s.n);
        }
      },
    });
  }

  inc(values: string[]): void {
    const key = values.join(SEP);
    const s = this.series.get(key);
    if (s) s.n += 1;
    else this.series.set(key, { values, n: 1 });
  }

  fold(label: string, value: string): void {
    const i = this.labelNames.indexOf(label);
    if (i < 0) return;
    for (const [key, s] of [...this.series]) {
      if (s.values[i] !== value) continue;
      this.series.delete(key);
      const values = s.values.map((v, j) => (j === i ? OTHER : v));
      const into = values.join(SEP);
      const t = this.series.get(into);
      if (t) t.n += s.n;
      else this.series.set(into, { values, n: s.n });
    }
  }

  ids(label: string): string[] {
    const i = this.labelNames.indexOf(label);
    return [...new Set([...this.series.values()].map((s) => s.values[i]!))];
  }
}

export function createMetrics(deps: MetricsDeps): Metrics {
  const registry = new Registry();
  // The process's own figures (prom-client's defaults): CPU seconds, RSS, heap sizes, the
  // event loop's delay (p50/p90/p99 and max) and garbage-collection pauses by kind. When the
  // node runs short of CPU, the API's latency follows the event loop's delay and the GC
  // pauses (docs/operations.md, "Sizing"). prom-client samples the loop's delay every 10 ms
  // (monitorEventLoopDelay) and reads the rest at scrape time.
  collectDefaultMetrics({ register: registry });
  const names = new Map<string, string>();
  const tenantLabel = (label: string, value: string) =>
    label === 'tenant' && value !== OTHER ? (names.get(value) ?? value) : value;

  const byTenant = new CountingFamily(
    registry,
    'posthorn_events_total',
    'Delivery log events committed by this node, by event (queued = accepted), tenant and sending domain',
    ['event', 'tenant', 'sending_domain'],
    tenantLabel,
  );
  const byRoute = new CountingFamily(
    registry,
    'posthorn_route_events_total',
    'Delivery log events committed by this node, by event, mailbox provider, pool and source IP',
    ['event', 'provider', 'pool', 'ip'],
  );
  const byCategory = new CountingFamily(
    registry,
    'posthorn_event_categories_total',
    'Deferred, bounced, failed, suppressed and complained events by bounce category and provider',
    ['event', 'category', 'provider'],
  );
  const replies = new CountingFamily(
    registry,
    'posthorn_smtp_replies_total',
    'Final SMTP replies of recorded attempts, by reply code and provider',
    ['code', 'provider'],
  );
  const tls = new CountingFamily(
    registry,
    'posthorn_attempt_tls_total',
    'Recorded attempts that reached an MX, by source IP and TLS version (TLSv1.3, …, or plaintext)',
    ['ip', 'tls'],
  );
  const tenants = createTopN({ size: deps.topN, rerankEveryMs: RERANK_EVERY_MS, now: deps.now }, (id) =>
    byTenant.fold('tenant', id),
  );
  const domains = createTopN({ size: deps.topN, rerankEveryMs: RERANK_EVERY_MS, now: deps.now }, (d) =>
    byTenant.fold('sending_domain', d),
  );

  const latency = new Histogram({
    name: 'posthorn_delivery_latency_seconds',
    help: 'From accept to the first attempt (stage="first_attempt") and to delivered (stage="delivered"), per recipient domain group',
    labelNames: ['stage'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const firstAttempt = latency.labels('first_attempt');
  const delivered = latency.labels('delivered');

  const http = new Histogram({
    name: 'posthorn_http_request_duration_seconds',
    help: 'API requests by method, route pattern and status',
    labelNames: ['method', 'route', 'status'],
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const httpChildren = new Map<string, ReturnType<typeof http.labels>>();

  const batchRows = new Histogram({
    name: 'posthorn_journal_batch_rows',
    help: 'Rows (events, recipient updates, suppressions) per journal statement',
    buckets: BATCH_BUCKETS,
    registers: [registry],
  });
  const batchWait = new Histogram({
    name: 'posthorn_journal_batch_wait_seconds',
    help: 'From the first append of a journal batch to its commit',
    buckets: WAIT_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'posthorn_journal_lag_seconds',
    help: 'How long the oldest journal write in flight or waiting has waited (0 when none)',
    registers: [registry],
    collect(this: Gauge<string>) {
      this.set(deps.journalLagMs() / 1000);
    },
  });

  registerEgressGauges(registry, deps.egressStats);
  registerWarmupGauges(registry, deps.warmup);

  return {
    registry,
    eventsRecorded(events) {
      for (const e of events) {
        // delivery_delayed is a once-per-message notice that the database deduplicates
        // (a unique index); counting it here could say more than the table holds.
        if (e.event === 'delivery_delayed') continue;
        const provider = e.provider ?? '';
        byTenant.inc([e.event, tenants.label(e.tenantId), domains.label(e.sendingDomain)]);
        byRoute.inc([e.event, provider, e.pool ?? '', e.ip ?? '']);
        if (e.category !== null && e.event !== 'delivered') byCategory.inc([e.event, e.category, provider]);
        if (e.replyCode !== null) replies.inc([String(e.replyCode), provider]);
        if (e.mxAddress !== null && e.event !== 'ambiguous') tls.inc([e.ip ?? '', tlsLabel(e.tls)]);
      }
    },
    journalBatch(b) {
      batchRows.observe(b.events + b.updates + b.suppressions);
      batchWait.observe(b.waitedMs / 1000);
    },
    attemptRecorded(a) {
      if (a.firstAttempt) firstAttempt.observe(Math.max(0, a.startedAtMs - a.acceptedAtMs) / 1000);
      const s = Math.max(0, a.finishedAtMs - a.acceptedAtMs) / 1000;
      for (let i = 0; i < a.delivered; i++) delivered.observe(s);
    },
    requestServed(method, route, status, seconds) {
      const key = method + SEP + route + SEP + status;
      let child = httpChildren.get(key);
      if (!child) {
        child = http.labels(method, route, String(status));
        httpChildren.set(key, child);
      }
      child.observe(seconds);
    },
    async text() {
      const unknown = byTenant.ids('tenant').filter((id) => id !== OTHER && !names.has(id));
      if (unknown.length > 0) {
        try {
          for (const [id, name] of await deps.tenantNames(unknown)) names.set(id, name);
        } catch {
          // The database is away: the ids stand in for the names until the next scrape.
        }
      }
      return registry.metrics();
    },
  };
}

/**
 * The TLS version of an attempt's `tls` record ("TLSv1.3 TLS_AES_256_GCM_SHA384 mta-sts=…"),
 * or "plaintext": the record's free text (a handshake error) never becomes a label value.
 */
export function tlsLabel(record: string | null): string {
  return record?.match(/^TLSv[0-9.]+/)?.[0] ?? 'plaintext';
}

function registerEgressGauges(registry: Registry, stats: () => QueueStats[]): void {
  const gauge = (name: string, help: string, of: (q: QueueStats) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['ip', 'site'],
      registers: [registry],
      collect(this: Gauge<string>) {
        this.reset();
        for (const [ip, site, value] of bySite(stats(), of)) this.set({ ip, site }, value);
      },
    });
  gauge(
    'posthorn_egress_queued',
    'Deliveries waiting in the ready queue of (source IP × site)',
    (q) => q.queued,
  );
  gauge('posthorn_egress_active', 'Deliveries in progress (leases) per (source IP × site)', (q) => q.active);
  gauge('posthorn_egress_connections', 'SMTP connections open per (source IP × site)', (q) => q.connections);
  gauge(
    'posthorn_egress_idle_connections',
    'Idle SMTP connections kept for reuse per (source IP × site)',
    (q) => q.idleConnections,
  );
  // Counts since the queue was created: a queue dropped after going idle and made again
  // starts from zero, which Prometheus's rate() reads as a counter reset.
  const counter = (name: string, help: string, of: (q: QueueStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['ip', 'site'],
      registers: [registry],
      collect(this: Counter<string>) {
        this.reset();
        for (const [ip, site, value] of bySite(stats(), of)) this.inc({ ip, site }, value);
      },
    });
  counter(
    'posthorn_egress_messages_sent_total',
    'Transactions started per (source IP × site): rate() gives the sending rate',
    (q) => q.messagesSent,
  );
  counter(
    'posthorn_egress_throttled_total',
    'Deliveries the ready queue answered "throttled" per (source IP × site)',
    (q) => q.throttled,
  );
}

/**
 * Queue figures per (IP, site) for the SITES_EXPORTED busiest sites (by queued + active +
 * connections, at scrape time); every other site's figures summed per IP as site="other".
 */
export function bySite(
  stats: readonly QueueStats[],
  of: (q: QueueStats) => number,
): [string, string, number][] {
  const load = new Map<string, number>();
  for (const q of stats) load.set(q.site, (load.get(q.site) ?? 0) + q.queued + q.active + q.connections);
  const shown = new Set(
    [...load]
      .sort((a, b) => b[1] - a[1])
      .slice(0, SITES_EXPORTED)
      .map(([s]) => s),
  );
  const out = new Map<string, [string, string, number]>();
  for (const q of stats) {
    const ip = q.ip ?? 'default';
    const site = shown.has(q.site) ? q.site : OTHER;
    const key = ip + SEP + site;
    const row = out.get(key);
    if (row) row[2] += of(q);
    else out.set(key, [ip, site, of(q)]);
  }
  return [...out.values()];
}

function registerWarmupGauges(registry: Registry, warmup: () => Promise<readonly WarmupLine[]>): void {
  // Both gauges of one scrape share one read (prom-client may collect them concurrently).
  let read: { at: number; lines: Promise<readonly WarmupLine[]> } | null = null;
  const lines = () => {
    if (!read || Date.now() - read.at > 1_000) read = { at: Date.now(), lines: warmup().catch(() => []) };
    return read.lines;
  };
  const labelNames = ['ip', 'provider', 'period'];
  new Gauge({
    name: 'posthorn_warmup_used',
    help: 'Messages taken from warmup caps in the current day or hour, per (IP, provider)',
    labelNames,
    registers: [registry],
    async collect(this: Gauge<string>) {
      const ls = await lines();
      this.reset();
      for (const l of ls) this.set({ ip: l.ip, provider: l.provider, period: l.period }, l.used);
    },
  });
  new Gauge({
    name: 'posthorn_warmup_cap',
    help: 'Warmup cap of the current day or hour per (IP, provider); absent once the IP is warm',
    labelNames,
    registers: [registry],
    async collect(this: Gauge<string>) {
      const ls = await lines();
      this.reset();
      for (const l of ls)
        if (l.cap !== null) this.set({ ip: l.ip, provider: l.provider, period: l.period }, l.cap);
    },
  });
}
