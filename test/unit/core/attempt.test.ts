import assert from 'node:assert/strict';
import { test } from 'node:test';
import { outcomesOfSession } from '../../../core/delivery/attempt.js';

const r = (code: number, enhanced: string | null, text: string) => ({ code, enhanced, text });

test('per-recipient RCPT replies in one transaction: delivered, bounced, deferred', () => {
  const out = outcomesOfSession(
    {
      kind: 'transaction',
      recipients: [
        { address: 'a@x.test', accepted: true },
        { address: 'b@x.test', accepted: false, reply: r(550, '5.1.1', 'user unknown') },
        { address: 'c@x.test', accepted: false, reply: r(452, '4.5.3', 'Too many recipients') },
      ],
      data: { kind: 'accepted', reply: r(250, '2.0.0', 'queued as 1234') },
      tls: null,
    },
    ['a@x.test', 'b@x.test', 'c@x.test'],
    null,
  );
  assert.equal(out.get('a@x.test')!.kind, 'delivered');
  assert.equal(out.get('b@x.test')!.kind, 'bounced');
  assert.equal(out.get('c@x.test')!.kind, 'deferred');
});

test('a broken connection after DATA is retried, never counted as delivered', () => {
  const out = outcomesOfSession(
    {
      kind: 'transaction',
      recipients: [{ address: 'a@x.test', accepted: true }],
      data: { kind: 'interrupted', detail: 'ECONNRESET' },
      tls: null,
    },
    ['a@x.test'],
    null,
  );
  const o = out.get('a@x.test')!;
  assert.equal(o.kind, 'deferred');
  assert.equal(o.kind === 'deferred' && o.category, 'network_error');
});

test('MAIL FROM refused applies to every recipient; its code decides the permanence', () => {
  const perm = outcomesOfSession(
    { kind: 'mail_rejected', reply: r(553, '5.1.8', 'Sender address rejected: Domain not found'), tls: null },
    ['a@x.test', 'b@x.test'],
    null,
  );
  assert.deepEqual(
    [...perm.values()].map((o) => o.kind),
    ['bounced', 'bounced'],
  );
  const temp = outcomesOfSession(
    { kind: 'mail_rejected', reply: r(451, '4.3.0', 'Temporary local problem'), tls: null },
    ['a@x.test'],
    null,
  );
  assert.equal(temp.get('a@x.test')!.kind, 'deferred');
});
