import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IpRouteState } from '../../../core/routing/ip-actor-types.js';
import {
  localSuspensionFor,
  markReported,
  reconcileLocalSuspensions,
  suspendLocally,
  withLocalSuspensions,
} from '../../../core/routing/local-suspensions.js';
import { replyEffects } from '../../../core/routing/reply-effects.js';
import { chooseIp } from '../../../core/routing/routing.js';

const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
// Yahoo's deferral for an IP with a poor reputation, as Yahoo sends it (senders.yahooinc.com).
const TS04 = {
  code: 421,
  enhanced: '4.7.0',
  text: '[TS04] Messages from 192.0.2.10 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes',
};

function route(ip: string, over: Partial<IpRouteState> = {}): IpRouteState {
  return {
    version: 1,
    ip,
    weight: 100,
    paused: null,
    suspended: {},
    caps: null,
    warmupDay: null,
    asOfMs: NOW,
    ...over,
  };
}

const suspendTs04 = (nowMs = NOW) =>
  suspendLocally([], {
    ip: '192.0.2.10',
    provider: 'yahoo',
    ruleId: 'yahoo.ts04',
    durationMs: 2 * HOUR,
    nowMs,
  });

test('a local suspension holds for its IP and provider only, until its expiry; a new refusal extends it', () => {
  const { table, created } = suspendTs04();
  assert.equal(created, true);
  assert.ok(localSuspensionFor(table, '192.0.2.10', 'yahoo', NOW + 2 * HOUR - 1));
  assert.equal(localSuspensionFor(table, '192.0.2.10', 'yahoo', NOW + 2 * HOUR), null, 'bounded by the rule');
  assert.equal(localSuspensionFor(table, '192.0.2.10', 'google', NOW), null, 'other providers unaffected');
  assert.equal(localSuspensionFor(table, '192.0.2.11', 'yahoo', NOW), null, 'other IPs unaffected');
  const again = suspendLocally(table, {
    ip: '192.0.2.10',
    provider: 'yahoo',
    ruleId: 'yahoo.ts04',
    durationMs: 2 * HOUR,
    nowMs: NOW + HOUR,
  });
  assert.equal(again.created, false);
  assert.equal(again.table.length, 1);
  assert.equal(again.table[0]!.untilMs, NOW + 3 * HOUR);
  assert.equal(again.table[0]!.sinceMs, NOW);
});

test("the IP workflow's route state replaces the entry only once the workflow has been told", () => {
  let { table } = suspendTs04();
  const published = (asOfMs: number, suspended: IpRouteState['suspended'] = {}) =>
    new Map([['192.0.2.10', route('192.0.2.10', { asOfMs, suspended })]]);
  // Published before the refusal was reported (another change of the IP): says nothing of it.
  table = reconcileLocalSuspensions(table, published(NOW + 1_000), NOW + 1_000);
  assert.equal(table.length, 1, 'kept: the workflow has not seen the refusal');
  table = markReported(table, '192.0.2.10', 'yahoo', NOW + 2_000);
  table = reconcileLocalSuspensions(table, published(NOW + 1_500), NOW + 2_500);
  assert.equal(table.length, 1, 'a state computed before the report still says nothing');
  // The workflow confirmed (or lifted): its state rules from now on.
  const confirmed = reconcileLocalSuspensions(
    table,
    published(NOW + 2_100, { yahoo: { untilMs: NOW + 2 * HOUR + 2_100, reason: 'yahoo.ts04' } }),
    NOW + 2_500,
  );
  assert.equal(confirmed.length, 0);
  const lifted = reconcileLocalSuspensions(table, published(NOW + 2_100), NOW + 2_500);
  assert.equal(lifted.length, 0, 'a workflow that lifted it wins too');
  assert.equal(reconcileLocalSuspensions(table, new Map(), NOW + 2 * HOUR).length, 0, 'expired');
});

test("a published suspension at least as long replaces the entry, whatever the state's age", () => {
  // The workflow suspended the IP for Yahoo before this node reported its own refusal, and a
  // refusal that changes nothing it routes by publishes nothing new.
  const { table } = suspendTs04(NOW + 1_000);
  const published = (untilMs: number | null) =>
    new Map([
      [
        '192.0.2.10',
        route('192.0.2.10', { asOfMs: NOW, suspended: { yahoo: { untilMs, reason: 'yahoo.ts04' } } }),
      ],
    ]);
  assert.equal(reconcileLocalSuspensions(table, published(NOW + 2 * HOUR + 1_000), NOW + 1_500).length, 0);
  assert.equal(reconcileLocalSuspensions(table, published(null), NOW + 1_500).length, 0, 'until lifted');
  assert.equal(
    reconcileLocalSuspensions(table, published(NOW + HOUR), NOW + 1_500).length,
    1,
    'a shorter one leaves the rest of the entry in force',
  );
});

