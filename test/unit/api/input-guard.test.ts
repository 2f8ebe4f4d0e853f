import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inputProblem, MAX_DEPTH } from '../../../api/input-guard.js';

test('NUL in a value or a key is found, with where it is', () => {
  assert.match(
    inputProblem({ a: [{ html: 'x\u0000' }] }, 'body') ?? '',
    /^body\.a\[0\]\.html contains a NUL/,
  );
  assert.match(inputProblem({ 'k\u0000': 1 }, 'query') ?? '', /^query has a key with a NUL/);
  assert.equal(inputProblem({ a: ['fine', 1, null, true], b: { c: 'é' } }, 'body'), null);
});

test('nesting is bounded without recursion, however deep the input', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.match(inputProblem(deep, 'body') ?? '', new RegExp(`nests deeper than ${MAX_DEPTH}`));
  let ok: unknown = 'leaf';
  for (let i = 0; i < MAX_DEPTH; i++) ok = { x: ok };
  assert.equal(inputProblem(ok, 'body'), null, `${MAX_DEPTH} levels are allowed`);
});
