import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyReply } from 'fastify';
import { ApiError } from '../../../api/errors.js';
import { createTenantRateLimit } from '../../../api/rate-limit.js';
import { parseThrottleSpec } from '../../../core/delivery/throttle-spec.js';

function fakeReply() {
  const headers: Record<string, unknown> = {};
  return {
    headers,
    reply: { header: (k: string, v: unknown) => (headers[k] = v) } as unknown as FastifyReply,
  };
}

const spec = (s: string) => {
  const r = parseThrottleSpec(s);
  assert.ok(r.ok);
  return r.spec;
};

test('a tenant gets its burst at once, then 429 with Retry-After; other tenants are not affected', () => {
  let now = 1_000_000;
  const take = createTenantRateLimit(spec('2/s,burst=3'), () => now);
  const remaining: unknown[] = [];
  for (let i = 0; i < 3; i++) {
    const r = fakeReply();
    take('a', r.reply);
    remaining.push(r.headers['ratelimit-remaining']);
    assert.equal(r.headers['ratelimit-limit'], 3);
  }
  assert.deepEqual(remaining, [2, 1, 0]);
  const refused = fakeReply();
  assert.throws(
    () => take('a', refused.reply),
    (e: unknown) => e instanceof ApiError && e.statusCode === 429 && e.errorName === 'rate_limit_exceeded',
  );
  assert.equal(refused.headers['retry-after'], 1);
  take('b', fakeReply().reply);
  now += 500; // one emission interval (1 s / 2) later, one more request conforms
  take('a', fakeReply().reply);
});

test('"off" lets everything through with no headers', () => {
  const take = createTenantRateLimit(null, () => 0);
  const r = fakeReply();
  for (let i = 0; i < 1000; i++) take('a', r.reply);
  assert.deepEqual(r.headers, {});
});
