import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import pino from 'pino';
import { createWaveFormer, type WaveFormerOptions } from '../../../api/wave-former.js';
import { DEFAULT_RETRY_SCHEDULE } from '../../../core/delivery/retry-schedule.js';
import type { PendingStart, WaveInput } from '../../../workflows/contract.js';

const pending = (id: string, delayMs = 0): PendingStart => ({
  input: {
    messageId: id,
    recipients: [`${id}@x.test`],
    acceptedAtMs: 0,
    retry: DEFAULT_RETRY_SCHEDULE,
    egressTaskQueue: 'q',
  },
  attributes: { tenant: 't', sendingDomain: 'd.test', messageType: 'transactional' },
  delayMs,
});

/** A former whose wave starts wait until the test releases them. */
function harness(overrides: Partial<WaveFormerOptions> = {}) {
  const waves: WaveInput[] = [];
  const releases: ((err?: unknown) => void)[] = [];
  const direct: string[] = [];
  const former = createWaveFormer({
    maxWave: 50,
    windowMs: 30,
    maxInFlight: 1,
    maxDelivering: 1_000,
    backlogMs: 60_000,
    maxInflowDelayMs: 1_000,
    waves: {
      start: (input) =>
        new Promise<void>((resolve, reject) => {
          waves.push(input);
          releases.push((err) => (err ? reject(err) : resolve()));
        }),
    },
    startMessages: async (p) => {
      direct.push(...p.map((x) => x.input.messageId));
    },
    log: pino({ level: 'silent' }),
    now: Date.now,
    ...overrides,
  });
  return { former, waves, releases, direct };
}

test('an idle former sends a message at once as a wave of one', () => {
  const h = harness();
  h.former.add([pending('a')]);
  assert.deepEqual(
    h.waves.map((w) => w.messageIds),
    [['a']],
  );
});

test('messages that come within the window after a wave gather and leave together', async () => {
  const h = harness({ maxInFlight: 2 });
  h.former.add([pending('a')]);
  h.former.add([pending('b'), pending('c')]);
  h.former.add([pending('d')]);
  h.releases[0]!();
  await delay(0);
  assert.deepEqual(
    h.waves.map((w) => w.messageIds),
    [['a']],
    'not before the window has passed',
  );
  await delay(50);
  assert.deepEqual(
    h.waves.map((w) => w.messageIds),
    [['a'], ['b', 'c', 'd']],
  );
  assert.equal(h.former.idle(), false);
  h.releases[1]!();
  await delay(0);
  assert.equal(h.former.idle(), true);
});

test('a full wave leaves without waiting, and never carries more than maxWave', async () => {
  const h = harness({ maxWave: 3, maxInFlight: 2 });
  h.former.add([pending('a')]);
  h.former.add(['b', 'c', 'd', 'e'].map((id) => pending(id)));
  assert.deepEqual(
    h.waves.map((w) => w.messageIds),
    [['a'], ['b', 'c', 'd']],
  );
  assert.equal(h.former.idle(), false, 'e is still queued');
  h.releases[0]!();
  await delay(50);
  assert.deepEqual(
    h.waves.map((w) => w.messageIds),
    [['a'], ['b', 'c', 'd'], ['e']],
  );
});

test('starts are paced to what the node is delivering', async () => {
  const h = harness({ maxDelivering: 2 });
  h.former.load(2);
  h.former.add([pending('a')]);
  assert.equal(h.waves.length, 0, 'the node is at its limit');
  h.former.load(-2);
  assert.deepEqual(
    h.waves.map((w) => w.messageIds),
    [['a']],
  );
});

test('at the delivering limit, a wave waits for room for half a full wave, not for each freed place', async () => {
  let t = 0;
  const h = harness({ maxDelivering: 100, maxWave: 40, windowMs: 100, now: () => t });
  h.former.load(100);
  h.former.add(Array.from({ length: 60 }, (_, i) => pending(`m${i}`)));
  h.former.load(-1);
  t = 50;
  h.former.load(-5);
  assert.equal(h.waves.length, 0, '6 free places: less than half a wave');
  h.former.load(-14);
  assert.deepEqual(
    h.waves.map((w) => w.messageIds.length),
    [20],
  );
  // A queue shorter than half a wave leaves as soon as all of it fits.
  const short = harness({ maxDelivering: 100, maxWave: 40, windowMs: 100, now: () => t });
  short.former.load(100);
  short.former.add([pending('a'), pending('b'), pending('c')]);
  short.former.load(-2);
  assert.equal(short.waves.length, 0);
  short.former.load(-1);
  assert.deepEqual(
    short.waves.map((w) => w.messageIds),
    [['a', 'b', 'c']],
  );
});

test('a wave waits for room for at most one window: slow deliveries do not stop the queue', async () => {
  const h = harness({ maxDelivering: 100, maxWave: 40, windowMs: 20 });
  h.former.load(100);
  h.former.add(Array.from({ length: 60 }, (_, i) => pending(`m${i}`)));
  h.former.load(-5);
  assert.equal(h.waves.length, 0);
  await delay(60);
  assert.deepEqual(
    h.waves.map((w) => w.messageIds.length),
    [5],
  );
});

/** Asks `former` to admit a request; the function returned tells whether it has been. */
function admission(former: { admit(): Promise<void> }): () => boolean {
  let admitted = false;
  void former.admit().then(() => {
    admitted = true;
  });
  return () => admitted;
}

