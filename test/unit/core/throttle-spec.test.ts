import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  emissionIntervalMs,
  formatThrottleSpec,
  type GcraState,
  gcraTake,
  gcraWaitMs,
  parseThrottleSpec,
  type ThrottleSpec,
} from '../../../core/delivery/throttle-spec.js';

function spec(text: string): ThrottleSpec {
  const p = parseThrottleSpec(text);
  assert.ok(p.ok, `${text}: ${p.ok ? '' : p.error}`);
  return p.spec;
}

test('rate specs parse to count, period in ms and burst', () => {
  assert.deepEqual(spec('100/min'), { count: 100, periodMs: 60_000, burst: 1 });
  assert.deepEqual(spec('100/min,burst=10'), { count: 100, periodMs: 60_000, burst: 10 });
  assert.deepEqual(spec('5/s'), { count: 5, periodMs: 1000, burst: 1 });
  assert.deepEqual(spec('2000/h'), { count: 2000, periodMs: 3_600_000, burst: 1 });
  assert.deepEqual(spec('10/d'), { count: 10, periodMs: 86_400_000, burst: 1 });
  assert.deepEqual(spec('30/10min'), { count: 30, periodMs: 600_000, burst: 1 });
  assert.deepEqual(spec(' 7 / hour , burst = 3 '), { count: 7, periodMs: 3_600_000, burst: 3 });
  assert.deepEqual(spec('1/SEC'), { count: 1, periodMs: 1000, burst: 1 });
  assert.deepEqual(spec('4/day'), { count: 4, periodMs: 86_400_000, burst: 1 });
  assert.deepEqual(spec('9/250ms'), { count: 9, periodMs: 250, burst: 1 });
});

test('format(parse(s)) is canonical and parse(format(x)) is x', () => {
  const canonical: [string, string][] = [
    ['100/min', '100/min'],
    ['100/min,burst=10', '100/min,burst=10'],
    ['100/minute,burst=1', '100/min'],
    ['5/sec', '5/s'],
    ['60/60s', '60/min'],
    ['2000/hour', '2000/h'],
    ['2000/60min', '2000/h'],
    ['10/day', '10/d'],
    ['10/24h', '10/d'],
    ['3/90s', '3/90s'],
    ['3/1500ms', '3/1500ms'],
    ['3/1000ms', '3/s'],
    ['1/7d,burst=2', '1/7d,burst=2'],
    ['  12 / 2 hr ', '12/2h'],
  ];
  for (const [input, expected] of canonical) {
    const s = spec(input);
    assert.equal(formatThrottleSpec(s), expected, input);
    assert.deepEqual(spec(formatThrottleSpec(s)), s, input);
  }
  for (const count of [1, 3, 7, 100, 1_000_000]) {
    for (const periodMs of [1, 999, 1000, 45_000, 60_000, 90_000, 3_600_000, 5_400_000, 86_400_000 * 30]) {
      for (const burst of [1, 2, 50]) {
        const x = { count, periodMs, burst };
        assert.deepEqual(spec(formatThrottleSpec(x)), x);
      }
    }
  }
});

test('bad specs are refused with a clear reason', () => {
  const cases: [string, RegExp][] = [
    ['', /<count>\/<period>/],
    ['100', /<count>\/<period>/],
    ['100/', /<count>\/<period>/],
    ['/min', /<count>\/<period>/],
    ['-1/min', /<count>\/<period>/],
    ['1.5/min', /<count>\/<period>/],
    ['0/min', /count must be a whole number above 0/],
    ['10/0s', /multiplier must be a whole number above 0/],
    ['10/m', /unknown unit "m"/],
    ['10/week', /unknown unit "week"/],
    ['10/min,burst=0', /burst must be a whole number above 0/],
    ['10/min,burst=', /not an option like burst=10/],
    ['10/min,max_burst=3', /unknown option "max_burst"/],
    ['10/min,burst=2,burst=3', /burst is given twice/],
    ['10/min,', /not an option/],
    ['99999999999999999999/s', /count must be a whole number/],
  ];
  for (const [text, why] of cases) {
    const p = parseThrottleSpec(text);
    assert.equal(p.ok, false, text);
    if (!p.ok) {
      assert.match(p.error, why, text);
      assert.ok(p.error.includes(`"${text}"`), 'the error quotes the input');
    }
  }
});

