import { citing, type ReplyRule } from '../rule.js';

// Proton Mail (proton.me, protonmail.com, pm.me, and custom domains on mail.protonmail.ch /
// mailsec.protonmail.ch). Proton's inbound MX is Postfix with an rspamd milter, so most of its
// replies are Postfix's own words. Lines as Proton sent them: smtp.codes' Proton Mail page
// (https://smtp.codes/protonmail), Postmark's SMTP Field Manual (provider/protonmail/550/5.7.1),
// and bounces quoted in rspamd/rspamd#5098 and forwardemail.net's bounce helpers.
const P = 'proton' as const;

export const PROTON_RULES: readonly ReplyRule[] = citing(
  ['https://smtp.codes/protonmail', 'rspamd/rspamd#5098'],
  [
    {
      // Postfix's refusal of an address Proton does not host (relay_recipient_maps). addy.io
      // sends the very same words for a deleted alias, so the rule is kept to Proton's MX; the
      // generic rules read the words alike elsewhere.
      id: 'proton.address-does-not-exist',
      match: {
        provider: P,
        providerOnly: true,
        code: ['5xx'],
        text: /Recipient address rejected: Address does not exist/i,
      },
      category: 'recipient_unknown',
      examples: [
        '550 5.1.1 <user@proton.me>: Recipient address rejected: Address does not exist',
        '550 5.1.1 Recipient address rejected: Address does not exist',
      ],
    },
    {
      // Proton's rspamd milter refuses the message on its score after DATA: content, a missing
      // DKIM signature, a sender domain on Spamhaus DBL or without history all add to it. The
      // message was refused, not the IP by a listing.
      id: 'proton.rspamd-rejected',
      match: { provider: P, text: /rejected by rspamd filter/i },
      category: 'spam_content',
      examples: ['554 5.7.1 rejected by rspamd filter'],
    },
    {
      id: 'proton.spam-filter',
      match: { provider: P, providerOnly: true, text: /Rejected by spam filter/i },
      category: 'spam_content',
      examples: ['550 5.7.1 Rejected by spam filter'],
    },
  ],
);