test('in-flow control: while the oldest waiting message has waited backlogMs in the former, a request waits until the backlog is young again', async () => {
  let t = 0;
  const h = harness({
    maxDelivering: 1,
    maxWave: 2,
    windowMs: 0,
    backlogMs: 2_000,
    maxInflowDelayMs: 60_000,
    now: () => t,
  });
  h.former.load(1);
  h.former.add([pending('a')]);
  t = 1_000;
  const first = admission(h.former);
  await delay(1);
  assert.ok(first(), 'a backlog of 1 s lets requests through at once');
  t = 2_400;
  h.former.add([pending('b')]);
  t = 2_500;
  const second = admission(h.former);
  await delay(5);
  assert.equal(second(), false, 'a 2.5 s old backlog holds the request');
  h.former.load(-1); // 'a' leaves; the oldest left was handed over 100 ms ago
  await delay(1);
  assert.ok(second());
  assert.deepEqual(
    h.waves.map((w) => w.messageIds),
    [['a']],
  );
});

test("in-flow control counts a message's wait from its hand-over: a backlog swept after downtime holds no request at once", async () => {
  let t = 10 * 60_000;
  const h = harness({
    maxDelivering: 1,
    windowMs: 0,
    backlogMs: 60_000,
    maxInflowDelayMs: 60_000,
    now: () => t,
  });
  h.former.load(1);
  // Accepted ten minutes ago (acceptedAtMs 0), handed over by the sweeper now.
  h.former.add([pending('old-1'), pending('old-2')]);
  const now = admission(h.former);
  await delay(1);
  assert.ok(now(), 'just handed over: not a sign of delivery falling behind');
  t += 60_000;
  const later = admission(h.former);
  await delay(5);
  assert.equal(later(), false, 'a minute in the former is');
});

test('in-flow control holds a request for at most maxInflowDelayMs', async () => {
  let t = 0;
  const h = harness({ maxDelivering: 1, windowMs: 0, backlogMs: 1, maxInflowDelayMs: 20, now: () => t });
  h.former.load(1);
  h.former.add([pending('a')]);
  t = 10_000;
  const held = admission(h.former);
  await delay(5);
  assert.equal(held(), false, 'the backlog is old');
  // It stays old; the request goes on all the same after the longest pause.
  await h.former.admit();
});

test('a message handed over again while it is queued or its wave is starting is not queued twice', async () => {
  const h = harness({ maxInFlight: 1, windowMs: 0 });
  h.former.add([pending('a')]);
  h.former.add([pending('b'), pending('c')]);
  // The sweeper finds all three again: 'a' is in a start, 'b' and 'c' are queued.
  h.former.add([pending('a'), pending('b'), pending('c'), pending('d')]);
  h.releases[0]!();
  await delay(5);
  assert.deepEqual(
    h.waves.map((w) => w.messageIds),
    [['a'], ['b', 'c', 'd']],
  );
  h.releases[1]!();
  await delay(5);
  // Started: a later hand-over (the claim has not marked it yet) gets a new wave, whose
  // claim then finds the message taken.
  h.former.add([pending('a')]);
  assert.deepEqual(
    h.waves.map((w) => w.messageIds),
    [['a'], ['b', 'c', 'd'], ['a']],
  );
});

test('a scheduled send, or any send with waves of one, gets its own message workflow', async () => {
  const h = harness();
  const scheduled = pending('scheduled');
  h.former.add([
    pending('later', 60_000),
    { ...scheduled, input: { ...scheduled.input, scheduledAtMs: Date.now() + 60_000 } },
  ]);
  await delay(0);
  assert.deepEqual(h.direct, ['later', 'scheduled']);
  assert.equal(h.waves.length, 0);
  const one = harness({ maxWave: 1 });
  one.former.add([pending('x'), pending('y')]);
  await delay(0);
  assert.deepEqual(one.direct, ['x', 'y']);
  assert.equal(one.waves.length, 0);
});

test('a wave the server refuses for good goes on as message workflows; a transient failure is left to the sweeper', async () => {
  const h = harness();
  h.former.add([pending('a')]);
  h.releases[0]!(Object.assign(new Error('invalid'), { code: 3 }));
  await delay(0);
  await delay(0);
  assert.deepEqual(h.direct, ['a']);
  await delay(50);
  h.former.add([pending('b')]);
  h.releases[1]!(Object.assign(new Error('unavailable'), { code: 14 }));
  await delay(0);
  await delay(0);
  assert.deepEqual(h.direct, ['a'], 'b stays for the start sweeper');
});

test('a wave due at the end of its window leaves then, even while a later wait for room is armed', async () => {
  const windowMs = 400;
  const h = harness({ maxDelivering: 100, maxWave: 40, windowMs, maxInFlight: 2 });
  h.former.add([pending('first')]);
  h.releases[0]!();
  h.former.load(100);
  // Fewer than a full wave: it leaves at the end of the window, not at once.
  h.former.add(Array.from({ length: 30 }, (_, i) => pending(`m${i}`)));
  await delay(windowMs / 2);
  // 5 free places, less than half a wave: the former waits for room, until a window from now.
  h.former.load(-5);
  // Room for half a wave: the wave is now due at the end of the first wave's window, sooner.
  h.former.load(-15);
  assert.equal(h.waves.length, 1, 'the window since the first wave has not passed yet');
  await delay(windowMs * 0.75);
  assert.deepEqual(
    h.waves.map((w) => w.messageIds.length),
    [1, 20],
  );
});
