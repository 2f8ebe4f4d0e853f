import { citing, type ReplyRule } from '../rule.js';

// Comcast (Xfinity). Block codes are listed on http://postmaster.comcast.net/mail-error-codes.html
// (BLxxxxxx = blocklists, DMxxxxxx = DMARC, RLxxxxxx = rate limits, ES = dynamic space).
const C = 'comcast' as const;

export const COMCAST_RULES: readonly ReplyRule[] = citing(
  ['http://postmaster.comcast.net/mail-error-codes.html', 'corpus:lhost-exim'],
  [
    {
      id: 'comcast.ptr-required',
      match: { provider: C, text: /Comcast requires that all mail servers must have a PTR record/i },
      category: 'ptr_required',
      examples: [
        '554 mta1.comcast.net comcast 203.0.113.2 Comcast requires that all mail servers must have a PTR record with a valid Reverse DNS entry. Currently your mail server does not fill that requirement. For more information, refer to: http://postmaster.comcast.net/smtp-error-codes.php#554',
      ],
    },
    {
      id: 'comcast.bl-blocklist',
      match: { provider: C, text: /Comcast block for spam|smtp-error-codes\.php#BL\d+|#ES0000(?:01|10)\b/i },
      category: 'ip_blocked',
      examples: [
        '554 imta14.emeryville.ca.mail.comcast.net comcast 192.254.113.140 Comcast block for spam.  Please see http://postmaster.comcast.net/smtp-error-codes.php#BL000000',
        '452 resimta-po-24v.sys.comcast.net comcast 54.164.255.241 found on one or more DNSBLs, see http://postmaster.comcast.net/smtp-error-codes.php#BL000010',
      ],
    },
    {
      id: 'comcast.dm-dmarc',
      match: { provider: C, text: /smtp-error-codes\.php#DM\d+|Message rejected due to DMARC/i },
      category: 'auth_failure',
      examples: [
        '550 5.2.0 54Qa1t0144ZKE95014QaMR Message rejected due to DMARC. Please see http://postmaster.comcast.net/smtp-error-codes.php#DM000001',
      ],
    },
  ],
);
