import { citing, type ReplyRule } from '../rule.js';

// Yahoo / AOL (Yahoo Inc.). Codes from https://senders.yahooinc.com/smtp-error-codes/ and the
// older postmaster.yahoo.com pages. The bracketed codes ([TS01], [BL21], [PH01]) are
// distinctive, so the rules also apply when the provider is unknown.
const Y = 'yahoo' as const;

export const YAHOO_RULES: readonly ReplyRule[] = citing(
  [
    'https://senders.yahooinc.com/smtp-error-codes/',
    'corpus:lhost-yahoo',
    'corpus:rhost-yahooinc',
    'corpus:rhost-aol',
  ],
  [
    {
      // TS01/TS02: deferred for complaints or unusual traffic: slow this IP down for Yahoo.
      id: 'yahoo.ts01',
      match: { provider: Y, text: /\[TS01\]/i },
      category: 'rate_limited',
      examples: [
        // A real bounce report quoted in a public repository (throttled replies from Yahoo).
        '421 4.7.0 [TS01] Messages from 67.228.50.54 temporarily deferred due to user complaints - 4.16.55.1; see http://postmaster.yahoo.com/421-ts01.html',
      ],
    },
    {
      id: 'yahoo.ts02',
      match: { provider: Y, text: /\[TS02\]/i },
      category: 'rate_limited',
      examples: [
        '421 4.7.0 [TS02] Messages from x.x.x.x temporarily deferred - 4.16.56.1',
        // A BT (Yahoo-hosted) bounce used as a parser test fixture in a public repository.
        '421 4.7.0 [TS02] Messages from 77.92.95.112 temporarily deferred due to user complaints - 4.16.56.1; see http://postmaster.yahoo.com/421-ts02.html',
      ],
    },
    {
      // TS03: "permanently deferred; Retrying will NOT succeed" — a reputation block on the IP.
      id: 'yahoo.ts03',
      match: { provider: Y, text: /\[TS03\]/i },
      category: 'ip_blocked',
      examples: [
        // Postfix queue listing posted on a public forum (a real deferral).
        '421 4.7.1 [TS03] All messages from 119.73.222.35 will be permanently deferred; Retrying will NOT succeed. See http://postmaster.yahoo.com/421-ts03.html',
      ],
    },
    {
      // TS04, written TSS04 since Yahoo's 2020 code list: deferred for volume or complaints.
      // TSS05, IPTS04 and IPTS05 say the same: KumoMTA's shaping rules suspend on `\[TS?S04\]`
      // ("provided by Yahoo! directly"), and Yahoo confirmed that all four "should all be treated
      // similarly" (KumoMTA pull request #376, https://github.com/KumoCorp/kumomta/pull/376).
      // Suspend the IP for Yahoo; the IP workflow picks the duration (docs/architecture.md,
      // "The routing wing").
      id: 'yahoo.ts04',
      match: { provider: Y, text: /\[(?:TSS?04|TSS05|IPTS0[45])\]/i },
      category: 'ip_blocked',
      sources: [
        'https://github.com/KumoCorp/kumomta/pull/376',
        'https://senders.yahooinc.com/smtp-error-codes/',
      ],
      examples: [
        '421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes (in reply to MAIL FROM command))',
        // tutao/tutanota issue #7113, a real bounce.
        '421 4.7.0 [TSS04] Messages from 185.205.69.214 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes',
        // KumoMTA pull request #376, replies seen by the contributor.
        '421 4.7.0 [TSS05] Messages from a.b.c.d temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes',
        '421 [IPTS04] Messages from a.b.c.d temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes',
      ],
    },
    {
      // BL21/BL23, and TSS07 in Yahoo's newer codes: the IP is on a Spamhaus list Yahoo uses.
      // Before the other TSS codes: a listing is lifted by Spamhaus, not by waiting.
      id: 'yahoo.bl21-spamhaus',
      match: { provider: Y, text: /\[(?:BL2\d|TSS07)\]/i },
      category: 'ip_blocked',
      examples: [
        "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.25, because the ip is in Spamhaus's list; see http://postmaster.yahoo.com/550-bl23.html",
        '553 5.7.1 [BL23] Connections not accepted from IP addresses on Spamhaus XBL; see http://postmaster.yahoo.com/errors/550-bl23.html [550]",',
        '553 Mail from 11.22.33.44 not allowed - 5.7.1 [BL23] Connections not accepted from IP addresses on Spamhaus XBL; see http://postmaster.yahoo.com/errors/550-bl23.html [550]',
        "553 5.7.1 [TSS07] Connections will not be accepted from 11.22.33.44, because the ip is in Spamhaus's list; see https://help.yahoo.com/kb/postmaster/SLN5070.html",
      ],
    },
    {
      // TSS09/TSS11: all mail from the IP permanently refused.
      id: 'yahoo.tss-permanent',
      match: { provider: Y, text: /\[TSS\d\d\]|will be permanently deferred/i },
      category: 'ip_blocked',
      examples: [
        '553 5.7.2 [TSS09] All messages from 192.0.2.25 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes',
        '553 5.7.2 [TSS11] All messages from 192.0.2.25 will be permanently deferred; Retrying will NOT succeed. See https://postmaster.yahooinc.com/error-codes',
      ],
    },
    {
      id: 'yahoo.ph01-policy',
      match: { provider: Y, text: /\[PH01\]|Message not accepted for policy reasons/i },
      category: 'policy',
      examples: [
        '554 Message not allowed - [PH01] Email not accepted for policy reasons. Please visit https://postmaster.yahooinc.com/error-codes',
        '554 5.7.9 Message not accepted for policy reasons. See https://postmaster.yahooinc.com/error-codes',
      ],
    },
    {
      id: 'yahoo.unauthenticated',
      match: { provider: Y, text: /Yahoo requires all senders to authenticate/i },
      category: 'auth_failure',
      examples: [
        '550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders to authenticate with either SPF or DKIM.',
      ],
    },
    {
      id: 'yahoo.unresolvable-from-domain',
      match: { provider: Y, text: /unresolvable RFC\.?5321 from domain/i },
      category: 'sender_rejected',
      examples: [
        '451 Message temporarily deferred due to unresolvable RFC.5321 from domain. See https://senders.yahooinc.com/error-codes#unresolvable-from-domain',
      ],
    },
    {
      // Yahoo's own reply after DATA ("554 delivery error: dd …"): it accepts every RCPT TO and
      // refuses unknown mailboxes only here. The same words without Yahoo's reply code, in a
      // report of another layout, are read by the generic rules.
      id: 'yahoo.user-unknown',
      match: {
        provider: Y,
        code: [554],
        text: /user doesn't have an? \S+ account|Not a valid recipient - atlas/i,
      },
      category: 'recipient_unknown',
      examples: [
        "554 delivery error: dd This user doesn't have a yahoo.com account (***@yahoo.com)",
        '554 delivery error: dd Not a valid recipient - atlas315.free.mail.ne1.yahoo.com',
      ],
    },
    {
      id: 'yahoo.mailbox-disabled',
      match: {
        provider: Y,
        text: /dd \S+ is no longer valid|This mailbox is disabled \(554\.30\)|delivery error: dd Sorry your message to \S+ cannot be delivered\. This account has been disabled/i,
      },
      category: 'mailbox_disabled',
      examples: [
        '554 delivery error: dd ****@yahoo.com is no longer valid.',
        '554 30 Sorry, your message to *****@aol.jp cannot be delivered. This mailbox is disabled (554.30)',
        '554 delivery error: dd Sorry your message to kijitora@example.co.jp cannot be delivered. This account has been disabled or discontinued [#102]. - mta222.mail.example.co.jp',
      ],
    },
    {
      id: 'yahoo.receiving-too-quickly',
      match: { provider: Y, code: [450], text: /User is receiving mail too quickly/i },
      category: 'rate_limited',
      scope: 'recipient',
      action: 'retry',
      examples: ['450 User is receiving mail too quickly'],
    },
    {
      // The connection's message budget is spent: reconnect and go on; not a throttle.
      id: 'yahoo.max-per-connection',
      match: { provider: Y, text: /Max message per connection reached/i },
      category: 'rate_limited',
      action: 'retry',
      examples: ['421 Max message per connection reached, closing transmission channel'],
    },
  ],
);
