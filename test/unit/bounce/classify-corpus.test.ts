import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { classifyReply } from '../../../core/bounce/classify.js';
import type { Category } from '../../../core/bounce/taxonomy.js';

// The development corpus of real SMTP replies (test/fixtures/corpus/README.md: sources and licences).
const CORPUS = new URL('../../fixtures/corpus/smtp-replies.jsonl', import.meta.url);

interface Row {
  code: string | null;
  enhanced: string | null;
  text: string;
  provider: string | null;
  source: string;
  source_label: string;
}

/** Each source's label, mapped to the categories of ours that agree with it. */
const AGREES: Readonly<Record<string, readonly Category[]>> = {
  // sisimai reasons (https://libsisimai.org/en/reason/)
  userunknown: ['recipient_unknown'],
  filtered: ['recipient_unknown', 'policy', 'content_rejected', 'spam_content'],
  mailboxfull: ['mailbox_full'],
  expired: ['expired', 'network_error'],
  rejected: ['sender_rejected', 'policy', 'ip_blocked', 'auth_failure', 'spam_content'],
  blocked: ['ip_blocked', 'ptr_required', 'rate_limited', 'policy'],
  hostunknown: ['domain_unknown'],
  networkerror: ['network_error', 'dns_failure', 'domain_unknown', 'remote_error'],
  authfailure: ['auth_failure', 'tls_failure'],
  suspend: ['mailbox_disabled'],
  policyviolation: ['policy', 'content_rejected', 'spam_content'],
  requireptr: ['ptr_required'],
  systemerror: ['remote_error', 'protocol_error', 'network_error'],
  spamdetected: ['spam_content'],
  securityerror: ['tls_failure', 'auth_failure', 'relay_denied', 'protocol_error', 'sender_rejected'],
  syntaxerror: ['protocol_error', 'tls_failure'],
  speeding: ['rate_limited'],
  norelaying: ['relay_denied'],
  notcompliantrfc: ['content_rejected', 'protocol_error', 'sender_rejected'],
  toomanyconn: ['rate_limited'],
  badreputation: ['ip_blocked', 'rate_limited'],
  exceedlimit: ['message_too_large'],
  mesgtoobig: ['message_too_large'],
  contenterror: ['content_rejected'],
  notaccept: ['domain_unknown', 'remote_error'],
  onhold: ['on_hold', 'unknown', 'remote_error'],
  mailererror: ['remote_error'],
  hasmoved: ['has_moved'],
  systemfull: ['remote_error'],
  virusdetected: ['virus_detected', 'spam_content', 'content_rejected'],
  failedstarttls: ['tls_failure'],
  // ZoneMTA bounce rules
  blacklist: ['ip_blocked'],
  spam: ['spam_content'],
  greylist: ['greylisted'],
  recipient: ['recipient_unknown', 'relay_denied'],
  capacity: ['rate_limited', 'mailbox_full'],
  other: ['unknown', 'rate_limited', 'recipient_unknown', 'policy'],
  // postalsys bounce-classifier
  user_unknown: ['recipient_unknown'],
  mailbox_full: ['mailbox_full'],
  greylisting: ['greylisted'],
  rate_limited: ['rate_limited'],
  ip_blacklisted: ['ip_blocked'],
  auth_failure: ['auth_failure'],
  policy_blocked: ['policy'],
  server_error: ['remote_error'],
  spam_blocked: ['spam_content'],
  invalid_address: ['recipient_unknown', 'protocol_error', 'domain_unknown'],
  relay_denied: ['relay_denied'],
  domain_blacklisted: ['sender_rejected'],
  mailbox_disabled: ['mailbox_disabled'],
  virus_detected: ['virus_detected'],
  geo_blocked: ['ip_blocked'],
  // KumoMTA classifications
  QuotaIssues: ['mailbox_full'],
  InactiveMailbox: ['mailbox_disabled'],
  InvalidRecipient: ['recipient_unknown', 'has_moved'],
  BadDomain: ['domain_unknown', 'has_moved'],
  // Haraka local failures: bounce (permanent) / temp_fail
  bounce: ['domain_unknown', 'protocol_error', 'remote_error'],
  temp_fail: ['dns_failure', 'network_error', 'tls_failure'],
};

/**
 * Labels whose replies must never suppress a recipient (docs/architecture.md, "Bounces and the
 * taxonomy").
 */
const NOT_THE_RECIPIENT = new Set([
  'blacklist',
  'blocked',
  'ip_blacklisted',
  'badreputation',
  'speeding',
  'toomanyconn',
  'rate_limited',
  'policyviolation',
  'policy_blocked',
  'authfailure',
  'auth_failure',
  'requireptr',
  'spamdetected',
  'spam_blocked',
  'geo_blocked',
  'norelaying',
  'relay_denied',
  'greylist',
  'greylisting',
]);
const HARD_BOUNCE: ReadonlySet<Category> = new Set([
  'recipient_unknown',
  'mailbox_disabled',
  'domain_unknown',
  'has_moved',
]);

