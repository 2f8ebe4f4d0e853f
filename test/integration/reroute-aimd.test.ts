import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Resend } from 'resend';
import { mxZone } from '../support/dns-server.js';
import { type Stack, startStack } from '../support/stack.js';
import { sendText, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const ADMIN_TOKEN = 'reroute-test-operator-token-01234';
// Yahoo's deferral for an IP with a poor reputation, as Yahoo sends it (senders.yahooinc.com).
const TS04 = (ip: string) =>
  `4.7.0 [TS04] Messages from ${ip} temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes`;

interface EgressRow {
  ip: string | null;
  site: string;
  provider: string | null;
  maxConnections: number;
  concurrency: number;
  congestionDecreases: number;
}
interface EgressView {
  data: EgressRow[];
  local_suspensions: { ip: string; provider: string; rule_id: string; reported_at: string | null }[];
}

async function egressView(stack: Stack): Promise<EgressView> {
  const res = await fetch(`${stack.node.apiUrl}/admin/egress`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  assert.equal(res.status, 200);
  return (await res.json()) as EgressView;
}

/** A retry comes long after the tests' deadlines: only the reroute can deliver in time. */
const REROUTE_ONLY = { POSTHORN_RETRY_INITIAL: '10m', POSTHORN_ADMIN_TOKEN: ADMIN_TOKEN };

async function countOf(stack: Stack, sql: string, params: unknown[]): Promise<number> {
  return (await stack.db.query(sql, params)).rows[0].n;
}

/** Waits until every recipient of the messages `ids` is delivered. */
async function allDelivered(stack: Stack, ids: string[], what: string, timeoutMs: number): Promise<void> {
  await waitFor(
    what,
    async () =>
      (await countOf(
        stack,
        `SELECT count(*)::int AS n FROM recipients WHERE message_id = ANY($1::uuid[]) AND state = 'delivered'`,
        [ids],
      )) === ids.length
        ? true
        : undefined,
    timeoutMs,
  );
}

/**
 * The reroute path (docs/architecture.md): a refusal that is about the sending IP suspends
 * that IP for the provider on the node at once, and the refused message takes another IP of
 * its pool in the same attempt, without waiting for the IP workflow or the retry schedule.
 */
describe('an IP-scoped refusal moves the traffic to the other IP at once', () => {
  const YAHOO_MX = '127.0.2.10';
  let stack: Stack;
  let resend: Resend;

  before(async () => {
    stack = await startStack({
      zones: {
        'yahoo.test': { mx: [{ exchange: 'mta5.am0.yahoodns.net', priority: 1 }] },
        'mta5.am0.yahoodns.net': { a: [YAHOO_MX] },
      },
      sinks: {
        // Yahoo defers only 127.0.0.2, as it would an IP with a bad reputation.
        [YAHOO_MX]: {
          rcpt: (_a, session) =>
            session.remoteAddress.endsWith('127.0.0.2') ? { code: 421, message: TS04('127.0.0.2') } : null,
        },
      },
      env: REROUTE_ONLY,
    });
    ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
  });

  after(async () => {
    await stack?.stop();
  });

  test('40 messages at once over two IPs, one refused with [TS04]: at most 10 refusals, 40 of 40 delivered from the other', async (t) => {
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => sendText(resend, `r${i}@yahoo.test`)));
    await allDelivered(stack, ids, '40 of 40 delivered', 30_000);
    const received = stack.sinks[YAHOO_MX]!.received;
    assert.equal(received.length, 40, 'each message arrived once');
    assert.ok(
      received.every((m) => m.sourceIp === '127.0.0.3'),
      'all from the IP Yahoo does not refuse',
    );
    const refusals = await countOf(
      stack,
      `SELECT count(*)::int AS n FROM delivery_events
        WHERE event = 'deferred' AND ip = '127.0.0.2' AND reply_text LIKE '%[TS04]%' AND message_id = ANY($1::uuid[])`,
      [ids],
    );
    t.diagnostic(`refusals on 127.0.0.2 before the node suspended it: ${refusals}`);
    assert.ok(refusals >= 1, 'the refusals are in the delivery log');
    // The dispatcher's connection limit (10) bounds the sessions already under way when
    // the first refusal comes; everything queued behind them is routed again unsent.
    assert.ok(refusals <= 10, `${refusals} refusals`);
    const rerouted = await stack.db.query(
      `SELECT detail FROM delivery_events WHERE event = 'deferred' AND ip = '127.0.0.2' LIMIT 1`,
    );
    assert.match(rerouted.rows[0].detail, /routed to another IP/);
    const delayed = await countOf(
      stack,
      `SELECT count(*)::int AS n FROM delivery_events WHERE event = 'delivery_delayed' AND message_id = ANY($1::uuid[])`,
      [ids],
    );
    assert.equal(delayed, 0, 'a message that took another IP at once was not delayed');

    // The IP workflow, told through the outcome feed, confirms the suspension; every node
    // routes by its published state from then on.
    const route = await waitFor(
      'the IP workflow suspends 127.0.0.2 for Yahoo',
      async () => {
        const r = await stack.db.query(`SELECT state FROM route_state WHERE ip = '127.0.0.2'`);
        return r.rows[0]?.state?.suspended?.yahoo;
      },
      30_000,
    );
    assert.match(route.reason, /yahoo\.ts04/);
    // Once the workflow's state has been read back, the node's own entry gives way to it.
    await waitFor(
      "the node's entry replaced by the workflow's state",
      async () => ((await egressView(stack)).local_suspensions.length === 0 ? true : undefined),
      30_000,
    );
    const more = await Promise.all(Array.from({ length: 5 }, (_, i) => sendText(resend, `s${i}@yahoo.test`)));
    await allDelivered(stack, more, 'five more delivered', 30_000);
    const attemptsOn2 = await countOf(
      stack,
      `SELECT count(*)::int AS n FROM delivery_events WHERE ip = '127.0.0.2' AND message_id = ANY($1::uuid[])`,
      [more],
    );
    assert.equal(attemptsOn2, 0, 'no attempt from the suspended IP');
  });
});

