import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { Resend } from 'resend';
import { mxZone } from '../support/dns-server.js';
import { type Stack, startStack } from '../support/stack.js';
import { recipientsOf, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

// Every delivery slot taken by a receiver that never answers: /health says delivery is
// stuck (a 503 a load balancer or operator sees), and healthy again once mail moves.
const TARPIT = '127.0.1.51';
const MESSAGES = 205;
let release: () => void = () => {};
const held = new Promise<void>((resolve) => {
  release = resolve;
});
let stack: Stack;
let resend: Resend;

before(async () => {
  stack = await startStack({
    zones: mxZone('tarpit.test', TARPIT),
    sinks: { [TARPIT]: { hooks: { beforeRcptReply: () => held } } },
    env: {
      POSTHORN_HEALTH_STUCK_AFTER: '3s',
      // One workflow per message: each first attempt is a delivery activity of its own.
      POSTHORN_WAVE_MAX: '1',
      POSTHORN_SMTP_COMMAND_TIMEOUT: '10m',
      POSTHORN_API_RATE: 'off',
    },
  });
  ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
});

after(async () => {
  release();
  await stack?.stop();
});

async function health(): Promise<{ status: number; delivery: boolean }> {
  const r = await fetch(`${stack.node.apiUrl}/health`);
  return { status: r.status, delivery: ((await r.json()) as { delivery: boolean }).delivery };
}

test('all delivery slots held by a silent receiver: /health reports delivery stuck, then recovers', async () => {
  assert.deepEqual(await health(), { status: 200, delivery: true });
  const ids: string[] = [];
  for (let i = 0; i < MESSAGES; i += 50) {
    const batch = Array.from({ length: Math.min(50, MESSAGES - i) }, (_, j) => ({
      from: 'hello@acme.test',
      to: `r${i + j}@tarpit.test`,
      subject: 's',
      text: 't',
    }));
    const { data, error } = await resend.batch.send(batch);
    assert.equal(error, null);
    ids.push(...data!.data.map((d) => d.id));
  }
  await waitFor(
    '/health to report delivery stuck',
    async () => {
      const h = await health();
      return h.status === 503 && !h.delivery ? h : undefined;
    },
    120_000,
  );

  release();
  await waitFor(
    '/health healthy again',
    async () => ((await health()).status === 200 ? true : undefined),
    120_000,
  );
  await waitFor(
    'every message delivered',
    async () => {
      for (const id of ids) if ((await recipientsOf(stack, id))[0]?.state !== 'delivered') return undefined;
      return true;
    },
    180_000,
  );
});