// "host x said: 550 5.1.1 ..." (DSN diagnostic codes): the first reply code in the text.
const CODE_IN_TEXT = /(?<![\w.#/:-])([245]\d\d)(?=[ -]|$)/;

/** The corpus row as a classifier input; fragments without a code get one from their status class. */
function inputOf(r: Row) {
  let code = r.code === null ? Number.NaN : Number(r.code);
  if (Number.isNaN(code)) code = Number(CODE_IN_TEXT.exec(r.text)?.[1] ?? Number.NaN);
  if (Number.isNaN(code) && r.enhanced !== null) code = Number(r.enhanced[0]) * 100 + 50;
  return {
    code: Number.isNaN(code) ? 0 : code,
    enhanced: r.enhanced,
    text: r.text,
    provider: providerOf(r.provider),
  };
}

/** Corpus provider names → our provider ids; "lhost:" names the reporting MTA, not the receiver. */
function providerOf(p: string | null): string | null {
  if (p === null || p.startsWith('lhost:')) return null;
  const name = p.toLowerCase();
  const ids: ReadonlyArray<readonly [RegExp, string]> = [
    [/google|gsuite|gmail/, 'google'],
    [/microsoft|outlook|hotmail/, 'microsoft'],
    [/yahoo|aol/, 'yahoo'],
    [/apple/, 'apple'],
    [/mimecast/, 'mimecast'],
    [/^orange$/, 'orange'],
    [/zoho/, 'zoho'],
  ];
  return ids.find(([re]) => re.test(name))?.[1] ?? null;
}

const all: Row[] = readFileSync(CORPUS, 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Row);

describe('classifier on the reply corpus', () => {
  const results = all.map((r) => ({ row: r, c: classifyReply(inputOf(r)) }));
  const labelsOf = (r: Row) => r.source_label.split('|');
  const agrees = (r: Row, category: Category) =>
    labelsOf(r).some((l) => AGREES[l]?.includes(category) ?? false);

  it('knows every source label', () => {
    const unknown = [...new Set(all.flatMap(labelsOf))].filter((l) => AGREES[l] === undefined);
    assert.deepEqual(unknown, []);
  });

  it('never makes a block, rate limit, policy or auth failure a hard bounce', () => {
    const wrong = results
      .filter(
        ({ row, c }) => labelsOf(row).every((l) => NOT_THE_RECIPIENT.has(l)) && HARD_BOUNCE.has(c.category),
      )
      .map(({ row, c }) => `${row.source_label} → ${c.category} (${c.ruleId}): ${row.text.slice(0, 120)}`);
    assert.deepEqual(wrong, []);
  });

  it('classifies greylisting as greylisted', () => {
    const wrong = results.filter(
      ({ row, c }) => row.source_label === 'greylist' && c.category !== 'greylisted',
    );
    assert.deepEqual(
      wrong.map(({ row }) => row.text),
      [],
    );
  });

  it('keeps block-list replies on the IP', () => {
    const wrong = results.filter(
      ({ row, c }) => ['blacklist', 'ip_blacklisted'].includes(row.source_label) && c.scope !== 'ip',
    );
    // ZoneMTA files a few odd lines under "blacklist" (e.g. "500 5.7.1 Symantec Zodiac").
    assert.ok(wrong.length <= 3, wrong.map(({ row, c }) => `${c.ruleId}: ${row.text}`).join('\n'));
  });

  it('agrees with the source labels often enough', () => {
    const table = new Map<string, { n: number; ok: number }>();
    let ok = 0;
    for (const { row, c } of results) {
      const key = `${row.source}:${row.source_label}`;
      const t = table.get(key) ?? { n: 0, ok: 0 };
      t.n++;
      if (agrees(row, c.category)) {
        t.ok++;
        ok++;
      }
      table.set(key, t);
    }
    const lines = [...table.entries()]
      .sort((a, b) => b[1].n - a[1].n)
      .map(
        ([k, t]) =>
          `${k.padEnd(44)} ${String(t.ok).padStart(4)}/${String(t.n).padEnd(4)} ${((100 * t.ok) / t.n).toFixed(0).padStart(3)}%`,
      );
    const overall = ok / all.length;
    console.log(
      `reply corpus agreement by source:label\n${lines.join('\n')}\noverall ${ok}/${all.length} = ${(100 * overall).toFixed(1)}%`,
    );
    assert.ok(overall >= 0.88, `overall agreement ${(100 * overall).toFixed(1)}% under the 88% floor`);
  });
});
