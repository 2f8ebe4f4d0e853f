import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyUsageRecorder } from '../../../api/key-usage.js';

test('a key is written at most once per interval; a failed write is tried again at the next use', async () => {
  let now = 1_000_000;
  const writes: { keyId: string; at: number }[] = [];
  let fail = false;
  const rec = keyUsageRecorder({
    write: async (uses) => {
      if (fail) throw new Error('database away');
      writes.push(...uses.map((u) => ({ keyId: u.keyId, at: u.at.getTime() })));
    },
    now: () => now,
    intervalMs: 60_000,
    maxKeys: 100,
    onError: () => {},
  });
  rec.used('a');
  rec.used('a');
  rec.used('b');
  now += 59_999;
  rec.used('a');
  now += 1;
  rec.used('a');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, [
    { keyId: 'a', at: 1_000_000 },
    { keyId: 'b', at: 1_000_000 },
    { keyId: 'a', at: 1_060_000 },
  ]);
  fail = true;
  now += 60_000;
  rec.used('b');
  await new Promise((r) => setImmediate(r));
  fail = false;
  now += 1;
  rec.used('b');
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes.at(-1), { keyId: 'b', at: now });
});
