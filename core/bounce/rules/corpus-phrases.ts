import type { ReplyRule } from '../rule.js';

// Wording added after a development-corpus message was misread: each rule names the family it
// came from, so the evaluation (test/eval/eval-bounces.ts) counts none of that family's
// messages as held out for it and drops it when that family is left out. Kept apart from the
// meaning rules so that those stay free of corpus fitting. Public sources are cited where the
// wording is also documented there. Tried after the client rules, before the mailbox rules.

export const CORPUS_PHRASE_RULES: readonly ReplyRule[] = [
  {
    // A sender address on the receiver's block list, a Google Workspace "Send mail as" alias
    // it will not send for, a group the sender may not post to (sisimai Rejected lists the
    // first two).
    id: 'corpus.sender-refused',
    sources: [
      'sisimai:Reason::Rejected',
      'corpus:lhost-exim',
      'corpus:lhost-googlegroups',
      'corpus:lhost-googleworkspace',
    ],
    match: {
      text: /(?:an?|to\/from an) (?:e-?mail )?address that has been (?:blacklisted|blocked|banned)|different address or alias|(?:no|not have|don't have) (?:the )?permission to (?:post|send)/i,
    },
    category: 'sender_rejected',
    examples: [
      '550 You are sending to an address that has been banned',
      '550 You are sending this from a different address or alias',
      '550 You do not have permission to post to this list',
    ],
  },
  {
    // The client refused for what it is: an MX "not accepting connections" (iCloud), "no access
    // from mail server ... which is an open relay".
    id: 'corpus.client-refused',
    sources: ['sisimai:Reason::Blocked', 'corpus:lhost-sendmail', 'corpus:lhost-v5sendmail'],
    match: {
      text: /not accepting connections|no access from mail server|(?:is|as) an open relay/i,
    },
    category: 'ip_blocked',
    examples: [
      '554 mx.example.com ESMTP not accepting connections',
      '550 No access from mail server 192.0.2.1',
    ],
  },
  {
    // Apple iCloud's "inactive email address" for a mailbox that exists but takes no mail.
    id: 'corpus.inactive-address',
    sources: ['https://support.apple.com/en-us/102322', 'corpus:rhost-apple'],
    match: { text: /inactive (?:e-?mail )?address/i },
    category: 'mailbox_disabled',
    examples: ['550 5.2.1 Inactive address'],
  },
  {
    // qmail-remote: "Connected to <ip> but my name was rejected": the EHLO/HELO name refused.
    id: 'corpus.qmail-name-rejected',
    sources: ['qmail-remote.c', 'corpus:lhost-qmail'],
    match: { text: /my name was rejected/i },
    category: 'ip_blocked',
    examples: ['Connected to 192.0.2.1 but my name was rejected.'],
  },
  {
    // Exchange's queue full of its own disk: the system, not a mailbox (RFC 3463 X.3.1).
    id: 'corpus.insufficient-system-resources',
    sources: ['RFC 3463 X.3.1', 'corpus:lhost-mfilter'],
    match: { text: /insufficient system resources/i },
    category: 'remote_error',
    examples: ['452 4.3.1 Insufficient system resources'],
  },
  {
    // Exim: a domain whose MX or SRV says it takes no mail (RFC 7505 null MX).
    id: 'corpus.exim-no-smtp-service',
    sources: ['Exim', 'RFC 7505', 'corpus:lhost-mailru'],
    match: { text: /indicated no SMTP service/i },
    category: 'domain_unknown',
    examples: ['an MX or SRV record indicated no SMTP service'],
  },
  {
    // Yahoo's "This user doesn't have a yahoo.com account" as other systems relay it, and
    // IMail's "Invalid final delivery userid" (sisimai UserUnknown lists the first).
    id: 'corpus.user-has-no-account',
    sources: ['sisimai:Reason::UserUnknown', 'corpus:lhost-x2', 'corpus:lhost-imailserver'],
    match: { text: /user doesn't have an? \S+ account|invalid final delivery userid/i },
    category: 'recipient_unknown',
    examples: ["This user doesn't have a example.com account", 'Invalid final delivery userid'],
  },
  {
    // Postfix check_recipient_access "Access denied" on RCPT (sisimai UserUnknown lists it).
    id: 'corpus.recipient-access-denied',
    sources: ['sisimai:Reason::UserUnknown', 'corpus:lhost-exim'],
    match: { code: ['5xx'], text: /recipient address rejected: access denied/i },
    category: 'recipient_unknown',
    examples: ['554 5.7.1 <a@example.org>: Recipient address rejected: Access denied'],
  },
  {
    // Zoho's relay report of a host it never reached.
    id: 'corpus.host-not-reachable',
    sources: ['corpus:lhost-zoho'],
    match: { text: /host (?:is )?not reachable/i },
    category: 'network_error',
    examples: ['Host not reachable.'],
  },
  {
    // IMail's queue giving up.
    id: 'corpus.failed-attempts',
    sources: ['corpus:lhost-imailserver'],
    match: { text: /delivery failed \d+ attempts/i },
    category: 'expired',
    examples: ['Delivery failed 20 attempts'],
  },
  {
    // fml's loop protection: a Message-ID the list already distributed (a list's own error).
    id: 'corpus.fml-loop-alert',
    sources: ['corpus:lhost-fml'],
    match: { text: /Duplicated Message-ID/i },
    category: 'remote_error',
    examples: ['Loop Alert: Duplicated Message-ID (neko ML)'],
  },
];