/** Offers a cell every `stepMs` from t=0 to t<untilMs and returns the times allowed. */
function run(s: ThrottleSpec, stepMs: number, untilMs: number, start: GcraState | null = null): number[] {
  let state = start;
  const allowed: number[] = [];
  for (let t = 0; t < untilMs; t += stepMs) {
    const d = gcraTake(state, s, t);
    state = d.state;
    if (d.allowed) allowed.push(t);
  }
  return allowed;
}

test('GCRA with burst=1 allows exactly count per period, evenly spaced', () => {
  const s = spec('100/min'); // T = 600 ms
  assert.equal(emissionIntervalMs(s), 600);
  const allowed = run(s, 10, 60_000);
  assert.equal(allowed.length, 100);
  assert.deepEqual(allowed.slice(0, 3), [0, 600, 1200]);
  // Any window of one period holds at most `count`, over several periods.
  const long = run(s, 7, 5 * 60_000);
  for (let i = 0; i + 100 < long.length; i++) assert.ok(long[i + 100]! - long[i]! >= 60_000);
  assert.ok(long.length >= 499 && long.length <= 500, `${long.length}`);
});

test('GCRA with burst=b allows b at once, then the steady rate', () => {
  const s = spec('10/s,burst=4'); // T = 100 ms, τ = 300 ms
  let state: GcraState | null = null;
  for (let i = 0; i < 4; i++) {
    const d = gcraTake(state, s, 0);
    assert.equal(d.allowed, true, `cell ${i + 1} of the burst`);
    state = d.state;
  }
  const refused = gcraTake(state, s, 0);
  assert.equal(refused.allowed, false);
  assert.equal(!refused.allowed && refused.retryAfterMs, 100);
  assert.deepEqual(refused.state, state, 'a refused cell consumes nothing');
  // Retrying at exactly retryAfter conforms.
  const later = gcraTake(state, s, 100);
  assert.equal(later.allowed, true);
  // Over one second from cold: burst − 1 extra over the steady count.
  assert.equal(run(s, 1, 1000).length, 10 + 3);
});

test('GCRA retryAfter is the time until the cell conforms', () => {
  const s = spec('2/min'); // T = 30 s
  const first = gcraTake(null, s, 1_000);
  assert.ok(first.allowed);
  const second = gcraTake(first.state, s, 11_000);
  assert.equal(second.allowed, false);
  assert.equal(!second.allowed && second.retryAfterMs, 20_000);
  assert.equal(gcraTake(first.state, s, 31_000).allowed, true);
  // A long quiet spell does not bank credit beyond the burst.
  const idle = gcraTake(first.state, s, 10 * 60_000);
  assert.ok(idle.allowed);
  assert.equal(gcraTake(idle.state, s, 10 * 60_000).allowed, false);
  // State is plain JSON.
  assert.deepEqual(JSON.parse(JSON.stringify(idle.state)), idle.state);
});

test('gcraWaitMs predicts when the cell after n others conforms', () => {
  const s = spec('10/s,burst=2'); // T = 100, τ = 100
  assert.equal(gcraWaitMs(null, s, 0, 0), 0);
  assert.equal(gcraWaitMs(null, s, 0, 1), 0);
  assert.equal(gcraWaitMs(null, s, 0, 2), 100);
  assert.equal(gcraWaitMs(null, s, 0, 5), 400);
  // Cross-check against taking cells one by one.
  let state: GcraState | null = null;
  let t = 0;
  for (let n = 0; n < 6; n++) {
    let d = gcraTake(state, s, t);
    while (!d.allowed) {
      t += d.retryAfterMs;
      d = gcraTake(state, s, t);
    }
    assert.equal(t, gcraWaitMs(null, s, 0, n), `cell ${n}`);
    state = d.state;
  }
});
