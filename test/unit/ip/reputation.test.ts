import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSmtpReply } from '../../../core/delivery/smtp-reply.js';
import type { NotableReply } from '../../../core/routing/ip-actor-types.js';
import {
  addToWindow,
  effectFor,
  firingRateRules,
  matchReply,
  REPUTATION_RULES,
  WINDOW_BUCKET_MS,
  WINDOW_BUCKETS,
  WINDOW_MS,
  type WindowBucket,
  windowChangeMs,
  windowTotals,
} from '../../../core/routing/reputation.js';

function reply(line: string): NotableReply {
  const parsed = parseSmtpReply(line);
  assert.ok(parsed, `not a reply line: ${line}`);
  return parsed;
}

test('every rule has real examples, and each example fires that rule', () => {
  const ids = new Set<string>();
  for (const rule of REPUTATION_RULES) {
    assert.ok(!ids.has(rule.id), `duplicate id ${rule.id}`);
    ids.add(rule.id);
    assert.ok(rule.examples.length > 0, `${rule.id} has no example`);
    const providers = rule.provider === null ? ['google', 'microsoft', 'yahoo', 'orange'] : [rule.provider];
    for (const example of rule.examples) {
      for (const provider of providers) {
        assert.equal(
          matchReply(provider, reply(example))?.id,
          rule.id,
          `${rule.id} (${provider}): ${example}`,
        );
      }
    }
  }
});

test('the effects the issue asks for', () => {
  const byId = new Map(REPUTATION_RULES.map((r) => [r.id, r]));
  assert.deepEqual(byId.get('yahoo.ts04')?.effect, { kind: 'suspend', durationMs: 2 * 3_600_000 });
  assert.equal(byId.get('yahoo.ts01-ts02')?.effect.kind, 'throttle');
  assert.equal(byId.get('microsoft.blocklist')?.effect.kind, 'suspend');
  assert.equal(byId.get('microsoft.rate-limited')?.effect.kind, 'throttle');
  assert.equal(byId.get('google.rate-limited')?.effect.kind, 'throttle');
  assert.equal(byId.get('google.ip-blocked')?.effect.kind, 'suspend');
  assert.equal(byId.get('google.likely-unsolicited')?.effect.kind, 'lower_weight');
  assert.equal(byId.get('blocklist.spamhaus')?.effect.kind, 'suspend');
});

test('provider rules read only their provider', () => {
  const tss04 = reply(REPUTATION_RULES.find((r) => r.id === 'yahoo.ts04')!.examples[0]!);
  assert.equal(matchReply('google', tss04), null);
  const s3150 = reply(REPUTATION_RULES.find((r) => r.id === 'microsoft.blocklist')!.examples[0]!);
  assert.equal(matchReply('yahoo', s3150), null);
});

test('real replies that are not about the IP fire nothing', () => {
  const notAboutTheIp = [
    // Gmail 4.7.28 about one message's Message-ID, not the IP's rate.
    '421 4.7.28 Gmail has detected this message exceeded its quota for sending messages with the same Message-ID:. To best protect our users, the message has been tempo- rarily rejected. For more information, go to Why has Gmail blocked my messages?. https://support.google.com/mail/answer/188131',
    // Greylisting service that happens to say "blocked using".
    '421 4.7.1 Service unavailable; Client host [1.2.3.4] blocked using grey.rbl - Rechazo temporal, intentelo mas tarde por favor...Greylisting in action, please try again later',
    // The sender's domain, not the IP.
    '550 Your domain has been blacklisted',
    "550 5.1.1 The email account that you tried to reach does not exist. Please try dou- ble-checking the recipient's email address for typos or unnecessary spaces. For more information, visit https://support.google.com/mail/answer/6596",
    '452 4.2.2 The email account that you tried to reach is over quota. Please direct the recipient to Clear Google Drive space & increase storage.',
  ];
  for (const line of notAboutTheIp) {
    for (const provider of ['google', 'microsoft', 'yahoo', 'other']) {
      assert.equal(matchReply(provider, reply(line)), null, `${provider}: ${line}`);
    }
  }
  // A Spamhaus DBL (domain) listing, text as in the sisimai corpus (which gives no reply code).
  const dbl = {
    code: 550,
    enhanced: null,
    text: 'MXIN506 MailFrom domain is listed in Spamhaus. To request removal from this list see https: //www.spamhaus.org/query/lookup/',
  };
  assert.equal(matchReply('other', dbl), null);
});

test('for "other" (many receivers) a suspension becomes a smaller share', () => {
  const spamhaus = REPUTATION_RULES.find((r) => r.id === 'blocklist.spamhaus')!;
  assert.equal(effectFor(spamhaus, 'yahoo').kind, 'suspend');
  assert.deepEqual(effectFor(spamhaus, 'other'), {
    kind: 'lower_weight',
    durationMs: spamhaus.effect.durationMs,
    weightFactor: 0.25,
  });
});

test('windowed counts: 5 min buckets over the last hour', () => {
  const t0 = 1_700_000_000_000 - (1_700_000_000_000 % WINDOW_BUCKET_MS);
  const one = { delivered: 1, deferred: 0, bounced: 0, complaints: 0 };
  let w: WindowBucket[] = [];
  w = addToWindow(w, one, t0);
  w = addToWindow(w, one, t0 + 1000);
  assert.equal(w.length, 1);
  w = addToWindow(w, { delivered: 0, deferred: 0, bounced: 2, complaints: 1 }, t0 + WINDOW_BUCKET_MS);
  assert.equal(w.length, 2);
  assert.deepEqual(windowTotals(w, t0 + WINDOW_BUCKET_MS), {
    delivered: 2,
    deferred: 0,
    bounced: 2,
    complaints: 1,
  });
  assert.equal(windowChangeMs(w), t0 + WINDOW_MS);
  // An hour later the first bucket has left the window.
  assert.deepEqual(windowTotals(w, t0 + WINDOW_MS), { delivered: 0, deferred: 0, bounced: 2, complaints: 1 });
  for (let i = 0; i < 100; i++) w = addToWindow(w, one, t0 + i * WINDOW_BUCKET_MS);
  assert.equal(w.length, WINDOW_BUCKETS);
});

test('rate rules fire over threshold with enough volume only', () => {
  const ids = (c: Parameters<typeof firingRateRules>[0]) => firingRateRules(c).map((r) => r.id);
  assert.deepEqual(ids({ delivered: 94, deferred: 0, bounced: 6, complaints: 0 }), ['rate.bounce']);
  assert.deepEqual(ids({ delivered: 96, deferred: 0, bounced: 4, complaints: 0 }), []);
  assert.deepEqual(ids({ delivered: 5, deferred: 0, bounced: 5, complaints: 0 }), []);
  assert.deepEqual(ids({ delivered: 2000, deferred: 0, bounced: 0, complaints: 7 }), ['rate.complaint']);
  assert.deepEqual(ids({ delivered: 60, deferred: 40, bounced: 0, complaints: 0 }), ['rate.deferral']);
});
