import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { mxZone } from '../support/dns-server.js';
import { type Stack, startStack } from '../support/stack.js';
import { sendText, settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const OK_MX = '127.0.1.1';

describe('with DD_TRACE_ENABLED=true, the spans reach the Datadog agent', () => {
  let stack: Stack;
  const payloads: Buffer[] = [];
  const agent = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (/^\/v0\.[45]\/traces/.test(req.url ?? '')) payloads.push(Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });

  before(async () => {
    await new Promise<void>((resolve) => agent.listen(0, '127.0.0.1', resolve));
    const { port } = agent.address() as AddressInfo;
    stack = await startStack({
      zones: mxZone('rcpt.test', OK_MX),
      sinks: { [OK_MX]: {} },
      env: {
        DD_TRACE_ENABLED: 'true',
        DD_TRACE_AGENT_URL: `http://127.0.0.1:${port}`,
        DD_TRACE_FLUSH_INTERVAL: '200',
        DD_INSTRUMENTATION_TELEMETRY_ENABLED: 'false',
        DD_REMOTE_CONFIGURATION_ENABLED: 'false',
      },
    });
  });

  after(async () => {
    await stack?.stop();
    await new Promise<void>((resolve) => {
      agent.closeAllConnections();
      agent.close(() => resolve());
    });
  });

  test("a message's accept, delivery and SMTP spans are sent, tagged with its id", async () => {
    const { resend } = await tenantClient(stack, 'acme', 'acme.test');
    const id = await sendText(resend, 'user@rcpt.test', 'hello@acme.test');
    await settled(stack, id);
    // The agent's payloads are MessagePack: names and tag values are in it as plain strings.
    await waitFor('the spans of the message at the agent', async () => {
      const all = Buffer.concat(payloads);
      return ['posthorn.accept', 'posthorn.delivery', 'smtp RCPT', id].every((s) => all.includes(s))
        ? true
        : undefined;
    });
    assert.ok(Buffer.concat(payloads).includes('posthorn.message_id'));
  });
});
