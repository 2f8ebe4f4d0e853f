import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IpRouteState } from '../../../core/routing/ip-actor-types.js';
import { createLocalSuspensionTable } from '../../../egress/routing/local-suspensions.js';

const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
const IP = '192.0.2.10';

/**
 * The workflow's route state as of `asOfMs`: Yahoo suspended for 2 h from then, or with
 * `lifted` not suspended (a state that does not cover the node's entry by itself).
 */
function published(asOfMs: number, lifted = false): ReadonlyMap<string, IpRouteState> {
  const suspended: IpRouteState['suspended'] = lifted
    ? {}
    : { yahoo: { untilMs: asOfMs + 2 * HOUR, reason: 'yahoo.ts04' } };
  return new Map([
    [
      IP,
      {
        version: 1,
        ip: IP,
        weight: 100,
        paused: null,
        suspended,
        caps: null,
        warmupDay: null,
        asOfMs,
      },
    ],
  ]);
}

test("the workflow's answer replaces the entry even when its reload came before the report's send returned", () => {
  let now = NOW;
  const table = createLocalSuspensionTable({ now: () => now, durationScale: 1 });
  table.suspend(IP, 'yahoo', 'yahoo.ts04', 2 * HOUR);
  // The summary leaves at NOW + 10; the workflow publishes at NOW + 20 (it lifted the
  // suspension) and the node reloads at NOW + 30, all before the signal's send returns at
  // NOW + 40.
  now = NOW + 30;
  table.reconcile(published(NOW + 20, true));
  assert.ok(table.active(IP, 'yahoo'), 'not yet marked reported: the reload alone says nothing');
  now = NOW + 40;
  table.reported(IP, 'yahoo', NOW + 10);
  assert.equal(table.active(IP, 'yahoo'), null, "the workflow's state, computed after the report, rules");
});

test('a report marked before any route state from after it keeps the entry until that state arrives', () => {
  let now = NOW;
  const table = createLocalSuspensionTable({ now: () => now, durationScale: 1 });
  table.suspend(IP, 'yahoo', 'yahoo.ts04', 2 * HOUR);
  table.reconcile(published(NOW - 1_000));
  now = NOW + 40;
  table.reported(IP, 'yahoo', NOW + 10);
  assert.ok(table.active(IP, 'yahoo'), 'the last state seen predates the report');
  table.reconcile(published(NOW + 50));
  assert.equal(table.active(IP, 'yahoo'), null);
});
