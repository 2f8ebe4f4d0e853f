import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { Resend } from 'resend';
import { ipStateQuery, ipWorkflowId, outcomesSignal } from '../../workflows/contract.js';
import { mxZone } from '../support/dns-server.js';
import { type Stack, startStack } from '../support/stack.js';
import { sendText, settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const YAHOO_MX = '127.0.1.10';
const GMAIL_MX = '127.0.1.11';
const PAUSED_MX = '127.0.1.12';
const WARMING_IP = '127.0.0.4';
// Yahoo's deferral for an IP with a poor reputation, as Yahoo sends it (senders.yahooinc.com).
const TS04 = (ip: string) =>
  `4.7.0 [TS04] Messages from ${ip} temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes`;

let yahooRefuses = true;
const ADMIN_TOKEN = 'routing-test-operator-token-0123';

async function admin(stack: Stack, path: string, body: unknown): Promise<Response> {
  return fetch(`${stack.node.apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('IP reputation, warmup and pauses as Temporal actors', () => {
  let stack: Stack;
  let resend: Resend;
  let temporal: Connection;
  let client: Client;

  before(async () => {
    stack = await startStack({
      zones: {
        'yahoo.test': { mx: [{ exchange: 'mta5.am0.yahoodns.net', priority: 1 }] },
        'mta5.am0.yahoodns.net': { a: [YAHOO_MX] },
        'gmail.test': { mx: [{ exchange: 'gmail-smtp-in.l.google.com', priority: 5 }] },
        'gmail-smtp-in.l.google.com': { a: [GMAIL_MX] },
        ...mxZone('paused.test', PAUSED_MX),
      },
      sinks: {
        // Yahoo defers only 127.0.0.2, as it would an IP with a bad reputation.
        [YAHOO_MX]: {
          rcpt: (_a, session) =>
            yahooRefuses && session.remoteAddress.endsWith('127.0.0.2')
              ? { code: 421, message: TS04('127.0.0.2') }
              : null,
        },
        [GMAIL_MX]: {},
        [PAUSED_MX]: {},
      },
      env: {
        POSTHORN_RETRY_INITIAL: '1s',
        POSTHORN_RETRY_MAX: '2s',
        POSTHORN_FEEDBACK_WINDOW: '300ms',
        // 2 h of suspension become 7.2 s.
        POSTHORN_REPUTATION_SCALE: '0.001',
        POSTHORN_ADMIN_TOKEN: ADMIN_TOKEN,
        // A test-clock day: 48 s, so an hour of warmup caps is 2 s.
        POSTHORN_WARMUP_DAY: '48s',
      },
    });
    ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
    temporal = await Connection.connect({ address: stack.temporalAddress });
    client = new Client({ connection: temporal });
  });

  after(async () => {
    await temporal?.close();
    await stack?.stop();
  });

  async function sendMany(
    to: (i: number) => string,
    n: number,
    from = 'hello@acme.test',
    r = resend,
  ): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push(await sendText(r, to(i), from));
    return ids;
  }

  const fromIp = (host: string, ip: string, filter: (rcpt: string) => boolean = () => true) =>
    stack.sinks[host]!.received.filter((m) => m.sourceIp === ip && m.rcptTo.some(filter)).length;

  async function routeOf(ip: string) {
    const r = await stack.db.query(`SELECT state FROM route_state WHERE ip = $1`, [ip]);
    return r.rows[0]?.state;
  }
  test('a Yahoo [TS04] on one IP moves Yahoo traffic to the other IP, only for Yahoo, until the suspension expires', async (t) => {
    const first = await sendMany((i) => `y${i}@yahoo.test`, 12);
    for (const id of first) assert.equal((await settled(stack, id, 60_000))[0]!.state, 'delivered');
    const route = await waitFor('127.0.0.2 suspended for yahoo', async () => {
      const r = await routeOf('127.0.0.2');
      return r?.suspended?.yahoo ? r : undefined;
    });
    assert.match(route.suspended.yahoo.reason, /yahoo/);
    assert.equal(fromIp(YAHOO_MX, '127.0.0.2'), 0, 'the deferring IP delivered nothing to Yahoo');
    const deferredOn2 = await stack.db.query(
      `SELECT count(*)::int AS n FROM delivery_events WHERE event = 'deferred' AND ip = '127.0.0.2' AND reply_text LIKE '%[TS04]%'`,
    );
    assert.ok(deferredOn2.rows[0].n >= 1, 'the TS04 deferrals are in the event log');

    // While suspended: Yahoo goes to 127.0.0.3 only, Gmail still uses 127.0.0.2.
    const yahooBefore = stack.sinks[YAHOO_MX]!.received.length;
    const more = await sendMany((i) => `z${i}@yahoo.test`, 6);
    const gmail = await sendMany((i) => `g${i}@gmail.test`, 16);
    for (const id of [...more, ...gmail])
      assert.equal((await settled(stack, id, 60_000))[0]!.state, 'delivered');
    const attemptsOn2 = await stack.db.query(
      `SELECT count(*)::int AS n FROM delivery_events WHERE ip = '127.0.0.2' AND recipient_domain = 'yahoo.test' AND message_id = ANY($1::uuid[])`,
      [more],
    );
    assert.equal(attemptsOn2.rows[0].n, 0, 'no Yahoo attempt from the suspended IP');
    assert.equal(stack.sinks[YAHOO_MX]!.received.length - yahooBefore, 6);
    assert.ok(fromIp(GMAIL_MX, '127.0.0.2') > 0, 'other providers keep using 127.0.0.2');

    // After the suspension expires (7.2 s scaled), 127.0.0.2 is back for Yahoo.
    yahooRefuses = false;
    await waitFor(
      'suspension expired',
      async () => ((await routeOf('127.0.0.2'))?.suspended?.yahoo ? undefined : true),
      30_000,
    ).catch(async (err) => {
      t.diagnostic(JSON.stringify(await routeOf('127.0.0.2')));
      t.diagnostic(
        JSON.stringify(
          (await client.workflow.getHandle(ipWorkflowId('127.0.0.2')).query(ipStateQuery)).state,
        ),
      );
      throw err;
    });
    const later = await sendMany((i) => `w${i}@yahoo.test`, 12);
    for (const id of later) assert.equal((await settled(stack, id, 60_000))[0]!.state, 'delivered');
    assert.ok(fromIp(YAHOO_MX, '127.0.0.2', (r) => r.startsWith('w')) > 0, '127.0.0.2 returns to Yahoo');
    // The timeline an operator reads: `posthorn events --provider yahoo`.
    const timeline = await stack.node.cli([
      'events',
      '--provider',
      'yahoo',
      '--event',
      'deferred',
      '--limit',
      '5',
    ]);
    const delivered = await stack.node.cli([
      'events',
      '--provider',
      'yahoo',
      '--event',
      'delivered',
      '--limit',
      '1000',
      '--json',
    ]);
    const byIp = new Map<string, number>();
    for (const e of delivered
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { ip: string; recipient: string })) {
      const phase = e.recipient.startsWith('w')
        ? 'after expiry'
        : e.recipient.startsWith('z')
          ? 'while suspended'
          : 'first wave';
      byIp.set(`${phase} ${e.ip}`, (byIp.get(`${phase} ${e.ip}`) ?? 0) + 1);
    }
    t.diagnostic(`deferrals:\n${timeline}`);
    t.diagnostic(`yahoo deliveries by phase and IP: ${JSON.stringify(Object.fromEntries(byIp))}`);
    assert.match(timeline, /127\.0\.0\.2.*\[TS04\]/);
  });

  test('a warming IP takes exactly its caps over a test-clock day; the rest overflows to warm IPs and nothing is lost', async () => {
    // The IP's own plan: day 1 allows 8 a day and 3 an hour per provider. With a 48 s day an
    // hour is 2 s, so the hourly cap binds within an hour and the daily cap over the day.
    const plan = {
      version: 1,
      name: 'test',
      steps: [{ fromDay: 1, caps: { '*': { daily: 8, hourly: 3 } } }],
      warmFromDay: 30,
    };
    const planFile = join(await mkdtemp(join(tmpdir(), 'plan-')), 'plan.json');
    await writeFile(planFile, JSON.stringify(plan));
    await stack.node.cli([
      'ips',
      'add',
      WARMING_IP,
      '--pool',
      'shared',
      '--ehlo',
      'mta4.posthorn.test',
      '--weight',
      '1000',
      '--warmup',
      '--warmup-plan',
      planFile,
    ]);
    await waitFor(
      'the warming IP publishes its caps',
      async () => (await routeOf(WARMING_IP))?.caps ?? undefined,
      30_000,
    );
    // Sent over ~5 test hours, so demand exceeds the hourly caps and then the daily one.
    const ids: string[] = [];
    for (let batch = 0; batch < 5; batch++) {
      ids.push(...(await sendMany((i) => `warm${batch}-${i}@gmail.test`, 8)));
      await new Promise((r) => setTimeout(r, 2_000));
    }
    for (const id of ids)
      assert.equal(
        (await settled(stack, id, 60_000))[0]!.state,
        'delivered',
        'never bounced for lack of capacity',
      );
    const received = stack.sinks[GMAIL_MX]!.received.filter((m) =>
      m.rcptTo.some((r) => r.startsWith('warm')),
    );
    assert.equal(received.length, ids.length, 'every message delivered exactly once');
    const fromWarming = received.filter((m) => m.sourceIp === WARMING_IP).length;
    const periods = await stack.db.query<{ period: string; count: number }>(
      `SELECT period, count FROM ip_usage WHERE ip = $1 AND provider = 'google'`,
      [WARMING_IP],
    );
    const days = periods.rows.filter((r) => r.period === 'day');
    const hours = periods.rows.filter((r) => r.period === 'hour');
    assert.ok(
      days.every((d) => d.count <= 8) && hours.every((h) => h.count <= 3),
      JSON.stringify(periods.rows),
    );
    assert.equal(
      fromWarming,
      days.reduce((n, d) => n + d.count, 0),
      'the receiver saw exactly what the caps allowed',
    );
    assert.ok(
      days.some((d) => d.count === 8),
      'the daily cap was reached: the rest overflowed',
    );
    assert.ok(fromWarming < ids.length, 'overflow went to the warm IPs');
  });

  test('pausing a destination domain holds its mail with no connection; resuming delivers it within seconds', async () => {
    await stack.node.cli(['pause', 'domain', 'paused.test', '--reason', 'remote asked us to stop']);
    await waitFor('pause published', async () =>
      (await stack.db.query(`SELECT 1 FROM pauses WHERE value = 'paused.test'`)).rowCount ? true : undefined,
    );
    const held = await sendMany((i) => `p${i}@paused.test`, 3);
    const other = await sendMany(() => 'flowing@gmail.test', 1);
    assert.equal((await settled(stack, other[0]!, 30_000))[0]!.state, 'delivered');
    await waitFor('held', async () => {
      const r = await stack.db.query(
        `SELECT count(*)::int AS n FROM held_messages WHERE value = 'paused.test'`,
      );
      return r.rows[0].n === 3 ? true : undefined;
    });
    assert.equal(stack.sinks[PAUSED_MX]!.connections.length, 0, 'no connection to a paused domain');
    await stack.node.cli(['resume', 'domain', 'paused.test', '--reason', 'remote is fine again']);
    for (const id of held) assert.equal((await settled(stack, id, 15_000))[0]!.state, 'delivered');
    assert.equal(stack.sinks[PAUSED_MX]!.received.length, 3);
  });

  test('pausing a tenant holds its messages while other tenants flow', async () => {
    const globex = await tenantClient(stack, 'globex', 'globex.test');
    const paused = await admin(stack, '/admin/pauses', {
      target: { kind: 'tenant', value: 'acme' },
      reason: 'complaint spike under review',
    });
    assert.equal(paused.status, 200);
    await waitFor('pause published', async () =>
      (await stack.db.query(`SELECT 1 FROM pauses WHERE value = 'acme'`)).rowCount ? true : undefined,
    );
    const acme = await sendMany(() => 'from-acme@gmail.test', 2);
    const theirs = await sendMany(() => 'from-globex@gmail.test', 2, 'hi@globex.test', globex.resend);
    for (const id of theirs) assert.equal((await settled(stack, id, 30_000))[0]!.state, 'delivered');
    const waiting = await stack.db.query(
      `SELECT count(*)::int AS n FROM recipients WHERE message_id = ANY($1::uuid[]) AND state = 'queued'`,
      [acme],
    );
    assert.equal(waiting.rows[0].n, 2, 'the paused tenant’s messages wait');
    const resumed = await admin(stack, '/admin/resumes', {
      target: { kind: 'tenant', value: 'acme' },
      reason: 'cleared',
    });
    assert.equal(resumed.status, 200);
    for (const id of acme) assert.equal((await settled(stack, id, 15_000))[0]!.state, 'delivered');
  });

  test('with every IP of the pool paused, mail waits; resuming one IP releases it within seconds', async () => {
    const ips = ['127.0.0.2', '127.0.0.3', WARMING_IP];
    for (const ip of ips) await stack.node.cli(['pause', 'ip', ip, '--reason', 'maintenance window']);
    await waitFor('pauses published', async () => {
      const r = await stack.db.query(
        `SELECT count(*)::int AS n FROM route_state WHERE ip = ANY($1) AND state->'paused' IS NOT NULL AND state->>'paused' <> 'null'`,
        [ips],
      );
      return r.rows[0].n === ips.length ? true : undefined;
    });
    const ids = await sendMany((i) => `held${i}@gmail.test`, 2);
    await waitFor('held for the route', async () => {
      const r = await stack.db.query(
        `SELECT count(*)::int AS n FROM held_messages WHERE scope = 'route' AND message_id = ANY($1::uuid[])`,
        [ids],
      );
      return r.rows[0].n === 2 ? true : undefined;
    });
    const before = stack.sinks[GMAIL_MX]!.received.length;
    await stack.node.cli(['resume', 'ip', '127.0.0.3', '--reason', 'maintenance done']);
    for (const id of ids) assert.equal((await settled(stack, id, 15_000))[0]!.state, 'delivered');
    const sent = stack.sinks[GMAIL_MX]!.received.slice(before).filter((m) =>
      m.rcptTo.some((r) => r.startsWith('held')),
    );
    assert.deepEqual([...new Set(sent.map((m) => m.sourceIp))], ['127.0.0.3'], 'only the resumed IP sent');
    for (const ip of ['127.0.0.2', WARMING_IP])
      await stack.node.cli(['resume', 'ip', ip, '--reason', 'maintenance done']);
  });

  test('an IP workflow keeps its state across continue-as-new', async () => {
    const ip = '192.0.2.55';
    const handle = await client.workflow.start('ipWorkflow', {
      workflowId: ipWorkflowId(ip),
      taskQueue: 'posthorn-messages',
      args: [{ ip, warm: true, dayMs: 86_400_000, signalsPerRun: 2 }],
    });
    const summary = (reply: string | null) => ({
      ip,
      windowStartMs: Date.now() - 1000,
      windowEndMs: Date.now(),
      byProvider: {
        yahoo: {
          delivered: 1,
          deferred: reply ? 1 : 0,
          bounced: 0,
          complaints: 0,
          notable: reply ? [{ code: 421, enhanced: '4.7.0', text: reply }] : [],
        },
      },
    });
    await handle.signal(outcomesSignal, summary(TS04(ip)));
    await handle.signal(outcomesSignal, summary(null));
    await handle.signal(outcomesSignal, summary(null));
    const firstRun = handle.firstExecutionRunId;
    await waitFor('continued as new', async () =>
      (await handle.describe()).runId !== firstRun ? true : undefined,
    );
    const q = await client.workflow.getHandle(ipWorkflowId(ip)).query(ipStateQuery);
    assert.ok(q.route.suspended.yahoo, 'the suspension survived continue-as-new');
    const state = q.state as { ip: string; version: number };
    assert.equal(state.ip, ip);
    assert.equal(state.version, 1);
    assert.deepEqual(JSON.parse(JSON.stringify(q.state)), q.state, 'state is plain JSON');
    await handle.terminate('test done');
  });

  test("a new IP workflow reads the classification's action for replies no reputation row names", async () => {
    const ip = '192.0.2.56';
    const handle = await client.workflow.start('ipWorkflow', {
      workflowId: ipWorkflowId(ip),
      taskQueue: 'posthorn-messages',
      args: [{ ip, warm: true, dayMs: 86_400_000 }],
    });
    // A refusal of the client in words no provider row names: action suspend_ip, which a
    // workflow started on this code (patched 'reputation-by-action') turns into a smaller share.
    await handle.signal(outcomesSignal, {
      ip,
      windowStartMs: Date.now() - 1000,
      windowEndMs: Date.now(),
      byProvider: {
        google: {
          delivered: 1,
          deferred: 0,
          bounced: 1,
          complaints: 0,
          notable: [{ code: 554, enhanced: '5.7.1', text: 'Connection from your network is not accepted' }],
        },
      },
    });
    const effects = await waitFor('effect from the action', async () => {
      const q = await client.workflow.getHandle(ipWorkflowId(ip)).query(ipStateQuery);
      const all = (q.state as { effects: Record<string, { ruleId: string; kind: string; source: string }> })
        .effects;
      const found = Object.values(all).filter((e) => e.source === 'reply');
      return found.length > 0 ? found : undefined;
    });
    assert.deepEqual(
      effects.map((e) => [e.ruleId, e.kind]),
      [['generic.client-blocked', 'lower_weight']],
    );
    await handle.terminate('test done');
  });
});
