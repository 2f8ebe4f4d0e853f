import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RULES } from '../../../core/bounce/classify.js';
import { parseSmtpReply } from '../../../core/delivery/smtp-reply.js';
import type { NotableReply } from '../../../core/routing/ip-actor-types.js';
import {
  ACTION_EFFECTS,
  addToWindow,
  effectFor,
  firingRateRules,
  REPUTATION_RULES,
  reputationRuleFor,
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

const classifierRule = (id: string) => RULES.find((r) => r.id === id);

/** The effect a real reply has on the IP with `provider`. */
const effectOf = (provider: string, line: string) => reputationRuleFor(provider, reply(line))?.effect;

test('every rule names a classifier rule, whose real examples fire it', () => {
  const ids = new Set<string>();
  for (const rule of REPUTATION_RULES) {
    assert.ok(!ids.has(rule.ruleId), `duplicate id ${rule.ruleId}`);
    ids.add(rule.ruleId);
    const recognised = classifierRule(rule.ruleId);
    assert.ok(recognised, `${rule.ruleId} is no classifier rule`);
    const examples = recognised.examples.filter((e) => parseSmtpReply(e) !== null);
    assert.ok(examples.length > 0, `${rule.ruleId} has no example`);
    const provider = recognised.match.provider;
    const providers = provider === undefined ? ['google', 'microsoft', 'yahoo', 'orange'] : [provider];
    for (const example of examples) {
      for (const p of providers) {
        assert.equal(
          reputationRuleFor(p, reply(example))?.ruleId,
          rule.ruleId,
          `${rule.ruleId} (${p}): ${example}`,
        );
      }
    }
  }
});

test('the effects the issue asks for', () => {
  const byId = new Map(REPUTATION_RULES.map((r) => [r.ruleId, r]));
  assert.deepEqual(byId.get('yahoo.ts04')?.effect, { kind: 'suspend', durationMs: 2 * 3_600_000 });
  assert.equal(byId.get('yahoo.ts01')?.effect.kind, 'throttle');
  assert.equal(byId.get('yahoo.ts02')?.effect.kind, 'throttle');
  assert.equal(byId.get('microsoft.s3150-network-block')?.effect.kind, 'suspend');
  assert.equal(byId.get('microsoft.4.7.650-reputation-throttle')?.effect.kind, 'throttle');
  assert.equal(byId.get('google.4.7.28-rate')?.effect.kind, 'throttle');
  assert.equal(byId.get('google.5.7.28-spam')?.effect.kind, 'suspend');
  assert.equal(byId.get('google.spam')?.effect.kind, 'lower_weight');
  assert.equal(byId.get('generic.ip-blocklisted')?.effect.kind, 'suspend');
});

test('each real reply keeps the effect it had before the rules were shared', () => {
  const HOUR = 3_600_000;
  const suspend6h = { kind: 'suspend', durationMs: 6 * HOUR };
  const cases: [string, string, object][] = [
    // Yahoo: TS04 and the replies Yahoo says mean the same (KumoMTA pull request #376).
    [
      'yahoo',
      '421 4.7.0 [TSS05] Messages from a.b.c.d temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes',
      { kind: 'suspend', durationMs: 2 * HOUR },
    ],
    [
      'yahoo',
      '421 [IPTS04] Messages from a.b.c.d temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes',
      { kind: 'suspend', durationMs: 2 * HOUR },
    ],
    [
      'yahoo',
      '421 4.7.1 [TS03] All messages from 119.73.222.35 will be permanently deferred; Retrying will NOT succeed. See http://postmaster.yahoo.com/421-ts03.html',
      { kind: 'suspend', durationMs: 4 * HOUR },
    ],
    [
      'yahoo',
      '553 5.7.2 [TSS11] All messages from 192.0.2.25 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes',
      { kind: 'suspend', durationMs: 4 * HOUR },
    ],
    [
      'yahoo',
      '421 4.7.0 [TS02] Messages from 77.92.95.112 temporarily deferred due to user complaints - 4.16.56.1; see http://postmaster.yahoo.com/421-ts02.html',
      { kind: 'throttle', durationMs: HOUR },
    ],
    // A Spamhaus listing is one, whether Yahoo or another receiver says so.
    [
      'yahoo',
      "553 5.7.1 [TSS07] Connections will not be accepted from 11.22.33.44, because the ip is in Spamhaus's list; see https://help.yahoo.com/kb/postmaster/SLN5070.html",
      suspend6h,
    ],
    [
      'google',
      "553 5.7.1 [TSS07] Connections will not be accepted from 11.22.33.44, because the ip is in Spamhaus's list; see https://help.yahoo.com/kb/postmaster/SLN5070.html",
      suspend6h,
    ],
    [
      'yahoo',
      '553 Mail from 11.22.33.44 not allowed - 5.7.1 [BL23] Connections not accepted from IP addresses on Spamhaus XBL; see http://postmaster.yahoo.com/errors/550-bl23.html [550]',
      suspend6h,
    ],
    [
      'microsoft',
      '550 5.7.511 Access denied, banned sender[1.2.3.4]. To request removal from this list please forward this message to delist@messaging.microsoft.com. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653. AS(508) [AM5EUR02FT019.eop-EUR0',
      suspend6h,
    ],
    [
      'microsoft',
      '451 4.7.500 Server busy. Please try again later from [192.0.2.2]. (AS761) (in reply to RCPT TO command))',
      { kind: 'throttle', durationMs: 30 * 60_000 },
    ],
    [
      'google',
      '421 4.7.0 This message is suspicious due to the very low reputation of the sending IP address/domain. To protect our users from spam, mail sent from your IP address has been temporarily rate limited. For more information, go to Why has Gmail blocked my message',
      { kind: 'throttle', durationMs: 2 * HOUR },
    ],
    [
      'google',
      '550 5.7.1 Our system has detected that this message is likely suspicious due to the very low reputation of the sending IP address/domain. To best protect our users from spam, the message has been blocked. Please visit https://support.google.com/mail/answer/188',
      { kind: 'lower_weight', durationMs: 4 * HOUR, weightFactor: 0.25 },
    ],
    [
      'google',
      '550 5.7.1 Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked. For more information, visit https://support.google.com/mail/answer/188131',
      { kind: 'lower_weight', durationMs: 2 * HOUR, weightFactor: 0.5 },
    ],
    [
      'barracuda',
      '554 5.7.1 Service unavailable; Client host [1.2.3.4] blocked using b.barracudacentral.org; http://www.barracudanetworks.com/reputation/?pr=1&ip=45.55.44.239',
      suspend6h,
    ],
    [
      'orange',
      '554 5.7.1 Service unavailable; Client host [1.2.3.4] blocked using ee.countries.nerd.dk; Your IP is in ee, rejected based on geographical location',
      suspend6h,
    ],
  ];
  for (const [provider, line, effect] of cases)
    assert.deepEqual(effectOf(provider, line), effect, `${provider}: ${line}`);
});

test('provider rules read only their provider', () => {
  const tss04 = reply(classifierRule('yahoo.ts04')!.examples[0]!);
  assert.equal(reputationRuleFor('google', tss04), null);
  // "other" rolls up receivers detection does not name: Yahoo's words from one of them say
  // nothing about the IP with Yahoo, and the classifier reads the provider as exact here.
  assert.equal(reputationRuleFor('other', tss04), null);
  const s3150 = reply(classifierRule('microsoft.s3150-network-block')!.examples[0]!);
  assert.equal(reputationRuleFor('yahoo', s3150), null);
});

test('real replies that are not about the IP fire nothing', () => {
  const notAboutTheIp = [
    // Gmail 4.7.28 about one message's Message-ID, not the IP's rate.
    '421 4.7.28 Gmail has detected this message exceeded its quota for sending messages with the same Message-ID:. To best protect our users, the message has been tempo- rarily rejected. For more information, go to Why has Gmail blocked my messages?. https://support.google.com/mail/answer/188131',
    // Greylisting service that happens to say "blocked using".
    '421 4.7.1 Service unavailable; Client host [1.2.3.4] blocked using grey.rbl - Rechazo temporal, intentelo mas tarde por favor...Greylisting in action, please try again later',
    // The sender's domain, not the IP.
    '550 Your domain has been blacklisted',
    // URIBL lists domains found in messages (links), not sending IPs.
    '554 Service unavailable; Client host [mail.example.com] blocked using multi.uribl.com',
    // Gmail blaming the sending domain alone.
    '550 5.7.1 due to the very low reputation of the sending domain',
    "550 5.1.1 The email account that you tried to reach does not exist. Please try dou- ble-checking the recipient's email address for typos or unnecessary spaces. For more information, visit https://support.google.com/mail/answer/6596",
    '452 4.2.2 The email account that you tried to reach is over quota. Please direct the recipient to Clear Google Drive space & increase storage.',
  ];
  for (const line of notAboutTheIp) {
    for (const provider of ['google', 'microsoft', 'yahoo', 'other']) {
      assert.equal(reputationRuleFor(provider, reply(line)), null, `${provider}: ${line}`);
    }
  }
  // A Spamhaus DBL (domain) listing, text as in the sisimai corpus (which gives no reply code).
  const dbl = {
    code: 550,
    enhanced: null,
    text: 'MXIN506 MailFrom domain is listed in Spamhaus. To request removal from this list see https: //www.spamhaus.org/query/lookup/',
  };
  assert.equal(reputationRuleFor('other', dbl), null);
});

test('for "other" (many receivers) a suspension becomes a smaller share', () => {
  const spamhaus = REPUTATION_RULES.find((r) => r.ruleId === 'generic.ip-blocklisted')!;
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

test('a reply no row names acts through the classification action, once the workflow reads it', () => {
  // A refusal of the client that no provider row names: the classifier's action is suspend_ip.
  const refused = reply('554 5.7.1 Connection from your network is not accepted');
  assert.equal(reputationRuleFor('google', refused), null, 'histories recorded before: unchanged');
  const byAction = reputationRuleFor('google', refused, { byAction: true });
  assert.equal(byAction?.ruleId, 'generic.client-blocked');
  assert.deepEqual(byAction?.effect, ACTION_EFFECTS.suspend_ip);
  // A generic rate limit slows the IP down.
  const rate = reputationRuleFor('microsoft', reply('421 4.7.0 Too many connections from your host.'), {
    byAction: true,
  });
  assert.deepEqual(rate?.effect, ACTION_EFFECTS.throttle_ip);
  // A named row keeps its own effect whatever the action says.
  const tss04 = reply(classifierRule('yahoo.ts04')!.examples[0]!);
  assert.equal(reputationRuleFor('yahoo', tss04, { byAction: true })?.ruleId, 'yahoo.ts04');
  // Actions about the recipient or the message leave the IP alone.
  for (const line of [
    '550 5.1.1 <a@example.org>: Recipient address rejected: User unknown in local recipient table',
    '452 4.2.2 Mailbox over quota',
    '450 4.2.0 Greylisted, please retry in 5 minutes',
    '452 4.5.3 Too many recipients',
    '550 5.7.1 Message rejected as spam',
  ]) {
    assert.equal(reputationRuleFor('google', reply(line), { byAction: true }), null, line);
  }
});
