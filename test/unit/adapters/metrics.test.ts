import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bySite,
  createMetrics,
  type MetricsDeps,
  tlsLabel,
  warmupLinesOf,
} from '../../../adapters/metrics.js';
import { blankEvent } from '../../../core/events.js';
import { parsePrometheus, sumBy } from '../../support/prometheus.js';

/** Metrics with nothing behind them: no tenants, queues or warmup unless overridden. */
const quietMetrics = (overrides: Partial<MetricsDeps> = {}) =>
  createMetrics({
    topN: 5,
    now: () => 0,
    tenantNames: async () => new Map(),
    egressStats: () => [],
    journalLagMs: () => 0,
    warmup: async () => [],
    ...overrides,
  });

const queue = (ip: string | null, site: string, queued: number) => ({
  ip,
  site,
  queued,
  active: 0,
  connections: 0,
  idleConnections: 0,
  messagesSent: 0,
  throttled: 0,
});

test('a tenant that loses its place is folded into other: the sum over tenants never drops', async () => {
  let now = 0;
  const m = createMetrics({
    topN: 1,
    now: () => now,
    tenantNames: async (ids) => new Map(ids.map((id) => [id, `name-${id}`])),
    egressStats: () => [],
    journalLagMs: () => 0,
    warmup: async () => [],
  });
  const ev = (tenantId: string) =>
    blankEvent({
      messageId: 'm',
      tenantId,
      event: 'queued',
      sendingDomain: 'd.test',
      messageType: 'transactional',
    });
  m.eventsRecorded([ev('a'), ev('b'), ev('b'), ev('b')]);
  let samples = parsePrometheus(await m.text());
  assert.deepEqual(
    sumBy(samples, 'posthorn_events_total', 'tenant'),
    new Map([
      ['name-a', 1],
      ['other', 3],
    ]),
  );
  now = 5 * 60_000;
  m.eventsRecorded([ev('b')]);
  samples = parsePrometheus(await m.text());
  assert.deepEqual(
    sumBy(samples, 'posthorn_events_total', 'tenant'),
    new Map([
      ['other', 4],
      ['name-b', 1],
    ]),
  );
});

test('delivery_delayed is not counted: the database keeps one per message', async () => {
  const m = quietMetrics();
  m.eventsRecorded([
    blankEvent({
      messageId: 'm',
      tenantId: 't',
      event: 'delivery_delayed',
      sendingDomain: 'd',
      messageType: 'x',
    }),
  ]);
  assert.equal(sumBy(parsePrometheus(await m.text()), 'posthorn_events_total', 'event').size, 0);
});

test('ready queues beyond the busiest sites are summed per IP as site="other"', () => {
  const stats = Array.from({ length: 25 }, (_, i) => queue('192.0.2.1', `site${i}`, i + 1));
  const rows = bySite(stats, (q) => q.queued);
  assert.equal(rows.length, 21);
  const other = rows.find(([, site]) => site === 'other');
  // The five quietest sites (1..5 queued) make up "other".
  assert.deepEqual(other, ['192.0.2.1', 'other', 15]);
  assert.equal(
    rows.reduce((s, [, , v]) => s + v, 0),
    (25 * 26) / 2,
  );
});

test('the TLS label is the version, or plaintext: never the record free text', () => {
  assert.equal(tlsLabel('TLSv1.3 TLS_AES_256_GCM_SHA384 mta-sts=enforce'), 'TLSv1.3');
  assert.equal(tlsLabel('plaintext (STARTTLS failed: wrong version number); reconnected'), 'plaintext');
  assert.equal(tlsLabel(null), 'plaintext');
});

test('warmup usage is shown beside the cap of its period: the provider line, else "*", none once warm', async () => {
  const lines = warmupLinesOf(
    [
      { ip: '192.0.2.1', provider: 'google', period: 'day', count: 40 },
      { ip: '192.0.2.1', provider: 'yahoo', period: 'hour', count: 3 },
      { ip: '192.0.2.2', provider: 'google', period: 'day', count: 900 },
    ],
    [
      { ip: '192.0.2.1', caps: { google: { daily: 150, hourly: 20 }, '*': { daily: 500, hourly: 50 } } },
      { ip: '192.0.2.2', caps: null },
    ],
  );
  assert.deepEqual(
    lines.map((l) => [l.ip, l.provider, l.period, l.used, l.cap]),
    [
      ['192.0.2.1', 'google', 'day', 40, 150],
      ['192.0.2.1', 'yahoo', 'hour', 3, 50],
      ['192.0.2.2', 'google', 'day', 900, null],
    ],
  );
  const m = quietMetrics({ warmup: async () => lines });
  const samples = parsePrometheus(await m.text());
  assert.equal(samples.filter((s) => s.name === 'posthorn_warmup_used').length, 3);
  assert.deepEqual(
    samples
      .filter((s) => s.name === 'posthorn_warmup_cap')
      .map((s) => [s.labels.ip, s.labels.period, s.value]),
    [
      ['192.0.2.1', 'day', 150],
      ['192.0.2.1', 'hour', 50],
    ],
  );
});

test('the process figures are exported: CPU, memory, the event loop delay and GC pauses', async () => {
  const metrics = quietMetrics();
  const names = new Set(parsePrometheus(await metrics.text()).map((s) => s.name));
  for (const name of [
    'process_cpu_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'nodejs_eventloop_lag_p99_seconds',
    'nodejs_eventloop_lag_max_seconds',
  ]) {
    assert.ok(names.has(name), `${name} missing`);
  }
});
