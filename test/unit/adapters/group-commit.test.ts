import assert from 'node:assert/strict';
import { test } from 'node:test';
import { groupCommit } from '../../../adapters/postgres/group-commit.js';

/** A statement that doubles its inputs, refuses negative ones, and records each run. */
function statement() {
  const runs: number[][] = [];
  let release: (() => void) | null = null;
  const run = async (inputs: readonly number[]) => {
    runs.push([...inputs]);
    if (runs.length === 1) await new Promise<void>((r) => (release = r));
    if (inputs.some((n) => n < 0)) throw new Error('refused');
    return inputs.map((n) => n * 2);
  };
  return { runs, run, release: () => release?.() };
}

test('a call while idle runs alone; calls made meanwhile go together in the next run', async () => {
  const s = statement();
  const call = groupCommit(s.run);
  const first = call(1);
  const rest = [call(2), call(3), call(4)];
  s.release();
  assert.deepEqual(await Promise.all([first, ...rest]), [2, 4, 6, 8]);
  assert.deepEqual(s.runs, [[1], [2, 3, 4]]);
});

test('one refused input fails its own caller only', async () => {
  const s = statement();
  const call = groupCommit(s.run);
  const first = call(1);
  const group = [call(2), call(-1), call(3)].map((p) =>
    p.then(
      (v) => ({ v }),
      (e: Error) => ({ e: e.message }),
    ),
  );
  s.release();
  await first;
  assert.deepEqual(await Promise.all(group), [{ v: 4 }, { e: 'refused' }, { v: 6 }]);
  assert.deepEqual(s.runs, [[1], [2, -1, 3], [2], [-1], [3]]);
});
