import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createSlotWatch } from '../../../core/slot-watch.js';

test('full slots are stuck only when nothing completed for a whole window', () => {
  const w = createSlotWatch(10, 1000);
  w.observe(0, 8, 0);
  assert.equal(w.stuck(5000), false, 'not full');
  w.observe(100, 10, 0);
  assert.equal(w.stuck(1099), false, 'full for less than the window');
  assert.equal(w.stuck(1100), true, 'full for the window, nothing completed');
  w.observe(1200, 10, 1);
  assert.equal(w.stuck(2100), false, 'work completed within the window: still full, but moving');
  assert.equal(w.stuck(2200), true);
  w.observe(2300, 5, 0);
  assert.equal(w.stuck(9000), false, 'slots free');
});

test('a full worker flickering just below capacity (tasks that wait and come back) stays full', () => {
  const w = createSlotWatch(200, 1000);
  w.observe(0, 200, 0);
  w.observe(300, 198, 0);
  w.observe(600, 200, 0);
  assert.equal(w.stuck(1000), true);
});
