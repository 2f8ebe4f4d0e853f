import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { classifyReply, RULES } from '../../../core/bounce/classify.js';
import { CORPUS_SOURCE, corpusFamilies, type ReplyRule } from '../../../core/bounce/rule.js';
import { ACTIONS, CATEGORIES, type ReplyInput } from '../../../core/bounce/taxonomy.js';
import { parseSmtpReply } from '../../../core/delivery/smtp-reply.js';

/** An example line as the classifier sees it; lines without a reply code keep code 0. */
function inputOf(example: string, provider: string | null): ReplyInput {
  const reply = parseSmtpReply(example) ?? { code: 0, enhanced: null, text: example };
  return { ...reply, provider };
}

// Table rows of the enhanced-status fallback carry examples only where a real reply reached them.
const needsExample = (r: ReplyRule) => !r.id.startsWith('rfc3463.');

describe('classifier rules', () => {
  it('has unique rule ids', () => {
    const seen = new Set<string>();
    for (const r of RULES) {
      assert.ok(!seen.has(r.id), `duplicate rule id ${r.id}`);
      seen.add(r.id);
    }
  });

  it('uses only taxonomy categories and actions', () => {
    for (const r of RULES) {
      assert.ok((CATEGORIES as readonly string[]).includes(r.category), `${r.id}: ${r.category}`);
      if (r.action !== undefined)
        assert.ok((ACTIONS as readonly string[]).includes(r.action), `${r.id}: ${r.action}`);
    }
  });

  it('cites a public source for every rule but the corpus phrases, and only corpus families that exist', () => {
    const emails = new URL('../../fixtures/corpus/bounces/emails/', import.meta.url);
    const families = new Set(readdirSync(emails).map((f) => f.replace(/(?:-\d+)?\.eml$/, '')));
    for (const r of RULES) {
      assert.ok(r.sources.length > 0, `${r.id} has no sources`);
      assert.ok(
        r.id.startsWith('corpus.') || r.sources.some((s) => !s.startsWith(CORPUS_SOURCE)),
        `${r.id} cites no public source: ${r.sources.join(', ')}`,
      );
      for (const f of corpusFamilies(r.sources)) assert.ok(families.has(f), `${r.id}: no corpus family ${f}`);
    }
  });

  it('gives every text rule at least one real example', () => {
    for (const r of RULES.filter(needsExample)) assert.ok(r.examples.length > 0, `${r.id} has no example`);
  });

  it('classifies every example to its own rule, with and without the provider', () => {
    const misses: string[] = [];
    for (const r of RULES) {
      const providers =
        r.match.provider === undefined ? [null] : [r.match.provider, ...(r.match.providerOnly ? [] : [null])];
      for (const example of r.examples) {
        for (const provider of providers) {
          const got = classifyReply(inputOf(example, provider)).ruleId;
          if (got !== r.id) misses.push(`${r.id} (provider ${provider}) got ${got}: ${example}`);
        }
      }
    }
    assert.deepEqual(misses, []);
  });

  it('never matches a provider rule against another known provider', () => {
    const c = classifyReply(
      inputOf('421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred', 'google'),
    );
    assert.notEqual(c.ruleId, 'yahoo.ts04');
  });
});

