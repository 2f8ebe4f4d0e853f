import assert from 'node:assert/strict';
import { test } from 'node:test';
import { planMx } from '../../../core/delivery/mx.js';

test('MX hosts are tried by preference, ties in random order, duplicates once', () => {
  const records = [
    { exchange: 'c.example.', priority: 20 },
    { exchange: 'A.example', priority: 10 },
    { exchange: 'b.example', priority: 10 },
    { exchange: 'a.example', priority: 30 },
  ];
  let n = 0;
  const ascending = () => n++ / 10;
  assert.deepEqual(planMx('example', records, ascending), {
    kind: 'hosts',
    hosts: ['a.example', 'b.example', 'c.example'],
    implicit: false,
  });
  let m = 10;
  const descending = () => m-- / 10;
  assert.deepEqual(
    planMx('example', records, descending).kind === 'hosts' && planMx('example', records, descending),
    {
      kind: 'hosts',
      hosts: ['b.example', 'a.example', 'c.example'],
      implicit: false,
    },
  );
});

test('a null MX (RFC 7505) and an empty answer are told apart', () => {
  assert.deepEqual(planMx('example', [{ exchange: '', priority: 0 }], Math.random), { kind: 'null_mx' });
  assert.deepEqual(planMx('example', [{ exchange: '.', priority: 0 }], Math.random), { kind: 'null_mx' });
  assert.deepEqual(planMx('example', [], Math.random), { kind: 'no_mx' });
});