test('routing on the node sees the local suspension before the IP workflow publishes one', () => {
  const { table } = suspendTs04();
  const candidates = ['192.0.2.10', '192.0.2.11'].map((ip) => ({
    ip,
    route: withLocalSuspensions(route(ip), table, NOW),
    usage: { today: 0, thisHour: 0 },
  }));
  for (let i = 0; i < 20; i++) {
    const c = chooseIp({
      candidates,
      provider: 'yahoo',
      preferredIp: '192.0.2.10',
      nowMs: NOW,
      random: Math.random,
    });
    assert.deepEqual(c, { kind: 'ip', ip: '192.0.2.11', overflow: false });
  }
  const google = chooseIp({
    candidates,
    provider: 'google',
    preferredIp: '192.0.2.10',
    nowMs: NOW,
    random: Math.random,
  });
  assert.deepEqual(google, { kind: 'ip', ip: '192.0.2.10', overflow: false });
  const alone = chooseIp({
    candidates: candidates.slice(0, 1),
    provider: 'yahoo',
    preferredIp: null,
    nowMs: NOW,
    random: Math.random,
  });
  assert.equal(alone.kind, 'wait');
  assert.match(alone.kind === 'wait' ? alone.reason : '', /yahoo\.ts04 \(on this node\)/);
  // A published suspension that lasts longer is kept as published.
  const longer = route('192.0.2.10', { suspended: { yahoo: { untilMs: null, reason: 'operator' } } });
  assert.deepEqual(withLocalSuspensions(longer, table, NOW).suspended.yahoo, {
    untilMs: null,
    reason: 'operator',
  });
});

test("reply effects: what the classifier and the reputation rules say, read for the node's egress", () => {
  assert.deepEqual(replyEffects(TS04, 'rcpt', 'yahoo'), {
    ipScoped: true,
    congested: false,
    suspend: { ruleId: 'yahoo.ts04', durationMs: 2 * HOUR },
  });
  // A listing at an unnamed receiver: another IP may try at once, but "other" rolls up
  // thousands of receivers, so the IP is not suspended for all of them (core/routing/reputation.ts).
  const listed = {
    code: 550,
    enhanced: '5.7.1',
    text: 'Service unavailable; Client host [192.0.2.10] blocked using zen.spamhaus.org',
  };
  assert.deepEqual(replyEffects(listed, 'rcpt', 'other'), {
    ipScoped: true,
    congested: false,
    suspend: null,
  });
  assert.equal(replyEffects(listed, 'rcpt', 'microsoft').suspend?.ruleId, 'generic.ip-blocklisted');
  const busy = {
    code: 421,
    enhanced: '4.7.0',
    text: 'Too many concurrent SMTP connections; try again later',
  };
  assert.deepEqual(replyEffects(busy, 'greeting', 'other'), {
    ipScoped: true,
    congested: true,
    suspend: null,
  });
  const outlook = {
    code: 451,
    enhanced: '4.7.650',
    text: 'The mail server [192.0.2.10] has been temporarily rate limited due to IP reputation.',
  };
  assert.equal(replyEffects(outlook, 'rcpt', 'microsoft').congested, true);
  const oneMailbox = {
    code: 450,
    enhanced: '4.2.1',
    text: 'The user you are trying to contact is receiving mail at a rate that prevents additional messages from being delivered.',
  };
  assert.equal(replyEffects(oneMailbox, 'rcpt', 'google').congested, false, "one recipient's rate, not ours");
  const unknownUser = { code: 550, enhanced: '5.1.1', text: 'user unknown' };
  assert.deepEqual(replyEffects(unknownUser, 'rcpt', 'yahoo'), {
    ipScoped: false,
    congested: false,
    suspend: null,
  });
  const greylisted = { code: 451, enhanced: '4.7.1', text: 'Greylisted, please try again in 300 seconds' };
  assert.equal(replyEffects(greylisted, 'rcpt', 'other').ipScoped, false, 'greylisting wants the same IP');
  assert.deepEqual(
    replyEffects({ code: 250, enhanced: '2.0.0', text: 'ok' }, 'dot', 'yahoo').ipScoped,
    false,
  );
});