describe('classifier invariants', () => {
  const cls = (line: string, provider: string | null = null) => classifyReply(inputOf(line, provider));

  it('treats a 5.1.1 Spamhaus listing as an IP block, not an unknown user', () => {
    const c = cls('550 5.1.1 <a@b.example>: Recipient address rejected: blocked using zen.spamhaus.org');
    assert.equal(c.category, 'ip_blocked');
    assert.equal(c.action, 'suspend_ip');
    assert.equal(c.scope, 'ip');
  });

  it('treats a rate limit sent with 5.1.1 as a rate limit', () => {
    const c = cls(
      '550 5.1.1 <kijitora@example.com> - 198.51.100.225 has sent to too many recipients this hour.',
    );
    assert.equal(c.category, 'rate_limited');
    assert.equal(c.action, 'throttle_ip');
  });

  it('keeps permanence with the reply code: a 4xx mailbox full is transient', () => {
    const c = cls('452 4.2.2 Mailbox quota exceeded');
    assert.deepEqual([c.category, c.permanence, c.action], ['mailbox_full', 'transient', 'retry']);
  });

  it('suppresses only on a permanent unknown user', () => {
    assert.equal(cls('550 5.1.1 <a@b.example>: user unknown').action, 'suppress');
    assert.equal(
      cls('450 4.1.1 <a@b.example>: Recipient address rejected: User unknown in virtual alias table').action,
      'retry',
    );
  });

  it('retries greylisting from the same IP', () => {
    const c = cls('450 4.2.0 Greylisted, please retry in 5 minutes');
    assert.deepEqual([c.category, c.action, c.scope], ['greylisted', 'retry_same_ip', 'recipient']);
  });

  it('suspends the IP on Yahoo TS04 and Microsoft S3150', () => {
    assert.equal(
      cls('421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred', 'yahoo').action,
      'suspend_ip',
    );
    assert.equal(
      cls(
        "550 5.7.1 Unfortunately, messages from [10.0.2.5] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).",
        'microsoft',
      ).action,
      'suspend_ip',
    );
  });

  it('falls back to the reply class: 2xx delivered, 4xx retry, 5xx fail', () => {
    assert.deepEqual(
      [cls('250 OK: message queued').category, cls('250 OK: message queued').action],
      ['delivered', 'none'],
    );
    assert.deepEqual([cls('421').category, cls('421').action], ['unknown', 'retry']);
    assert.deepEqual([cls('550 Rejected').category, cls('550 Rejected').action], ['unknown', 'fail']);
  });

  it('never gives a transient reply a hard-bounce category', () => {
    const hard = new Set(['recipient_unknown', 'domain_unknown', 'has_moved']);
    for (const line of [
      '450 4.1.1 <a@example.org>: Recipient address rejected: User unknown in virtual alias table',
      '450 4.1.2 <a@example.org>: Recipient address rejected: Domain not found',
      '451 4.1.6 Recipient no longer on server',
      '450 Requested action not taken: mailbox unavailable',
    ]) {
      const c = cls(line);
      assert.equal(c.permanence, 'transient', line);
      assert.ok(!hard.has(c.category), `${line} → ${c.category}`);
      assert.equal(c.action, 'retry', line);
    }
    // Permanent, the same words are what they say.
    assert.equal(
      cls('550 5.1.2 <a@example.org>: Recipient address rejected: Domain not found').category,
      'domain_unknown',
    );
  });

  it('keeps a bare "mailbox unavailable" from suppressing unless an addressing status backs it', () => {
    const bare = cls('550 Requested action not taken: mailbox unavailable');
    assert.deepEqual([bare.category, bare.action, bare.confidence], ['recipient_unknown', 'fail', 'low']);
    const backed = cls('550 5.1.1 Requested action not taken: mailbox unavailable');
    assert.deepEqual([backed.category, backed.action], ['recipient_unknown', 'suppress']);
  });

  it('gives a confidence to every answer: high for a provider, low for the class alone', () => {
    assert.equal(
      cls('421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred', 'yahoo').confidence,
      'high',
    );
    assert.equal(cls('550 5.1.1 <a@b.example>: user unknown').confidence, 'medium');
    assert.equal(cls('550 5.7.99 something odd').confidence, 'low');
    assert.equal(cls('550 Rejected').confidence, 'low');
  });

  it('reads the enhanced status from the text when not given', () => {
    const c = classifyReply({ code: 550, enhanced: null, text: '550 5.2.3 something odd' });
    assert.equal(c.ruleId, 'rfc3463.5.2.3');
  });
});