/**
 * A receiver that consults a DNSBL refuses a listed IP at the greeting, before any command
 * (RFC 5321 §3.1). That refusal is the attempt's reply: the message takes the pool's other IP
 * in the same attempt, and the IP's workflow hears of the listing like any other refusal.
 */
describe('a refusal at the greeting for a block-listed IP reroutes and reaches the IP workflow', () => {
  const LISTING_MX = '127.0.2.12';
  const SPAMHAUS = (ip: string) =>
    `5.7.1 Service unavailable; Client host [${ip}] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/${ip}`;
  let stack: Stack;
  let resend: Resend;

  before(async () => {
    stack = await startStack({
      zones: { ...mxZone('listing.test', LISTING_MX) },
      sinks: {
        [LISTING_MX]: {
          connect: (session) =>
            session.remoteAddress.endsWith('127.0.0.2')
              ? { code: 554, message: SPAMHAUS('127.0.0.2') }
              : null,
        },
      },
      env: REROUTE_ONLY,
    });
    ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
  });

  after(async () => {
    await stack?.stop();
  });

  test("20 messages over two IPs: every one delivered from the other IP, the refusal in the log, the IP's share lowered", async () => {
    const ids = await Promise.all(
      Array.from({ length: 20 }, (_, i) => sendText(resend, `l${i}@listing.test`)),
    );
    await allDelivered(stack, ids, '20 of 20 delivered', 30_000);
    const received = stack.sinks[LISTING_MX]!.received;
    assert.equal(received.length, 20, 'each message arrived once');
    assert.ok(
      received.every((m) => m.sourceIp === '127.0.0.3'),
      'all from the IP that is not listed',
    );
    // The refusal is recorded with its reply and the host that gave it, not as a network error.
    const refused = await stack.db.query(
      `SELECT reply_code, reply_text, category, phase, mx_address FROM delivery_events
        WHERE event = 'deferred' AND ip = '127.0.0.2' AND message_id = ANY($1::uuid[])`,
      [ids],
    );
    assert.ok(refused.rows.length >= 1, 'the refusal is in the delivery log');
    for (const row of refused.rows) {
      assert.equal(row.reply_code, 554);
      assert.match(row.reply_text, /zen\.spamhaus\.org/);
      assert.equal(row.phase, 'greeting');
      assert.notEqual(row.category, 'network_error');
      assert.equal(row.mx_address, LISTING_MX);
    }
    // The IP workflow, told through the outcome feed, takes the listing into the state every
    // node routes by: among the many receivers rolled up as "other", one refusal lowers the
    // IP's share rather than suspending it (core/routing/reputation.ts, effectFor).
    const factor = await waitFor(
      'the IP workflow lowers the share of 127.0.0.2',
      async () => {
        const r = await stack.db.query(`SELECT state FROM route_state WHERE ip = '127.0.0.2'`);
        return r.rows[0]?.state?.weightFactors?.other as number | undefined;
      },
      30_000,
    );
    assert.ok(factor < 1, `weight factor ${factor}`);
    const other = await stack.db.query(`SELECT state FROM route_state WHERE ip = '127.0.0.3'`);
    assert.deepEqual(other.rows[0]?.state?.weightFactors ?? {}, {}, 'the IP not listed keeps its share');
  });
});

