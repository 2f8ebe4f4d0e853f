import type { ReplyRule } from '../rule.js';

// Listings and greylisting: the first generic rules, in this order, unchanged since the IP
// workflow began reading them. core/routing/reputation.ts names generic.ip-blocklisted and
// generic.geo-blocked, and the IP workflow (workflows/ip.ts) runs that match inside workflow
// code: for a reply in a running workflow's history to reach the same rule on replay, no rule
// may be put before these and their matchers may only stay as they are (docs/reliability.md,
// "Classifier changes and running workflows"). They were tuned on the development corpus, and
// their sources say which families.

export const LISTING_RULES: readonly ReplyRule[] = [
  {
    // RFC 6647 greylisting. Some greylisters answer from a DNSBL-like zone ("grey.rbl"), so
    // this comes before the blocklist rule.
    id: 'generic.greylisted',
    sources: ['RFC 6647', 'tuned on the development corpus'],
    match: {
      code: ['4xx'],
      text: /gr[ae]y-?list|not yet authori[sz]ed to deliver|please retry in \d+ (?:minutes|seconds)/i,
    },
    category: 'greylisted',
    examples: [
      '450 4.2.0 Greylisted, please retry in 5 minutes',
      '421 4.7.1 Service unavailable; Client host [1.2.3.4] blocked using grey.rbl - Rechazo temporal, intentelo mas tarde por favor...Greylisting in action, please try again later',
    ],
  },
  {
    // Spamhaus DBL, URIBL, SURBL list domains found in the message (links), not IPs.
    id: 'generic.content-domain-listed',
    sources: ['https://www.spamhaus.org/dbl/', 'tuned on the development corpus'],
    match: { text: /Spamhaus DBL|dbl\.spamhaus|\buribl\b|\bsurbl\b/i },
    category: 'spam_content',
    examples: [
      '550 5.7.1 Your email was rejected due to having a domain present in the Spamhaus DBL -- see https://www.spamhaus.org/dbl/',
      '554 5.7.1 Service unavailable; Client host [mail.example.com] blocked using multi.uribl.com',
    ],
  },
  {
    // The sender's domain, not the IP, is listed: another IP would not help.
    id: 'generic.sender-domain-listed',
    sources: ['tuned on the development corpus', 'corpus:lhost-exim', 'corpus:lhost-postfix'],
    match: {
      text: /(?:MailFrom|sender) domain is listed|your domain has been blacklisted|domain blocked due to spam|address that has been blacklisted/i,
    },
    category: 'sender_rejected',
    examples: [
      '550 Your domain has been blacklisted',
      '550 Domain blocked due to spam complaints',
      'MXIN506 MailFrom domain is listed in Spamhaus. To request removal from this list see https: //www.spamhaus.org/query/lookup/',
    ],
  },
  {
    // Geographic blocks are policy, not reputation: moving to another of our IPs rarely helps.
    id: 'generic.geo-blocked',
    sources: ['tuned on the development corpus'],
    match: { text: /geographical location|connections from your country|your region is blocked|GeoIP/i },
    category: 'ip_blocked',
    action: 'fail',
    examples: [
      '550 Connections from your country are not allowed',
      '550 Your region is blocked',
      '554 5.7.1 Service unavailable; Client host [1.2.3.4] blocked using ee.countries.nerd.dk; Your IP is in ee, rejected based on geographical location',
    ],
  },
  {
    // DNSBL and IP-reputation listings (Spamhaus, SORBS, Barracuda, SpamCop, Cloudmark, ...).
    id: 'generic.ip-blocklisted',
    sources: [
      'sisimai:Reason::Blocked',
      'kumomta:community/bounces.toml SpamBlock',
      'tuned on the development corpus',
      'corpus:lhost-amazonses',
      'corpus:lhost-exim',
      'corpus:lhost-gmail',
      'corpus:lhost-sendmail',
      'corpus:lhost-v5sendmail',
      'corpus:rhost-godaddy',
    ],
    match: {
      text: /spamhaus|\bsbl\b|\bxbl\b|\bsorbs\b|spamcop|abuseat|uceprotect|hostkarma|junkemailfilter|spamrl\.com|cloudmark|senderscore|mail-abuse\.com|dnsbl|\bRBL\b|real-?time block ?list|blocked using|blocked by ldap|black ?listed|blacklist|(?<!not )listed (?:at|on|in|by) |ip (?:address )?(?:has been |is )?(?:blocked|banned)|mail from ip banned|has a bad reputation|identified as spammer|blocked for spam|sending spam|not allowed to connect|access to submit messages to this e-mail system has been rejected|A problem occurred\. \(Ask your postmaster|which is an open relay/i,
    },
    category: 'ip_blocked',
    examples: [
      '550 11.22.33.44 listed at spamhaus, see http://www.spamhaus.org',
      '550 5.2.1 Mailbox unavailable. Your IP address 11.22.33.44 is blacklisted using SPAMHAUS-XBL. Details: https://www.spamhaus.org/query/ip/11.22.33.44.',
      '454 4.7.1 Service unavailable; Client host [1.2.3.4] blocked using dnsbl.sorbs.net; Currently Sending Spam See: http://www.sorbs.net/lookup.shtml?1.2.3.4',
      '550 IP blocked by zen.spamhaus.org',
      '550 Your IP has been blacklisted',
      '554 5.5.4 Your IP 1.2.3.4 address has a bad reputation. To unblock visit http://cloud-security.net/unblock?{query-string}',
      '553 5.7.1 <hostname[1.2.3.4]>: Client host rejected: Relaying denied - Your IP identified as spammer. Please contact 123',
      '554 IP=11.22.33.44 - A problem occurred. (Ask your postmaster for help or to contact tosa@rx.t-online.de to clarify.) (BL)',
      '550 #5.7.1 Your access to submit messages to this e-mail system has been rejected.',
      '550 5.7.1 Mail from 11.22.33.44 rejected using zen.spamhaus.org. Please see http://www.spamhaus.org/query/bl?ip=11.22.33.44',
      '554 5.7.1 Service unavailable; Client host [11.22.33.44] blocked using sbl-xbl.spamhaus.org; https://www.spamhaus.org/query/ip/11.22.33.44',
      '591 sofia.nascimento@yanabg.com your host [1.2.3.4] is blacklisted by dnsbl.sorbs.net. Currently Sending Spam See: http://www.sorbs.net/lookup.shtml?1.2.3.4. Send your questions to blacklist-admin@mx01.cmailpro.net',
      '554 Connection from 1.2.3.4 rejected for policy reasons. Host found in DNS blacklist at dnsbl.sorbs.net',
    ],
  },
];
