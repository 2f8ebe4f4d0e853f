import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSmtpTraceBus, type SmtpTraceLine } from '../../../adapters/live-smtp-trace.js';
import { formatTraceLine } from '../../../bin/trace-command.js';

const line = (
  session: number,
  text: string,
  tag?: SmtpTraceLine['tag'],
  ip = '127.0.0.2',
): SmtpTraceLine => ({
  atMs: Date.UTC(2026, 0, 1, 12, 0, 0, 5),
  session,
  ip,
  mxHost: 'mx.example.test',
  mxAddress: '192.0.2.1',
  direction: text.startsWith('2') ? 'server' : 'client',
  text,
  ...(tag ? { tag } : {}),
});
const tag = (tenantId: string, domain: string) => ({
  tenantId,
  messageId: `${tenantId}-m`,
  recipientDomains: [domain],
});

test('nothing is kept or delivered without a subscriber', () => {
  const bus = createSmtpTraceBus();
  assert.equal(bus.active, false);
  bus.publish(line(1, 'EHLO a'), true);
  const seen: string[] = [];
  const stop = bus.subscribe({ domain: 'x.test' }, (l) => seen.push(l.text));
  bus.publish(line(1, 'MAIL FROM:<a@b>', tag('t1', 'x.test')), false);
  assert.deepEqual(seen, ['MAIL FROM:<a@b>'], 'set-up published before the subscription is not replayed');
  stop();
  assert.equal(bus.active, false);
});

test('a domain or tenant subscriber sees the session set-up once, then only matching transactions', () => {
  const bus = createSmtpTraceBus();
  const byDomain: string[] = [];
  const byTenant: string[] = [];
  const all: string[] = [];
  bus.subscribe({ domain: 'x.test' }, (l) => byDomain.push(l.text));
  bus.subscribe({ tenantId: 't2' }, (l) => byTenant.push(l.text));
  bus.subscribe({}, (l) => all.push(l.text));
  bus.publish(line(7, 'EHLO a'), true);
  bus.publish(line(7, '250 ok'), true);
  bus.publish(line(7, 'RCPT TO:<u@x.test>', tag('t1', 'x.test')), false);
  bus.publish(line(7, 'RSET'), false);
  bus.publish(line(7, 'RCPT TO:<v@y.test>', tag('t2', 'y.test')), false);
  bus.publish(line(7, 'RCPT TO:<w@x.test>', tag('t1', 'x.test')), false);
  assert.deepEqual(byDomain, ['EHLO a', '250 ok', 'RCPT TO:<u@x.test>', 'RCPT TO:<w@x.test>']);
  assert.deepEqual(byTenant, ['EHLO a', '250 ok', 'RCPT TO:<v@y.test>']);
  assert.equal(all.length, 6);
});

test('an IP subscriber sees every line of that IP’s sessions only', () => {
  const bus = createSmtpTraceBus();
  const seen: string[] = [];
  bus.subscribe({ ip: '127.0.0.3' }, (l) => seen.push(l.text));
  bus.publish(line(1, 'EHLO a', undefined, '127.0.0.2'), true);
  bus.publish(line(2, 'EHLO b', undefined, '127.0.0.3'), true);
  bus.publish(line(2, 'MAIL FROM:<a@b>', tag('t', 'x.test'), '127.0.0.3'), false);
  assert.deepEqual(seen, ['EHLO b', 'MAIL FROM:<a@b>']);
});

test('a trace line reads as time, session, route, direction and text', () => {
  assert.equal(
    formatTraceLine(line(3, 'RCPT TO:<u@x.test>', tag('t1', 'x.test'))),
    '12:00:00.005 #3 127.0.0.2 -> mx.example.test [192.0.2.1] t1-m > RCPT TO:<u@x.test>',
  );
});
