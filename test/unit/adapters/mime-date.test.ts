import assert from 'node:assert/strict';
import { test } from 'node:test';
import { composeMime, withDate } from '../../../adapters/mime.js';

const compose = (date: Date) =>
  composeMime({
    from: { name: null, address: 'a@acme.test' },
    to: ['b@x.test'],
    cc: null,
    replyTo: null,
    subject: 'Date: not a header',
    html: null,
    text: 'Date: in the body too\r\n',
    headers: {},
    attachments: [],
    messageId: '<1@acme.test>',
    date,
  });

test('withDate replaces the top-level Date field and nothing else', async () => {
  const accepted = await compose(new Date('2026-12-06T13:00:00Z'));
  const sent = withDate(accepted, new Date('2026-12-07T09:00:05.700Z'));
  const text = sent.toString('latin1');
  assert.match(text, /^Date: Mon, 07 Dec 2026 09:00:05 \+0000\r$/m);
  const header = text.slice(0, text.indexOf('\r\n\r\n'));
  assert.equal(header.match(/^Date:/gm)!.length, 1);
  assert.match(text, /^Subject: Date: not a header\r$/m);
  assert.ok(text.includes('Date: in the body too'));
  // Everything but that one line is byte for byte the same.
  const without = (b: Buffer) => b.toString('latin1').replace(/^Date: [^\r\n]*\r\n/m, '');
  assert.equal(without(sent), without(accepted));
});

test('a folded Date field is replaced whole; a message without one gets one', () => {
  const folded = Buffer.from(
    'From: a@acme.test\r\nDate: Sun, 06 Dec 2026\r\n 13:00:00 +0000\r\nSubject: s\r\n\r\nbody\r\n',
  );
  assert.equal(
    withDate(folded, new Date('2026-12-07T09:00:00Z')).toString(),
    'From: a@acme.test\r\nDate: Mon, 07 Dec 2026 09:00:00 +0000\r\nSubject: s\r\n\r\nbody\r\n',
  );
  const none = Buffer.from('From: a@acme.test\r\n\r\nDate: body\r\n');
  assert.equal(
    withDate(none, new Date('2026-12-07T09:00:00Z')).toString(),
    'Date: Mon, 07 Dec 2026 09:00:00 +0000\r\nFrom: a@acme.test\r\n\r\nDate: body\r\n',
  );
});
