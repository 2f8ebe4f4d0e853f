import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { Resend } from 'resend';
import type { MessageWorkflowResult } from '../../workflows/contract.js';
import { MESSAGE_IDS } from '../../workflows/contract.js';
import { mxZone } from '../support/dns-server.js';
import { deferOnce } from '../support/smtp-sink.js';
import { type Stack, startStack } from '../support/stack.js';
import { sendText, settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const MX = '127.0.1.1';
const PAUSED_MX = '127.0.1.2';

/** Every wave workflow and the message ids it carried, from the Temporal visibility store. */
async function waves(client: Client): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for await (const wf of client.workflow.list({ query: 'WorkflowType = "waveWorkflow"' })) {
    out.set(wf.workflowId, [...(wf.typedSearchAttributes.get(MESSAGE_IDS) ?? [])]);
  }
  return out;
}

async function workflowExists(client: Client, id: string): Promise<boolean> {
  return client.workflow
    .getHandle(id)
    .describe()
    .then(
      () => true,
      () => false,
    );
}

describe('delivery waves', () => {
  let stack: Stack;
  let resend: Resend;
  let connection: Connection;
  let client: Client;
  const deferring = deferOnce();

  before(async () => {
    stack = await startStack({
      zones: { ...mxZone('rcpt.test', MX), ...mxZone('paused.test', PAUSED_MX) },
      sinks: {
        [MX]: deferring.script,
        [PAUSED_MX]: {},
      },
      env: { POSTHORN_RETRY_INITIAL: '2s', POSTHORN_API_RATE: 'off' },
    });
    ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
    connection = await Connection.connect({ address: stack.temporalAddress });
    client = new Client({ connection });
  });

  after(async () => {
    await connection?.close();
    await stack?.stop();
  });

  const copies = (host: string, address: string) =>
    stack.sinks[host]!.received.filter((m) => m.rcptTo.includes(address)).length;

  test('an idle node sends a message in a wave of one, findable by its message id', async () => {
    const id = await sendText(resend, 'alone@rcpt.test');
    assert.equal((await settled(stack, id))[0]!.state, 'delivered');
    const found = await waitFor('the wave in visibility', async () => {
      const ids: string[][] = [];
      for await (const wf of client.workflow.list({ query: `PosthornMessageIds = "${id}"` })) {
        ids.push([...(wf.typedSearchAttributes.get(MESSAGE_IDS) ?? [])]);
      }
      return ids.length > 0 ? ids : undefined;
    });
    assert.deepEqual(found, [[id]]);
    assert.equal(await workflowExists(client, id), false, 'a settled message needs no workflow of its own');
    assert.equal(copies(MX, 'alone@rcpt.test'), 1);
  });

  test('under load many messages share a wave, and every message is delivered once, in exactly one wave', async () => {
    const before = await waves(client);
    const ids: string[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        for (let i = next++; i < 200; i = next++) ids.push(await sendText(resend, `load${i}@rcpt.test`));
      }),
    );
    for (const id of ids) assert.equal((await settled(stack, id, 120_000))[0]!.state, 'delivered');
    for (let i = 0; i < 200; i++) assert.equal(copies(MX, `load${i}@rcpt.test`), 1, `load${i}`);
    const carried = await waitFor('every message in a wave', async () => {
      const now = await waves(client);
      const newWaves = [...now].filter(([w]) => !before.has(w)).map(([, m]) => m);
      return newWaves.flat().length >= ids.length ? newWaves : undefined;
    });
    const all = carried.flat();
    assert.equal(new Set(all).size, all.length, 'no message in two waves');
    assert.deepEqual(new Set(all), new Set(ids));
    assert.ok(
      carried.some((m) => m.length > 1),
      `some wave carried several messages (sizes ${carried.map((m) => m.length)})`,
    );
    assert.ok(carried.length < ids.length, 'fewer waves than messages');
  });

  test('a deferred message leaves its wave and is retried by its own workflow, from the same IP', async () => {
    deferring.deferNext('later@rcpt.test');
    const id = await sendText(resend, 'later@rcpt.test');
    await waitFor('its own workflow', async () => ((await workflowExists(client, id)) ? true : undefined));
    const rows = await settled(stack, id, 60_000);
    assert.equal(rows[0]!.state, 'delivered');
    assert.equal(rows[0]!.attempts, 2);
    assert.equal(copies(MX, 'later@rcpt.test'), 1);
    const events = await stack.db.query<{ event: string; attempt: number; ip: string; at: Date }>(
      `SELECT event, attempt, ip, at FROM delivery_events WHERE message_id = $1 AND event IN ('deferred', 'delivered') ORDER BY id`,
      [id],
    );
    assert.deepEqual(
      events.rows.map((e) => [e.event, e.attempt]),
      [
        ['deferred', 1],
        ['delivered', 2],
      ],
    );
    assert.equal(events.rows[1]!.ip, events.rows[0]!.ip, 'the retry keeps the IP (greylisting)');
    const waited = events.rows[1]!.at.getTime() - events.rows[0]!.at.getTime();
    assert.ok(waited >= 1_500, `the retry waited for the schedule (${waited} ms)`);
    const result: MessageWorkflowResult = await client.workflow.getHandle(id).result();
    assert.equal(result.recipients['later@rcpt.test']!.status, 'delivered');
  });

  test("a paused domain's message gets no SMTP attempt in a wave; it waits in its own workflow until resumed", async () => {
    await stack.node.cli(['pause', 'domain', 'paused.test', '--reason', 'remote asked us to wait']);
    await waitFor('pause published', async () =>
      (await stack.db.query(`SELECT 1 FROM pauses WHERE value = 'paused.test'`)).rowCount ? true : undefined,
    );
    const id = await sendText(resend, 'held@paused.test');
    await waitFor('held in its own workflow', async () =>
      (await stack.db.query('SELECT 1 FROM held_messages WHERE message_id = $1', [id])).rowCount &&
      (await workflowExists(client, id))
        ? true
        : undefined,
    );
    assert.equal(stack.sinks[PAUSED_MX]!.connections.length, 0, 'no connection to a paused domain');
    await stack.node.cli(['resume', 'domain', 'paused.test', '--reason', 'fine again']);
    assert.equal((await settled(stack, id, 60_000))[0]!.state, 'delivered');
    assert.equal(copies(PAUSED_MX, 'held@paused.test'), 1);
  });
});

describe('POSTHORN_WAVE_MAX=1: one workflow per message', () => {
  let stack: Stack;
  let resend: Resend;

  before(async () => {
    stack = await startStack({
      zones: mxZone('rcpt.test', MX),
      sinks: { [MX]: {} },
      env: { POSTHORN_WAVE_MAX: '1' },
    });
    ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
  });

  after(async () => {
    await stack?.stop();
  });

  test('each message is its own message workflow and no wave is started', async () => {
    const ids = await Promise.all(
      Array.from({ length: 10 }, (_, i) => sendText(resend, `own${i}@rcpt.test`)),
    );
    for (const id of ids) assert.equal((await settled(stack, id))[0]!.state, 'delivered');
    const connection = await Connection.connect({ address: stack.temporalAddress });
    try {
      const client = new Client({ connection });
      for (const id of ids) {
        const result: MessageWorkflowResult = await client.workflow.getHandle(id).result();
        assert.ok(Object.values(result.recipients).every((r) => r.status === 'delivered'));
      }
      assert.equal((await waves(client)).size, 0);
    } finally {
      await connection.close();
    }
  });
});