/**
 * Adaptive concurrency (core/delivery/aimd.ts): a receiver that refuses sessions beyond a
 * few per IP with 421 "too many connections" gets fewer from us, and the limit grows back
 * when it stops refusing.
 */
describe('"too many connections" lowers the concurrency per IP × site, and it recovers', () => {
  const BUSY_MX = '127.0.2.11';
  const SITE = 'mx.busy.test';
  const MAX_CONNECTIONS = 6;
  let stack: Stack;
  let resend: Resend;
  let refusing = true;

  before(async () => {
    stack = await startStack({
      zones: { ...mxZone('busy.test', BUSY_MX) },
      sinks: {
        [BUSY_MX]: {
          // More than two sessions at once from one IP are turned away at the greeting.
          connect: (_session, openFromIp) =>
            refusing && openFromIp > 2
              ? {
                  code: 421,
                  message: '4.7.0 Too many concurrent SMTP connections from your IP; try again later',
                }
              : null,
          // Slow enough that sessions overlap.
          dataDelayMs: 50,
        },
      },
      env: {
        POSTHORN_RETRY_INITIAL: '1s',
        POSTHORN_RETRY_MAX: '2s',
        POSTHORN_ADMIN_TOKEN: ADMIN_TOKEN,
        POSTHORN_EGRESS_LIMITS: JSON.stringify({ default: { maxConnections: MAX_CONNECTIONS } }),
      },
    });
    ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
  });

  after(async () => {
    await stack?.stop();
  });

  test('the dispatcher halves on refusals, every message is delivered, and the limit grows back', async (t) => {
    // Watch the egress view while the burst goes on.
    let lowered: EgressRow | null = null;
    let watching = true;
    const watcher = (async () => {
      while (watching && !lowered) {
        const view = await egressView(stack).catch(() => null);
        lowered =
          view?.data.find(
            (r) => r.site === SITE && r.congestionDecreases > 0 && r.concurrency < r.maxConnections,
          ) ?? null;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const ids = await Promise.all(Array.from({ length: 60 }, (_, i) => sendText(resend, `b${i}@busy.test`)));
    await allDelivered(stack, ids, '60 of 60 delivered', 120_000);
    try {
      await waitFor('a lowered limit seen in /admin/egress', async () => lowered ?? undefined, 30_000);
    } finally {
      watching = false;
      await watcher;
    }
    t.diagnostic(`lowered: ${JSON.stringify(lowered)}`);
    assert.equal(lowered!.maxConnections, MAX_CONNECTIONS);
    assert.equal(
      new Set(stack.sinks[BUSY_MX]!.received.flatMap((m) => m.rcptTo)).size,
      60,
      'every message arrived',
    );
    const cli = await stack.node.cli(['egress']);
    t.diagnostic(`posthorn egress:\n${cli}`);
    assert.match(cli, new RegExp(`${SITE.replace(/\./g, '\\.')}\\s`));
    assert.match(cli, new RegExp(`\\d+/${MAX_CONNECTIONS}`));

    // The receiver has room again: every window of successes gives a connection back.
    refusing = false;
    const more = await Promise.all(Array.from({ length: 80 }, (_, i) => sendText(resend, `c${i}@busy.test`)));
    await allDelivered(stack, more, '80 more delivered', 120_000);
    const rows = await waitFor(
      'the concurrency back at the configured limit',
      async () => {
        const mine = (await egressView(stack)).data.filter((r) => r.site === SITE);
        return mine.length > 0 && mine.every((r) => r.concurrency === MAX_CONNECTIONS) ? mine : undefined;
      },
      30_000,
    );
    t.diagnostic(`recovered: ${JSON.stringify(rows)}`);
  });
});
