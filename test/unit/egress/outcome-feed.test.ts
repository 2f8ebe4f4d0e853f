import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import type { OutcomeSummary } from '../../../core/routing/ip-actor-types.js';
import { createOutcomeFeed } from '../../../egress/routing/outcome-feed.js';

const TS04 = { code: 421, enhanced: '4.7.0', text: '[TS04] Messages from 127.0.0.2 temporarily deferred' };

function feed(send: (s: OutcomeSummary) => Promise<void>) {
  const reported: [string, string, number][] = [];
  let t = 1_000;
  const f = createOutcomeFeed({
    send,
    now: () => t++,
    // Far longer than the test: only an early flush or flush() sends anything.
    windowMs: 3_600_000,
    onError: () => {},
    onReported: (ip, provider, atMs) => reported.push([ip, provider, atMs]),
  });
  return { f, reported };
}

test('a reply that suspended the IP on the node leaves at once, even when the window has its notable replies', async () => {
  const sent: OutcomeSummary[] = [];
  const { f, reported } = feed(async (s) => {
    sent.push(s);
  });
  for (let i = 0; i < 8; i++)
    f.record({
      ip: '127.0.0.2',
      provider: 'yahoo',
      verdict: 'deferred',
      reply: { code: 451, enhanced: null, text: `busy ${i}` },
    });
  assert.equal(sent.length, 0, 'ordinary outcomes wait for the window');
  f.record({ ip: '127.0.0.2', provider: 'yahoo', verdict: 'deferred', reply: TS04, suspends: true });
  await delay(20);
  assert.equal(sent.length, 1, 'sent without waiting for the window');
  const yahoo = sent[0]!.byProvider.yahoo!;
  assert.equal(yahoo.deferred, 9);
  assert.equal(yahoo.notable.length, 5);
  assert.ok(
    yahoo.notable.some((n) => n.text === TS04.text),
    'the suspending reply is among the notable ones',
  );
  assert.equal('suspends' in yahoo, false, 'the summary keeps its contract');
  assert.deepEqual(
    reported.map(([ip, provider]) => [ip, provider]),
    [['127.0.0.2', 'yahoo']],
  );
  await f.close();
});

test('a summary that failed to send is not reported, and goes again with the next window', async () => {
  let fail = true;
  const sent: OutcomeSummary[] = [];
  const { f, reported } = feed(async (s) => {
    if (fail) throw new Error('Temporal unavailable');
    sent.push(s);
  });
  f.record({ ip: '127.0.0.2', provider: 'yahoo', verdict: 'deferred', reply: TS04, suspends: true });
  await delay(20);
  assert.deepEqual(reported, []);
  fail = false;
  await f.flush();
  assert.equal(sent.length, 1);
  assert.deepEqual(sent[0]!.byProvider.yahoo!.notable, [TS04]);
  assert.equal(reported.length, 1);
  await f.close();
});
