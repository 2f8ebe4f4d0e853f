import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mxZone } from '../support/dns-server.js';
import { freePort } from '../support/ports.js';
import { parsePrometheus, sumBy } from '../support/prometheus.js';
import { EGRESS_IPS, type Stack, startStack } from '../support/stack.js';
import { sendText, settled, tenantClient } from '../support/tenant.js';

const OK_MX = '127.0.1.1';
const BOUNCE_MX = '127.0.1.2';
const TOKEN = 'metrics-test-operator-token-0123';
/** Tenants with their own label value; the test sends for more than this. */
const TOP_N = 3;
const TENANTS = 6;

describe('GET /metrics after deliveries through a node to loopback MXs', () => {
  let stack: Stack;
  let metricsPort: number;
  let temporalMetricsPort: number;

  before(async () => {
    metricsPort = await freePort();
    temporalMetricsPort = await freePort();
    stack = await startStack({
      zones: { ...mxZone('rcpt.test', OK_MX), ...mxZone('bounce.test', BOUNCE_MX) },
      sinks: {
        [OK_MX]: {},
        [BOUNCE_MX]: {
          rcpt: (a) => ({ code: 550, message: `5.1.1 <${a}>: Recipient address rejected: User unknown` }),
        },
      },
      env: {
        POSTHORN_ADMIN_TOKEN: TOKEN,
        POSTHORN_METRICS_TOP_N: String(TOP_N),
        POSTHORN_METRICS_PORT: String(metricsPort),
        POSTHORN_TEMPORAL_METRICS: `127.0.0.1:${temporalMetricsPort}`,
        POSTHORN_API_RATE: 'off',
      },
    });
    // Tenant t0 sends most, so it keeps a name whatever the ranking; every tenant sends.
    const ids: string[] = [];
    for (let i = 0; i < TENANTS; i++) {
      const { resend } = await tenantClient(stack, `t${i}`, `t${i}.test`);
      const from = `hello@t${i}.test`;
      for (let k = 0; k < (i === 0 ? 4 : 1); k++) ids.push(await sendText(resend, `u${k}@rcpt.test`, from));
      ids.push(await sendText(resend, `gone${i}@bounce.test`, from));
    }
    // Once bounced, the address is suppressed: a send to it records `suppressed`.
    const { resend } = await tenantClient(stack, 't1', 't1.test');
    for (const id of ids) await settled(stack, id);
    ids.push(await sendText(resend, 'gone1@bounce.test', 'hello@t1.test'));
    await settled(stack, ids.at(-1)!);
  });

  after(async () => {
    await stack?.stop();
  });

  const scrape = async (url: string, token: string | null) =>
    fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});

  test('asks for the operator token, on the API port and on the operator port', async () => {
    for (const url of [`${stack.node.apiUrl}/metrics`, `http://127.0.0.1:${metricsPort}/metrics`]) {
      assert.equal((await scrape(url, null)).status, 401, url);
      assert.equal((await scrape(url, 'not-the-operator-token-at-all')).status, 403, url);
      const ok = await scrape(url, TOKEN);
      assert.equal(ok.status, 200, url);
      assert.match(ok.headers.get('content-type') ?? '', /^text\/plain/);
    }
  });

  test("the Temporal SDK's own metrics are served on POSTHORN_TEMPORAL_METRICS", async () => {
    const text = await (await fetch(`http://127.0.0.1:${temporalMetricsPort}/metrics`)).text();
    const names = new Set(parsePrometheus(text).map((s) => s.name));
    assert.ok(
      [...names].some((n) => n.startsWith('temporal_workflow_task')),
      [...names].slice(0, 20).join(', '),
    );
  });

  test('the counters add up to delivery_events, by event, tenant, provider, pool and IP', async () => {
    const samples = parsePrometheus(await (await scrape(`${stack.node.apiUrl}/metrics`, TOKEN)).text());
    const rows = await stack.db.query<{ event: string; n: number }>(
      `SELECT event, count(*)::int AS n FROM delivery_events WHERE event <> 'delivery_delayed' GROUP BY event`,
    );
    const expected = new Map(rows.rows.map((r) => [r.event, r.n]));
    for (const e of ['queued', 'delivered', 'bounced', 'suppressed']) assert.ok(expected.get(e), e);
    assert.deepEqual(sumBy(samples, 'posthorn_events_total', 'event'), expected);
    assert.deepEqual(sumBy(samples, 'posthorn_route_events_total', 'event'), expected);

    // Per source IP, as the table has it (the pool `shared` of POSTHORN_EGRESS_IPS).
    const byIp = await stack.db.query<{ ip: string; n: number }>(
      `SELECT ip, count(*)::int AS n FROM delivery_events WHERE event = 'delivered' GROUP BY ip`,
    );
    const delivered = samples.filter(
      (s) => s.name === 'posthorn_route_events_total' && s.labels.event === 'delivered',
    );
    assert.deepEqual(
      new Map(delivered.map((s) => [s.labels.ip, s.value])),
      new Map(byIp.rows.map((r) => [r.ip, r.n])),
    );
    for (const s of delivered) {
      assert.ok(EGRESS_IPS.includes(s.labels.ip!));
      assert.equal(s.labels.pool, 'shared');
      assert.equal(s.labels.provider, 'other');
    }

    // Bounces by category: the 550 5.1.1 is recipient_unknown.
    const bounced = samples.filter(
      (s) => s.name === 'posthorn_event_categories_total' && s.labels.event === 'bounced',
    );
    assert.deepEqual(
      bounced.map((s) => [s.labels.category, s.value]),
      [['recipient_unknown', TENANTS]],
    );
    const replies = sumBy(samples, 'posthorn_smtp_replies_total', 'code');
    assert.equal(replies.get('250'), expected.get('delivered'));
    assert.equal(replies.get('550'), expected.get('bounced'));
  });

  test('tenant and sending-domain labels are bounded: the rest are "other"', async () => {
    const samples = parsePrometheus(await (await scrape(`${stack.node.apiUrl}/metrics`, TOKEN)).text());
    const tenants = sumBy(samples, 'posthorn_events_total', 'tenant');
    const domains = sumBy(samples, 'posthorn_events_total', 'sending_domain');
    assert.equal(tenants.size, TOP_N + 1, [...tenants.keys()].join());
    assert.equal(domains.size, TOP_N + 1, [...domains.keys()].join());
    assert.ok(tenants.has('other') && domains.has('other'));
    // Named tenants carry their names and exactly their rows.
    const rows = await stack.db.query<{ name: string; n: number }>(
      `SELECT t.name, count(*)::int AS n FROM delivery_events e JOIN tenants t ON t.id = e.tenant_id
       WHERE e.event <> 'delivery_delayed' GROUP BY t.name`,
    );
    const byName = new Map(rows.rows.map((r) => [r.name, r.n]));
    let named = 0;
    for (const [tenant, n] of tenants) {
      if (tenant === 'other') continue;
      assert.equal(n, byName.get(tenant), tenant);
      named += n;
    }
    assert.equal(tenants.get('other'), [...byName.values()].reduce((a, b) => a + b) - named);
  });

  test('latency histograms, API routes by pattern, journal batches and egress queues are exported', async () => {
    const samples = parsePrometheus(await (await scrape(`${stack.node.apiUrl}/metrics`, TOKEN)).text());
    const one = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
    const delivered = await stack.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM delivery_events WHERE event = 'delivered'`,
    );
    assert.equal(
      one('posthorn_delivery_latency_seconds_count', { stage: 'delivered' })?.value,
      delivered.rows[0]!.n,
    );
    const firstAttempts = await stack.db.query<{ n: number }>(
      `SELECT count(DISTINCT (message_id, recipient_domain))::int AS n FROM delivery_events WHERE attempt = 1 AND mx_address IS NOT NULL`,
    );
    assert.equal(
      one('posthorn_delivery_latency_seconds_count', { stage: 'first_attempt' })?.value,
      firstAttempts.rows[0]!.n,
    );
    const sends = await stack.db.query<{ n: number }>('SELECT count(*)::int AS n FROM messages');
    assert.equal(
      one('posthorn_http_request_duration_seconds_count', { method: 'POST', route: '/emails', status: '200' })
        ?.value,
      sends.rows[0]!.n,
    );
    // Route patterns, never URLs with ids in them.
    assert.ok(
      !samples.some((s) => s.name.startsWith('posthorn_http') && /[0-9a-f]{8}-/.test(s.labels.route ?? '')),
    );
    assert.ok((one('posthorn_journal_batch_rows_count')?.value ?? 0) > 0);
    assert.ok(one('posthorn_journal_lag_seconds'));
    // The sinks offer STARTTLS: every attempt that reached one is encrypted.
    const tls = sumBy(samples, 'posthorn_attempt_tls_total', 'tls');
    assert.deepEqual(
      [...tls.keys()].filter((k) => k !== 'TLSv1.3' && k !== 'TLSv1.2'),
      [],
    );
    const attempts = await stack.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM delivery_events WHERE mx_address IS NOT NULL AND event <> 'ambiguous'`,
    );
    assert.equal(
      [...tls.values()].reduce((a, b) => a + b, 0),
      attempts.rows[0]!.n,
    );
    // The sinks' idle connections stay open a while: the queues are still listed.
    assert.ok(
      samples.some((s) => s.name === 'posthorn_egress_connections' && EGRESS_IPS.includes(s.labels.ip!)),
    );
  });
});
