import { citing, type ReplyRule } from '../rule.js';

// Apple iCloud Mail (icloud.com, me.com, mac.com). Apple documents little beyond
// https://support.apple.com/en-us/102322 (formerly HT204137); the bracketed CSxx codes are
// Apple's own and distinctive.
const A = 'apple' as const;

export const APPLE_RULES: readonly ReplyRule[] = citing(
  ['https://support.apple.com/en-us/102322', 'corpus:rhost-apple', 'corpus:lhost-sendmail'],
  [
    {
      // CS01: rejected by Apple's filter for this message (content scanner): the message, not the IP.
      id: 'apple.cs01',
      match: { provider: A, text: /\[CS01\]/i },
      category: 'policy',
      examples: [
        '550 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137',
        '550 5.7.1 [CS01] Message rejected due to local policy.',
      ],
    },
    {
      // CS02 and later: reputation-based rejection of the sending IP.
      id: 'apple.cs02',
      match: { provider: A, text: /\[CS0[2-9]\]/i },
      category: 'ip_blocked',
      examples: ['554 5.7.1 [CS02] Message rejected due to local policy'],
    },
    {
      id: 'apple.excessive-volume',
      match: { provider: A, text: /deferred due to excessive volume/i },
      category: 'rate_limited',
      examples: [
        '421 4.7.1 Messages to example@icloud.com deferred due to excessive volume. Try again later - https://support.apple.com/en-us/HT204137',
      ],
    },
    {
      // iCloud lets users deactivate an address; it may come back, so not "unknown".
      id: 'apple.inactive-address',
      match: { provider: A, text: /inactive email address/i },
      category: 'mailbox_disabled',
      examples: [
        '550 5.1.1 <pseudo-local-part-of-icloud@icloud.com>: inactive email address (in reply to RCPT TO command)',
      ],
    },
    {
      id: 'apple.not-accepting-connections',
      match: { provider: A, text: /me\.com ESMTP not accepting connections|me\.com Error: too many errors/i },
      category: 'ip_blocked',
      examples: [
        '554 st11p00im-smtpin005.me.com ESMTP not accepting connections st11p00im-smtpin005.me.com Error: too many errors',
        '421 4.7.0 me.com Error: too many errors',
      ],
    },
    {
      id: 'apple.user-unknown',
      match: { provider: A, text: /user does not exist/i },
      category: 'recipient_unknown',
      examples: ['550 5.1.1 <example@icloud.com>: user does not exist'],
    },
  ],
);
