import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMailbox } from '../../../core/address.js';

test('bare, named and quoted-name mailboxes parse; the domain is lowercased', () => {
  assert.deepEqual(parseMailbox('a@Example.COM'), {
    ok: true,
    mailbox: { name: null, address: 'a@example.com', local: 'a', domain: 'example.com' },
  });
  const named = parseMailbox('Acme Support <Help@acme.test>');
  assert.ok(named.ok);
  assert.equal(named.mailbox.name, 'Acme Support');
  assert.equal(named.mailbox.address, 'Help@acme.test');
  const quoted = parseMailbox('"Acme, \\"Inc\\"" <a@acme.test>');
  assert.ok(quoted.ok);
  assert.equal(quoted.mailbox.name, 'Acme, "Inc"');
});

test('syntax and RFC 5321 length limits are enforced', () => {
  for (const bad of [
    'plain',
    '@x.test',
    'a@',
    'a@localhost',
    'a b@x.test',
    'a@-x.test',
    'a@x..test',
    `${'l'.repeat(65)}@x.test`,
    `a@${'d'.repeat(250)}.test`,
  ]) {
    assert.equal(parseMailbox(bad).ok, false, bad);
  }
});

test('CR, LF and NUL anywhere are refused', () => {
  for (const bad of ['a@x.test\r\nBcc: b@y.test', 'Name\n <a@x.test>', 'a\0@x.test']) {
    const r = parseMailbox(bad);
    assert.equal(r.ok, false, JSON.stringify(bad));
  }
});
