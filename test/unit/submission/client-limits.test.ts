import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientKey, createClientLimits } from '../../../core/submission/client-limits.js';

const rules = { maxConnections: 2, maxAuthFailures: 3, failureWindowMs: 60_000, blockMs: 300_000 };

test('clients are IPv4 addresses, or the /64 of an IPv6 address', () => {
  assert.equal(clientKey('192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(clientKey('2001:db8:0:12:aaaa::1'), '2001:db8:0:12::/64');
  assert.equal(clientKey('2001:DB8:0000:0012:ffff:1:2:3'), '2001:db8:0:12::/64');
  assert.equal(clientKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(clientKey('::1'), '0:0:0:0::/64');
});

test('a client holds at most maxConnections at once; a closed one frees its slot', () => {
  const limits = createClientLimits(rules);
  assert.deepEqual(limits.connect('a', 0), { ok: true });
  assert.deepEqual(limits.connect('a', 0), { ok: true });
  assert.deepEqual(limits.connect('a', 0), { ok: false, why: 'connections' });
  assert.deepEqual(limits.connect('b', 0), { ok: true }, 'other clients are not affected');
  limits.disconnect('a');
  assert.deepEqual(limits.connect('a', 0), { ok: true });
});

test('maxAuthFailures within the window block the client for blockMs, then it may come back', () => {
  const limits = createClientLimits(rules);
  assert.equal(limits.authFailed('a', 1_000), false);
  assert.equal(limits.authFailed('a', 2_000), false);
  assert.equal(limits.authFailed('a', 3_000), true);
  assert.equal(limits.blocked('a', 3_000), true);
  assert.equal(limits.blockedUntil('a', 3_000), 303_000);
  assert.deepEqual(limits.connect('a', 100_000), { ok: false, why: 'blocked' });
  assert.equal(limits.blocked('b', 3_000), false);
  assert.equal(limits.blocked('a', 303_000), false);
  assert.deepEqual(limits.connect('a', 303_000), { ok: true });
  // The block started the count again: one more failure does not block.
  assert.equal(limits.authFailed('a', 304_000), false);
});

test('failures spread wider than the window never block', () => {
  const limits = createClientLimits(rules);
  for (let t = 0; t < 10 * 60_000; t += 40_000) assert.equal(limits.authFailed('a', t), false);
});

test('clients with nothing open and nothing recent are forgotten once the map is large', () => {
  const limits = createClientLimits(rules);
  for (let i = 0; i < 10_000; i++) limits.authFailed(`c${i}`, 0);
  limits.connect('held', 0);
  assert.equal(limits.size(), 10_001);
  // Past the window, the next new client sweeps the idle ones (the connected one stays).
  limits.connect('new', 120_000);
  assert.equal(limits.size(), 2);
});
