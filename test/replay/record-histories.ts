/**
 * Records event histories of workflows into test/fixtures/histories/, for the replay test
 * (test/unit/workflows/replay.test.ts): a change to workflow code that would break
 * workflows already running fails there. Run against the workflow code whose histories
 * should be kept, on the same real parts as the integration tests:
 *
 *   node --import tsx test/replay/record-histories.ts
 *
 * A history file already there is kept, not recorded again: histories written by older
 * code are what prove that running workflows survive the newer code.
 *
 * Scenarios, each message in its own workflow (POSTHORN_WAVE_MAX=1): delivered at once;
 * deferred (451) then delivered; bounced (550); two recipient domains in one message; held
 * by a domain pause, then released by resume; scheduled, moved, then delivered; scheduled
 * then canceled. Then the control workflow that carried the pause, the IP workflow of
 * 127.0.0.2 after a Yahoo [TS04] suspended it for Yahoo (once as first recorded, once on
 * code with the reputation-by-action patch), on a node with waves, a delivery wave, and a
 * domain actor taking a domain from pending to verified, to temporary_failure when its DKIM
 * record vanishes, and to failed. Last, a webhook endpoint's actor: an event refused once
 * (500) and delivered on the retry, then the webhook deleted, which ends the actor.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { domainWorkflowId, MESSAGE_IDS, webhookWorkflowId } from '../../workflows/contract.js';
import { mxZone, type ZoneEntry } from '../support/dns-server.js';
import { startStack } from '../support/stack.js';
import { settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';

const OUT = new URL('../fixtures/histories/', import.meta.url);
const MX = '127.0.1.1';
const OTHER_MX = '127.0.1.2';
const YAHOO_MX = '127.0.1.3';
const TS04 =
  '4.7.0 [TS04] Messages from 127.0.0.2 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes';

async function save(client: Client, name: string, workflowId: string): Promise<void> {
  const file = new URL(`${name}.binpb`, OUT);
  if (existsSync(file)) {
    process.stdout.write(`kept ${name} (recorded earlier)\n`);
    return;
  }
  // Binary protobuf (proto.temporal.api.history.v1.History): decoded by the same protobufjs copy
  // as the SDK's own types, unlike the proto3 JSON of `temporal workflow show`.
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  await writeFile(file, proto.temporal.api.history.v1.History.encode(history).finish());
  process.stdout.write(`recorded ${name} (${workflowId}, ${history.events?.length} events)\n`);
}

let deferredOnce = false;
const stack = await startStack({
  zones: {
    ...mxZone('rcpt.test', MX),
    ...mxZone('other.test', OTHER_MX),
    ...mxZone('paused.test', MX),
    'yahoo.test': { mx: [{ exchange: 'mta5.am0.yahoodns.net', priority: 1 }] },
    'mta5.am0.yahoodns.net': { a: [YAHOO_MX] },
  },
  sinks: {
    [MX]: {
      rcpt(address) {
        if (address === 'bounce@rcpt.test')
          return { code: 550, message: '5.1.1 <bounce@rcpt.test>: user unknown' };
        if (address === 'defer@rcpt.test' && !deferredOnce) {
          deferredOnce = true;
          return { code: 451, message: '4.3.0 try again later' };
        }
        return null;
      },
    },
    [OTHER_MX]: {},
    // Yahoo defers 127.0.0.2 only, as it would an IP with a bad reputation.
    [YAHOO_MX]: {
      rcpt: (_a, session) =>
        session.remoteAddress.endsWith('127.0.0.2') ? { code: 421, message: TS04 } : null,
    },
  },
  env: {
    POSTHORN_RETRY_INITIAL: '1s',
    POSTHORN_WAVE_MAX: '1',
    POSTHORN_FEEDBACK_WINDOW: '300ms',
    POSTHORN_REPUTATION_SCALE: '0.001',
  },
});
try {
  const { resend } = await tenantClient(stack, 'acme', 'acme.test');
  const send = async (to: string[]) => {
    const r = await resend.emails.send({ from: 'hello@acme.test', to, subject: 'replay', text: 'replay' });
    if (r.error) throw new Error(JSON.stringify(r.error));
    return r.data!.id;
  };
  const scenarios: Record<string, string> = {
    'message-delivered': await send(['ok@rcpt.test']),
    'message-deferred-then-delivered': await send(['defer@rcpt.test']),
    'message-bounced': await send(['bounce@rcpt.test']),
    'message-two-domains': await send(['a@rcpt.test', 'b@other.test']),
  };
  const scheduled = async (to: string, inMs: number) => {
    const r = await resend.emails.send({
      from: 'hello@acme.test',
      to,
      subject: 'replay',
      text: 'replay',
      scheduledAt: new Date(Date.now() + inMs).toISOString(),
    });
    if (r.error) throw new Error(JSON.stringify(r.error));
    return r.data!.id;
  };
  const moved = await scheduled('moved@rcpt.test', 60_000);
  const moveAnswer = await resend.emails.update({
    id: moved,
    scheduledAt: new Date(Date.now() + 2_000).toISOString(),
  });
  if (moveAnswer.error) throw new Error(JSON.stringify(moveAnswer.error));
  scenarios['message-scheduled-moved-then-delivered'] = moved;
  const canceled = await scheduled('canceled@rcpt.test', 3_600_000);
  const cancelAnswer = await resend.emails.cancel(canceled);
  if (cancelAnswer.error) throw new Error(JSON.stringify(cancelAnswer.error));
  scenarios['message-scheduled-canceled'] = canceled;

  await stack.node.cli(['pause', 'domain', 'paused.test', '--reason', 'recording a held message']);
  await waitFor('pause published', async () =>
    (await stack.db.query(`SELECT 1 FROM pauses WHERE value = 'paused.test'`)).rowCount ? true : undefined,
  );
  scenarios['message-held-then-released'] = await send(['held@paused.test']);
  await waitFor('held', async () =>
    (await stack.db.query(`SELECT 1 FROM held_messages WHERE value = 'paused.test'`)).rowCount
      ? true
      : undefined,
  );
  await stack.node.cli(['resume', 'domain', 'paused.test', '--reason', 'recorded']);

  // Yahoo mail until 127.0.0.2 has met a [TS04] and its IP workflow has suspended it.
  for (let i = 0; i < 6; i++) await send([`y${i}@yahoo.test`]);
  await waitFor(
    'the IP workflow suspended 127.0.0.2 for Yahoo',
    async () => {
      const r = await stack.db.query<{ yahoo: unknown }>(
        `SELECT state->'suspended'->'yahoo' AS yahoo FROM route_state WHERE ip = '127.0.0.2'`,
      );
      return r.rows[0]?.yahoo ? true : undefined;
    },
    60_000,
  );

  await mkdir(OUT, { recursive: true });
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection });
  for (const [name, id] of Object.entries(scenarios)) {
    await settled(stack, id, 60_000);
    await client.workflow.getHandle(id).result();
    await save(client, name, id);
  }
  await save(client, 'control-pause-resume', 'posthorn-control');
  await save(client, 'ip-suspended-by-ts04', 'ip-127.0.0.2');
  // The same scenario on code whose IP workflow reads the classification's action through
  // patched('reputation-by-action'): its history carries the patch marker.
  await save(client, 'ip-suspended-by-ts04-reputation-by-action', 'ip-127.0.0.2');
  await connection.close();
} finally {
  await stack.stop();
}

// A node with waves (the default): one wave delivering one message and handing a deferred
// one on to its own workflow.
let deferredInWave = false;
const waves = await startStack({
  zones: mxZone('rcpt.test', MX),
  sinks: {
    [MX]: {
      rcpt(address) {
        if (address !== 'wave-defer@rcpt.test' || deferredInWave) return null;
        deferredInWave = true;
        return { code: 451, message: '4.3.0 try again later' };
      },
    },
  },
  env: { POSTHORN_RETRY_INITIAL: '1s', POSTHORN_WAVE_WINDOW: '1s' },
});
try {
  const { resend } = await tenantClient(waves, 'acme', 'acme.test');
  const { data, error } = await resend.batch.send([
    { from: 'hello@acme.test', to: ['wave-ok@rcpt.test'], subject: 'replay', text: 'replay' },
    { from: 'hello@acme.test', to: ['wave-defer@rcpt.test'], subject: 'replay', text: 'replay' },
  ]);
  if (error) throw new Error(JSON.stringify(error));
  const ids = data!.data.map((d) => d.id);
  for (const id of ids) await settled(waves, id, 60_000);
  const connection = await Connection.connect({ address: waves.temporalAddress });
  const client = new Client({ connection });
  for await (const wf of client.workflow.list({ query: `WorkflowType = "waveWorkflow"` })) {
    const carried = wf.typedSearchAttributes.get(MESSAGE_IDS) ?? [];
    if (ids.every((id) => carried.includes(id))) {
      await client.workflow.getHandle(wf.workflowId).result();
      await save(client, 'wave-one-delivered-one-handed-on', wf.workflowId);
    }
  }
  await connection.close();
} finally {
  await waves.stop();
}

// A domain actor (workflows/domain.ts) through its whole life, with short intervals.
const domains = await startStack({
  zones: mxZone('rcpt.test', MX),
  sinks: { [MX]: {} },
  env: {
    POSTHORN_DOMAIN_CHECK_INTERVAL: '300ms',
    POSTHORN_DOMAIN_RECHECK_INTERVAL: '500ms',
    POSTHORN_DOMAIN_VERIFY_TIMEOUT: '3s',
  },
});
try {
  const { resend } = await tenantClient(domains, 'acme', 'acme.test');
  const { data, error } = await resend.domains.create({ name: 'replay.test' });
  if (error) throw new Error(JSON.stringify(error));
  const status = async () => (await resend.domains.get(data!.id)).data?.status as string | undefined;
  await resend.domains.verify(data!.id);
  await waitFor('pending checks', async () => ((await status()) === 'pending' ? true : undefined));
  const records = data!.records as unknown as {
    name: string;
    type: string;
    value: string;
    priority?: number;
  }[];
  const zone: Record<string, ZoneEntry> = {};
  for (const r of records) {
    const e = zone[`${r.name}.replay.test`] ?? {};
    zone[`${r.name}.replay.test`] = e;
    if (r.type === 'MX') e.mx = [{ exchange: r.value, priority: r.priority ?? 10 }];
    else e.txt = [...(e.txt ?? []), r.value.replace(/^"(.*)"$/, '$1').match(/.{1,255}/g)!];
  }
  for (const [name, entry] of Object.entries(zone)) domains.dns.set(name, entry);
  await waitFor('verified', async () => ((await status()) === 'verified' ? true : undefined));
  domains.dns.set(`${records[0]!.name}.replay.test`, { nxdomain: true });
  await waitFor('failed', async () => ((await status()) === 'failed' ? true : undefined), 60_000);
  const connection = await Connection.connect({ address: domains.temporalAddress });
  const client = new Client({ connection });
  await client.workflow.getHandle(domainWorkflowId(data!.id)).result();
  await save(client, 'domain-verified-flagged-failed', domainWorkflowId(data!.id));
  await connection.close();
} finally {
  await domains.stop();
}

// A webhook endpoint's actor: one event failed once and retried, then the webhook deleted.
const receiver = await startWebhookReceiver();
receiver.script('/replay', (_req, nth) => (nth === 1 ? { status: 500 } : { status: 200 }));
const hooks = await startStack({
  zones: mxZone('rcpt.test', MX),
  sinks: { [MX]: {} },
  env: { POSTHORN_WEBHOOK_RETRY_SCALE: '0.001' },
});
try {
  const { resend } = await tenantClient(hooks, 'acme', 'acme.test');
  const created = await resend.webhooks.create({
    endpoint: receiver.url('/replay'),
    events: ['email.delivered'],
  });
  if (created.error) throw new Error(JSON.stringify(created.error));
  const webhookId = created.data!.id;
  const { data, error } = await resend.emails.send({
    from: 'hello@acme.test',
    to: 'hook@rcpt.test',
    subject: 'replay',
    text: 'replay',
  });
  if (error) throw new Error(JSON.stringify(error));
  await waitFor('the webhook event delivered', async () => {
    const r = await hooks.db.query(`SELECT 1 FROM webhook_events WHERE status = 'success'`);
    return r.rowCount ? true : undefined;
  });
  await settled(hooks, data!.id);
  await resend.webhooks.remove(webhookId);
  const connection = await Connection.connect({ address: hooks.temporalAddress });
  const client = new Client({ connection });
  await client.workflow.getHandle(webhookWorkflowId(webhookId)).result();
  await save(client, 'webhook-retried-then-deleted', webhookWorkflowId(webhookId));
  await connection.close();
} finally {
  await hooks.stop();
  await receiver.close();
}
