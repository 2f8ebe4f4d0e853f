import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../../api/errors.js';
import { validateSend } from '../../../api/validate.js';

const base = { from: 'Acme <a@acme.test>', to: 'b@x.test', subject: 'hi', text: 'hello' };
const opts = { nowMs: Date.parse('2026-11-29T00:00:00Z') };

function fails(body: object, status: number, name: string, message?: RegExp) {
  assert.throws(
    () => validateSend(body as never, opts),
    (err: unknown) =>
      err instanceof ApiError &&
      err.statusCode === status &&
      err.errorName === name &&
      (!message || message.test(err.message)),
  );
}

test('a minimal send validates into a draft', () => {
  const d = validateSend(base, opts);
  assert.equal(d.from.address, 'a@acme.test');
  assert.deepEqual(
    d.to.map((m) => m.address),
    ['b@x.test'],
  );
  assert.equal(d.messageType, 'transactional');
  assert.equal(d.delayMs, 0);
});

test('missing fields name the field', () => {
  fails({ ...base, from: undefined }, 422, 'missing_required_field', /`from`/);
  fails({ ...base, to: [] }, 422, 'missing_required_field', /`to`/);
  fails({ ...base, text: undefined }, 422, 'missing_required_field');
});

test('CR, LF or NUL in any header-bound field is a 422', () => {
  fails({ ...base, subject: 'a\rb' }, 422, 'validation_error', /subject/);
  fails({ ...base, to: ['ok@x.test', 'b@x.test\nBcc: c@y.test'] }, 422, 'validation_error', /to/);
  fails({ ...base, reply_to: 'r@x.test\0' }, 422, 'validation_error', /reply_to/);
  fails({ ...base, headers: { 'X-A': 'v\r\nX-B: w' } }, 422, 'validation_error', /headers/);
  fails(
    { ...base, attachments: [{ filename: 'a\n.txt', content: 'aGk=' }] },
    422,
    'validation_error',
    /filename/,
  );
  fails({ ...base, from: 'Acme\r\n <a@acme.test>' }, 422, 'validation_error');
});

test('reserved or malformed header names are refused', () => {
  fails({ ...base, headers: { 'DKIM-Signature': 'v=1' } }, 422, 'validation_error', /cannot be set/);
  fails({ ...base, headers: { 'X A': 'v' } }, 422, 'validation_error', /not a valid header name/);
});

test('attachments: base64 or Buffer JSON content, or an http(s) URL to fetch', () => {
  const d = validateSend(
    {
      ...base,
      attachments: [
        { filename: 'a.txt', content: 'aGVsbG8=' },
        { filename: 'b.txt', content: { type: 'Buffer', data: [104, 105] } },
        { path: 'https://files.example/c.pdf', content_type: 'application/pdf' },
      ],
    },
    opts,
  );
  assert.deepEqual(
    d.attachments.map((a) => (a.source.kind === 'content' ? a.source.content.toString() : a.source.url)),
    ['hello', 'hi', 'https://files.example/c.pdf'],
  );
  assert.equal(d.attachments[2]!.contentType, 'application/pdf');
  fails({ ...base, attachments: [{ path: 'file:///etc/passwd' }] }, 422, 'invalid_attachment', /https/);
  fails({ ...base, attachments: [{ path: 'https://u:p@files.example/a' }] }, 422, 'invalid_attachment');
  fails({ ...base, attachments: [{ path: 'not a url' }] }, 422, 'invalid_attachment');
  fails(
    { ...base, attachments: [{ path: 'https://x.example/a', content: 'aGk=' }] },
    422,
    'invalid_attachment',
  );
  fails({ ...base, attachments: [{ filename: 'x' }] }, 422, 'invalid_attachment');
  fails({ ...base, attachments: [{ content: 'not base64!' }] }, 422, 'invalid_attachment');
});

test('scheduled_at: ISO 8601 or a phrase, within 30 days, becomes a delay; the past sends now', () => {
  assert.equal(validateSend({ ...base, scheduled_at: '2026-11-29T01:00:00Z' }, opts).delayMs, 3_600_000);
  assert.equal(validateSend({ ...base, scheduled_at: 'in 1 min' }, opts).delayMs, 60_000);
  assert.equal(validateSend({ ...base, scheduled_at: '2026-11-28T23:00:00Z' }, opts).delayMs, 0);
  fails({ ...base, scheduled_at: 'whenever' }, 422, 'validation_error', /ISO 8601/);
  fails({ ...base, scheduled_at: '2027-02-01T00:00:00Z' }, 422, 'validation_error', /30 days/);
  fails({ ...base, scheduled_at: 'in 31 days' }, 422, 'validation_error', /30 days/);
});

test('the message_type tag selects the stream', () => {
  assert.equal(
    validateSend({ ...base, tags: [{ name: 'message_type', value: 'marketing' }] }, opts).messageType,
    'marketing',
  );
  fails({ ...base, tags: [{ name: 'message_type', value: 'bulk' }] }, 422, 'validation_error');
});

test('IDN domains go out as A-labels', () => {
  const d = validateSend({ ...base, to: 'b@bücher.example' }, opts);
  assert.equal(d.to[0]!.address, 'b@xn--bcher-kva.example');
});
