import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MAX_STS_MAX_AGE,
  mxMatchesPolicy,
  parseStsPolicy,
  parseStsTxt,
} from '../../../core/delivery/mta-sts.js';

test('TXT: the RFC 8461 §3.1 example and its variants', () => {
  assert.deepEqual(parseStsTxt([['v=STSv1; id=20160831085700Z;']]), { ok: true, id: '20160831085700Z' });
  assert.deepEqual(parseStsTxt([['v=STSv1;id=abc']]), { ok: true, id: 'abc' });
  // Character-strings of one record are concatenated (RFC 7208-style split records).
  assert.deepEqual(parseStsTxt([['v=STSv1; ', 'id=abc123;']]), { ok: true, id: 'abc123' });
  // Other TXT records at the name are discarded, extensions are allowed.
  assert.deepEqual(parseStsTxt([['v=spf1 -all'], ['v=STSv1; id=x1; ext_a=b.c;']]), { ok: true, id: 'x1' });
});

test('TXT: anything but exactly one valid STSv1 record is no policy', () => {
  const no = parseStsTxt([['v=spf1 -all']]);
  assert.equal(no.ok === false && no.reason, 'no_record');
  assert.equal(parseStsTxt([]).ok, false);
  const two = parseStsTxt([['v=STSv1; id=a;'], ['v=STSv1; id=b;']]);
  assert.equal(two.ok === false && two.reason, 'multiple_records');
  for (const bad of [
    'v=STSv1;',
    'v=STSv1; id=;',
    `v=STSv1; id=${'a'.repeat(33)};`,
    'v=STSv1; id=ab-c;',
    'v=STSv1;; id=a;',
    'v=STSv1; id=a; bad ext=1',
    'v=STSv1; id=a; junk',
  ]) {
    const r = parseStsTxt([[bad]]);
    assert.equal(r.ok === false && r.reason, 'invalid', bad);
  }
  // "v=STSv10;" or a lowercase version does not start a record at all.
  assert.equal(parseStsTxt([['v=stsv1; id=a;']]).ok, false);
});

test('policy: the RFC 8461 §3.2 example, CRLF or LF', () => {
  const text =
    'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmx: backupmx.example.com\r\nmax_age: 604800\r\n';
  assert.deepEqual(parseStsPolicy(text), {
    ok: true,
    policy: {
      mode: 'enforce',
      mx: ['mail.example.com', '*.example.net', 'backupmx.example.com'],
      maxAge: 604800,
    },
  });
  assert.deepEqual(parseStsPolicy(text.replace(/\r\n/g, '\n')), parseStsPolicy(text));
  const testing = parseStsPolicy(
    'version: STSv1\nmode: testing\nmx: MX.Example.com\nmax_age: 86400\nfuture_ext: 1',
  );
  assert.deepEqual(testing, { ok: true, policy: { mode: 'testing', mx: ['mx.example.com'], maxAge: 86400 } });
  const none = parseStsPolicy('version: STSv1\nmode: none\nmax_age: 86400\n');
  assert.deepEqual(none, { ok: true, policy: { mode: 'none', mx: [], maxAge: 86400 } });
});

test('policy: max_age over the RFC maximum is clamped', () => {
  const r = parseStsPolicy('version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 9999999999\n');
  assert.equal(r.ok && r.policy.maxAge, MAX_STS_MAX_AGE);
});

test('policy: bad inputs come back with a reason', () => {
  const cases: [string, RegExp][] = [
    ['', /version/],
    ['<html>not found</html>', /key: value/],
    ['version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1', /version/],
    ['version: STSv1\nmode: strict\nmx: a.example\nmax_age: 1', /mode/],
    ['version: STSv1\nmode: enforce\nmx: a.example', /max_age/],
    ['version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1', /max_age/],
    ['version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901', /max_age/],
    ['version: STSv1\nmode: enforce\nmax_age: 86400', /needs at least one mx/],
    ['version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 86400', /mx pattern/],
    ['version: STSv1\nmode: enforce\nmx: mail.exa mple.com\nmax_age: 86400', /mx pattern/],
    ['version: STSv1\nmode: enforce\nmx: -bad.example\nmax_age: 86400', /mx pattern/],
  ];
  for (const [text, reason] of cases) {
    const r = parseStsPolicy(text);
    assert.equal(r.ok, false, text);
    if (!r.ok) assert.match(r.detail, reason, text);
  }
});

test('MX matching per RFC 8461 §4.1: a wildcard covers one leftmost label', () => {
  const patterns = ['mail.example.com', '*.example.net'];
  assert.equal(mxMatchesPolicy('mail.example.com', patterns), true);
  assert.equal(mxMatchesPolicy('MAIL.Example.COM.', patterns), true);
  assert.equal(mxMatchesPolicy('other.example.com', patterns), false);
  assert.equal(mxMatchesPolicy('mx1.example.net', patterns), true);
  assert.equal(mxMatchesPolicy('example.net', patterns), false);
  assert.equal(mxMatchesPolicy('a.mx1.example.net', patterns), false);
  assert.equal(mxMatchesPolicy('mx1.example.net.evil.test', patterns), false);
  assert.equal(mxMatchesPolicy('xexample.net', patterns), false);
  assert.equal(mxMatchesPolicy('.example.net', patterns), false);
  assert.equal(mxMatchesPolicy('mail.example.com', []), false);
});
