import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FastifyReply } from 'fastify';
import { ApiError } from '../../../api/errors.js';
import { createTenantRateBudget, createTenantRateLimit, type RateBucket } from '../../../api/rate-limit.js';
import { type GcraState, gcraTake, parseThrottleSpec } from '../../../core/delivery/throttle-spec.js';

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

/**
 * The shared bucket as the database statement keeps it: the same GCRA over one state per
 * tenant, on one clock. Counts the takes, which are database round trips.
 */
function sharedBucket(clock: () => number) {
  const states = new Map<string, GcraState>();
  let takes = 0;
  const bucket: RateBucket = async (tenantId, intervalMs, toleranceMs) => {
    takes++;
    const s = { count: 1, periodMs: intervalMs, burst: Math.round(toleranceMs / intervalMs) + 1 };
    const d = gcraTake(states.get(tenantId) ?? null, s, clock());
    states.set(tenantId, d.state);
    return { allowed: d.allowed, nowMs: clock(), tatMs: d.state.tat };
  };
  return { bucket, takes: () => takes };
}

const refusedAs429 = (e: unknown) =>
  e instanceof ApiError && e.statusCode === 429 && e.errorName === 'rate_limit_exceeded';

test('a tenant gets its burst at once, then 429 with Retry-After; other tenants are not affected', async () => {
  let now = 1_000_000;
  const shared = sharedBucket(() => now);
  const take = createTenantRateLimit(createTenantRateBudget(spec('2/s,burst=3'), shared.bucket, () => now));
  const remaining: unknown[] = [];
  for (let i = 0; i < 3; i++) {
    const r = fakeReply();
    await take('a', r.reply);
    remaining.push(r.headers['ratelimit-remaining']);
    assert.equal(r.headers['ratelimit-limit'], 3);
  }
  assert.deepEqual(remaining, [2, 1, 0]);
  const refused = fakeReply();
  await assert.rejects(take('a', refused.reply), refusedAs429);
  assert.equal(refused.headers['retry-after'], 1);
  assert.equal(refused.headers['ratelimit-remaining'], 0);
  await take('b', fakeReply().reply);
  now += 500; // one emission interval (1 s / 2) later, one more request conforms
  await take('a', fakeReply().reply);
});

test('two nodes on one bucket admit the burst once between them, not once each', async () => {
  const now = 5_000_000;
  const shared = sharedBucket(() => now);
  const nodeA = createTenantRateLimit(
    createTenantRateBudget(spec('1/min,burst=4'), shared.bucket, () => now),
  );
  const nodeB = createTenantRateLimit(
    createTenantRateBudget(spec('1/min,burst=4'), shared.bucket, () => now),
  );
  let admitted = 0;
  for (let i = 0; i < 10; i++) {
    const node = i % 2 === 0 ? nodeA : nodeB;
    await node('a', fakeReply().reply).then(
      () => admitted++,
      (e) => assert.ok(refusedAs429(e)),
    );
  }
  assert.equal(admitted, 4);
});

test('a refused tenant is refused from memory until its bucket conforms: no database round trip', async () => {
  let now = 0;
  const shared = sharedBucket(() => now);
  const take = createTenantRateLimit(createTenantRateBudget(spec('1/s'), shared.bucket, () => now));
  await take('a', fakeReply().reply);
  await assert.rejects(take('a', fakeReply().reply), refusedAs429);
  const takesAfterRefusal = shared.takes();
  for (let i = 0; i < 100; i++) await assert.rejects(take('a', fakeReply().reply), refusedAs429);
  assert.equal(shared.takes(), takesAfterRefusal);
  now += 1000;
  await take('a', fakeReply().reply);
  assert.equal(shared.takes(), takesAfterRefusal + 1);
});

test('"off" lets everything through with no headers and no round trip', async () => {
  const shared = sharedBucket(() => 0);
  const take = createTenantRateLimit(createTenantRateBudget(null, shared.bucket, () => 0));
  const r = fakeReply();
  for (let i = 0; i < 1000; i++) await take('a', r.reply);
  assert.deepEqual(r.headers, {});
  assert.equal(shared.takes(), 0);
});
