import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { createDnsResolver } from '../adapters/dns.js';
import { createGuardedHttp } from '../adapters/guarded-http.js';
import { stsLookupsOver } from '../adapters/mta-sts.js';
import type { Db } from '../adapters/postgres/db.js';
import { tenantStore } from '../adapters/postgres/tenants.js';
import { type Webhook, webhookStore } from '../adapters/postgres/webhooks.js';
import { MESSAGE_TASK_QUEUE } from '../adapters/temporal.js';
import { newSigningSecret, webhookHeaders } from '../adapters/webhook-signing.js';
import type { Config } from '../config/schema.js';
import { EVENT_NAMES } from '../core/events.js';
import { checkEndpoint } from '../core/webhooks/endpoint.js';
import { isWebhookEventType, WEBHOOK_EVENT_TYPES, webhookEventFor } from '../core/webhooks/events.js';
import { webhookWakeSignal, webhookWorkflowId } from '../workflows/contract.js';

export const WEBHOOKS_USAGE = `usage: posthorn webhooks list --tenant NAME
       posthorn webhooks create --tenant NAME --endpoint URL [--events email.sent,email.bounced,…]
       posthorn webhooks test WEBHOOK_ID
       posthorn webhooks replay WEBHOOK_ID EVENT_ID`;

/** The event types Posthorn emits: what `create` subscribes to without --events. */
const EMITTED = [...new Set(EVENT_NAMES.flatMap((n) => webhookEventFor(n)?.type ?? []))];

interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

function summary(w: Webhook) {
  return {
    id: w.id,
    endpoint: w.endpoint,
    events: w.events,
    status: w.status,
    disabled_reason: w.disabledReason,
    created_at: w.createdAt.toISOString(),
  };
}

/** Signals the endpoint's actor (starting it if needed), as the node does after a commit. */
async function wake(config: Config, webhookId: string): Promise<void> {
  const connection = await Connection.connect({
    address: config.temporalAddress ?? `127.0.0.1:${config.temporalPort}`,
  });
  try {
    await new Client({ connection, namespace: config.temporalNamespace }).workflow.signalWithStart(
      'webhookEndpointWorkflow',
      {
        taskQueue: MESSAGE_TASK_QUEUE,
        workflowId: webhookWorkflowId(webhookId),
        args: [{ webhookId }],
        signal: webhookWakeSignal,
        signalArgs: [],
      },
    );
  } finally {
    await connection.close();
  }
}

/**
 * `posthorn webhooks list|create|test|replay`: a tenant's webhook endpoints from the
 * operator's side (customers use the /webhooks API). `test` POSTs a signed sample event
 * straight to the endpoint, through the same egress guard as deliveries, and prints the
 * answer; it is not queued or logged. `replay` queues an event again with its id.
 */
export async function webhooksCommand(
  args: string[],
  db: Db,
  config: Config,
  io: Io = process,
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    io.stderr.write(`${(err as Error).message}\n${WEBHOOKS_USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [action, first, second] = positionals;
  const store = webhookStore(db);
  switch (action) {
    case 'list': {
      if (!values.tenant) break;
      for (const w of await store.listByTenantName(values.tenant))
        io.stdout.write(`${JSON.stringify(summary(w))}\n`);
      return 0;
    }
    case 'create': {
      if (!values.tenant || !values.endpoint) break;
      const tenantId = await tenantStore(db).tenantIdByName(values.tenant);
      if (!tenantId) {
        io.stderr.write(`posthorn webhooks: no tenant named ${values.tenant}\n`);
        return 1;
      }
      const endpoint = checkEndpoint(values.endpoint, config.allowLoopback);
      if (!endpoint.ok) {
        io.stderr.write(`posthorn webhooks: ${endpoint.message}\n`);
        return 2;
      }
      const events = values.events
        ? values.events
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : EMITTED;
      const unknown = events.find((e) => !isWebhookEventType(e));
      if (unknown !== undefined || events.length === 0) {
        io.stderr.write(`posthorn webhooks: event types are ${WEBHOOK_EVENT_TYPES.join(', ')}\n`);
        return 2;
      }
      const w = await store.create({
        id: randomUUID(),
        tenantId,
        endpoint: endpoint.url,
        events: [...new Set(events)],
        signingSecret: newSigningSecret(),
      });
      io.stdout.write(`${JSON.stringify({ id: w.id, signing_secret: w.signingSecret })}\n`);
      return 0;
    }
    case 'test': {
      if (!first) break;
      const w = await store.byId(first);
      if (!w) {
        io.stderr.write(`posthorn webhooks: no webhook ${first}\n`);
        return 1;
      }
      return await testPost(w, config, io);
    }
    case 'replay': {
      if (!first || !second) break;
      const w = await store.byId(first);
      if (!w || !(await store.replay(w.tenantId, w.id, second))) {
        io.stderr.write(`posthorn webhooks: no event ${second} of webhook ${first}\n`);
        return 1;
      }
      // The node's sweeper would wake the actor within seconds; a signal does it now.
      await wake(config, w.id).catch((err: Error) =>
        io.stderr.write(
          `note: could not signal the endpoint's actor (${err.message}); a node will pick it up\n`,
        ),
      );
      io.stdout.write(`${JSON.stringify({ replayed: second, webhook: w.id, status: w.status })}\n`);
      return 0;
    }
  }
  io.stderr.write(`${WEBHOOKS_USAGE}\n`);
  return 2;
}

async function testPost(w: Webhook, config: Config, io: Io): Promise<number> {
  const dns = createDnsResolver({ servers: config.dnsServers, timeoutMs: config.dnsTimeout, tries: 2 });
  const http = createGuardedHttp({
    addresses: stsLookupsOver(dns).addresses,
    timeoutMs: 15_000,
    allowLoopback: config.allowLoopback,
  });
  try {
    const now = new Date();
    const body = JSON.stringify({
      type: 'email.sent',
      created_at: now.toISOString(),
      data: {
        email_id: '00000000-0000-0000-0000-000000000000',
        from: 'test@posthorn.invalid',
        to: ['test@posthorn.invalid'],
        subject: 'posthorn webhooks test',
        created_at: now.toISOString(),
        tags: { posthorn_test: 'true' },
      },
    });
    const id = `test-${randomUUID()}`;
    const headers = webhookHeaders([w.signingSecret], id, Math.floor(now.getTime() / 1000), body);
    const res = await http.request(w.endpoint, { method: 'POST', headers, body });
    if (!res.ok) {
      io.stdout.write(
        `${JSON.stringify({ id, outcome: res.reason === 'egress_refused' ? 'refused' : 'network', detail: res.detail })}\n`,
      );
      return 1;
    }
    const read = await res.readBody(1024, { truncate: true });
    const response = read.ok ? read.body.toString('utf8') : read.detail;
    io.stdout.write(`${JSON.stringify({ id, http_status_code: res.status, response })}\n`);
    return res.status >= 200 && res.status < 300 ? 0 : 1;
  } finally {
    await http.close();
  }
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: { tenant: { type: 'string' }, endpoint: { type: 'string' }, events: { type: 'string' } },
  });
}
