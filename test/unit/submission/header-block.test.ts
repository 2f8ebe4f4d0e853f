import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fieldValue, joinHeader, newField, splitHeader } from '../../../core/submission/header-block.js';

const message = [
  'From: "Acme" <hello@acme.test>',
  'Subject: a long subject',
  '\tfolded onto a second line',
  'X-Weird-Name_1:no space',
  '',
  'body line 1',
  '',
  'body after an empty line',
  '',
].join('\r\n');

test('fields keep their own lines; joined again the message is byte for byte the same', () => {
  const split = splitHeader(message);
  assert.ok(split.ok);
  assert.deepEqual(
    split.fields.map((f) => [f.name, f.key]),
    [
      ['From', 'from'],
      ['Subject', 'subject'],
      ['X-Weird-Name_1', 'x-weird-name_1'],
    ],
  );
  assert.equal(split.fields[1]!.raw, 'Subject: a long subject\r\n\tfolded onto a second line\r\n');
  assert.equal(fieldValue(split.fields[1]!), 'a long subject\tfolded onto a second line');
  assert.equal(fieldValue(split.fields[2]!), 'no space');
  assert.equal(joinHeader(split.fields, split.body), message);
});

test('fields can be removed and added; the body is untouched', () => {
  const split = splitHeader(message);
  assert.ok(split.ok);
  const kept = split.fields.filter((f) => f.key !== 'subject');
  const out = joinHeader([...kept, newField('Message-ID', '<1@acme.test>')], split.body);
  assert.equal(
    out,
    'From: "Acme" <hello@acme.test>\r\nX-Weird-Name_1:no space\r\nMessage-ID: <1@acme.test>\r\n\r\nbody line 1\r\n\r\nbody after an empty line\r\n',
  );
});

test('a message without a body gets the empty line that ends its header section', () => {
  const split = splitHeader('From: a@acme.test\r\nSubject: s\r\n');
  assert.ok(split.ok);
  assert.equal(split.body, '');
  assert.equal(joinHeader(split.fields, split.body), 'From: a@acme.test\r\nSubject: s\r\n\r\n');
});

test('a header section that is not fields is refused', () => {
  const leading = splitHeader(' continued\r\nFrom: a@acme.test\r\n\r\nbody');
  assert.ok(!leading.ok);
  assert.match(leading.problem, /continuation/);
  const mbox = splitHeader('From a@acme.test Sun Dec  6 12:00:00 2026\r\nSubject: s\r\n\r\nbody');
  assert.ok(!mbox.ok);
  assert.match(mbox.problem, /not a field/);
});
