import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { InsertedMessages } from '../../../adapters/postgres/messages.js';
import { createAccept } from '../../../api/accept.js';
import { validateSend } from '../../../api/validate.js';
import { type DeliveryEvent, withSuppressed } from '../../../core/events.js';
import type { PendingStart } from '../../../workflows/contract.js';

const NOW = Date.parse('2026-12-07T12:00:00Z');
const principal = {
  keyId: 'k',
  tenantId: 't1',
  tenantName: 'acme',
  permission: 'full_access' as const,
  domainId: null,
};
const domain = { id: 'd1', tenantId: 't1', name: 'acme.test', status: 'verified' };

/** An accept whose store finds `gone` on the suppression list (as its insert statement would). */
function acceptWith(gone: readonly string[]) {
  const dispatched: PendingStart[] = [];
  const accept = createAccept({
    tenants: { domainByName: async () => domain },
    messages: {
      insert: async (batch): Promise<InsertedMessages> => ({
        webhooks: [],
        suppressed: batch.flatMap(({ message }) =>
          message.recipients
            .filter((r) => gone.includes(r.address))
            .map((r) => ({ messageId: message.id, recipient: r.address })),
        ),
      }),
    },
    dispatch: (pending) => void dispatched.push(...pending),
    admit: async () => {},
    node: 'n1',
    compose: async () => Buffer.from('Subject: x\r\n\r\nhi\r\n'),
    retry: { initialMs: 1, factor: 2, maxDelayMs: 1, maxAgeMs: 1, greylistMs: 1, pickupMs: 1 },
    egressTaskQueue: 'q',
    now: () => NOW,
    limits: { refuseIfPaused: () => {}, reserve: async () => ({ refund: async () => {} }) },
  });
  return { accept, dispatched };
}

const draft = (to: string[]) => ({
  draft: {
    ...validateSend({ from: 'a@acme.test', to, subject: 's', text: 'hi' }, { nowMs: NOW }),
    attachments: [],
  },
  domain,
});

test('suppressed recipients are left out of the starts; a message with none left is not started', async () => {
  const { accept, dispatched } = acceptWith(['gone@rcpt.test', 'also@rcpt.test']);
  const ids = await accept.acceptAll(principal, [
    draft(['gone@rcpt.test', 'kept@rcpt.test']),
    draft(['also@rcpt.test']),
    draft(['fine@rcpt.test']),
  ]);
  assert.equal(ids.length, 3, 'every message is accepted: a send to a suppressed address still succeeds');
  assert.deepEqual(
    dispatched.map((s) => [s.input.messageId, s.input.recipients]),
    [
      [ids[0], ['kept@rcpt.test']],
      [ids[2], ['fine@rcpt.test']],
    ],
  );
});

test('events of suppressed recipients read as stored: suppressed, with the reason', () => {
  const event = (messageId: string, recipient: string) =>
    ({ messageId, recipient, event: 'queued' }) as DeliveryEvent;
  const out = withSuppressed(
    [event('m1', 'a@x.test'), event('m1', 'b@x.test'), event('m2', 'a@x.test')],
    [{ messageId: 'm1', recipient: 'a@x.test' }],
  );
  assert.deepEqual(
    out.map((e) => `${e.messageId} ${e.recipient} ${e.event} ${e.detail}`),
    [
      'm1 a@x.test suppressed on the suppression list',
      'm1 b@x.test queued undefined',
      'm2 a@x.test queued undefined',
    ],
  );
});
