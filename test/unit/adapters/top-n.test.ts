import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTopN, OTHER } from '../../../adapters/top-n.js';

test('names the first keys while there is room, then counts the rest as other', () => {
  const t = createTopN({ size: 2, rerankEveryMs: 1_000, now: () => 0 }, () => {});
  assert.equal(t.label('a'), 'a');
  assert.equal(t.label('b'), 'b');
  assert.equal(t.label('c'), OTHER);
  assert.equal(t.label('a'), 'a');
  assert.deepEqual([...t.named()].sort(), ['a', 'b']);
});

test('at a ranking a key with at least twice the weakest score takes its place', () => {
  let now = 0;
  const demoted: string[] = [];
  const t = createTopN({ size: 2, rerankEveryMs: 1_000, now: () => now }, (k) => demoted.push(k));
  for (let i = 0; i < 10; i++) t.label('a');
  t.label('b');
  for (let i = 0; i < 5; i++) assert.equal(t.label('c'), OTHER);
  now = 1_000;
  // The next label call ranks: c (5) beats b (1) by more than twice; a stays.
  assert.equal(t.label('c'), 'c');
  assert.deepEqual(demoted, ['b']);
  assert.equal(t.label('b'), OTHER);
});

test('a challenger short of twice the weakest score does not displace it', () => {
  let now = 0;
  const demoted: string[] = [];
  const t = createTopN({ size: 1, rerankEveryMs: 1_000, now: () => now }, (k) => demoted.push(k));
  for (let i = 0; i < 3; i++) t.label('a');
  for (let i = 0; i < 5; i++) t.label('b');
  now = 1_000;
  assert.equal(t.label('b'), OTHER);
  assert.deepEqual(demoted, []);
});
