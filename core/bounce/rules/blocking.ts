import type { ReplyRule } from '../rule.js';

// Generic rules for replies about the sender's IP, domain or authentication. They run before
// the addressing rules on purpose: servers often attach a recipient status (5.1.1, 5.2.1) to
// a block, and a block must never suppress the recipient (docs/architecture.md, "Bounces and
// the taxonomy").

export const BLOCKING_RULES: readonly ReplyRule[] = [
  {
    // RFC 6647 greylisting. Some greylisters answer from a DNSBL-like zone ("grey.rbl"), so
    // this comes before the blocklist rule.
    id: 'generic.greylisted',
    sources: ['tuned on the development corpus'],
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
    sources: ['tuned on the development corpus'],
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
  {
    // Mail from a consumer connection must go through that ISP's own relay (Outbound Port 25
    // Blocking, as Japanese ISPs require): the sending IP, not the message, is refused.
    id: 'generic.use-isp-relay',
    sources: ['tuned on the development corpus', 'corpus:lhost-exim'],
    match: { text: /use the smtp server of your ISP/i },
    category: 'ip_blocked',
    examples: ['550 5.7.0 <shironeko@example.jp>... Please use the smtp server of your ISP.'],
  },
  {
    // Postfix's smtpd_helo_restrictions (reject_non_fqdn_helo_hostname,
    // reject_unknown_helo_hostname, reject_invalid_helo_hostname): the EHLO name the sending
    // IP gave is not a resolvable fully-qualified host name. A set-up fault of that IP, not of
    // the recipient: before the addressing rules, which read "Host not found" as a domain.
    id: 'generic.helo-rejected',
    sources: ['tuned on the development corpus'],
    match: { text: /Helo command rejected/i },
    category: 'protocol_error',
    scope: 'ip',
    examples: [
      // Proton's mail7i.protonmail.ch to a client saying "EHLO localhost" (bitwarden/server#164).
      '504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname',
      '450 4.7.1 <mail.example.org>: Helo command rejected: Host not found',
    ],
  },
  {
    // PTR / FCrDNS checks (RFC 8601 iprev; 5.7.25 of RFC 7372). Before the auth rule: some
    // say "IPv6 ... PTR records and authentication".
    id: 'generic.ptr-required',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-exim',
      'corpus:lhost-opensmtpd',
      'corpus:lhost-outlook',
      'corpus:lhost-sendmail',
      'corpus:rhost-outlook',
    ],
    match: {
      text: /\bPTR\b|reverse[ -](?:DNS|hostname|lookup|dns validation)|\brDNS\b|IP name lookup failed|cannot find your (?:reverse )?hostname|mismatches client ip|without a valid sender domain|Reverse DNS (?:failed|required)|unverif(?:y|i)able sending IPs?/i,
    },
    category: 'ptr_required',
    examples: [
      // The client's host name does not resolve back to its address (FCrDNS, RFC 8601 iprev).
      '450 service permits 2 unverifyable sending IPs - neko.example.com is not 203.0.113.222',
      '450 4.7.1 Access denied. IP name lookup failed [192.0.2.222]',
      '550 domain [example.com] mismatches client ip 192.0.2.225.',
      '550 5.7.25 <blocked@libsisimai.net>: Recipient address rejected: Reverse DNS validation failed: See https://libsisimai.org/en/reason/#blocked',
      '571 No PTR Record found. Reverse DNS required: 203.0.113.22',
      '450 4.7.1 Client host rejected: cannot find your reverse hostname',
    ],
  },
  {
    // DMARC (RFC 7489), SPF (RFC 7208), DKIM (RFC 6376) failures: a sending-domain set-up problem.
    id: 'generic.auth-failure',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-dragonfly',
      'corpus:lhost-office365',
      'corpus:lhost-opensmtpd',
      'corpus:lhost-postfix',
      'corpus:rhost-messagelabs',
      'corpus:rhost-tencent',
    ],
    match: {
      text: /\bDMARC\b|\bSPF\b|\bDKIM\b(?!-Signature)|sender policy framework|unauthenticated (?:email|mail|sender)|authentication checks? failed|fails? to pass authentication|sender is unauthenticated|ARC validation|authentication (?:required|data)|failed to authenticate|turn on SMTP Authentication/i,
    },
    category: 'auth_failure',
    examples: [
      '550 5.7.23 SPF validation failed',
      '550 5.7.1 DMARC policy rejection',
      '550 SPF: sender is unauthenticated',
      '550 5.7.26 <authfailure@libsisimai.net>: Recipient address rejected: Multiple authentication checks failed: See https://libsisimai.org/en/reason/#authfailure',
      '550 5.7.1 Email rejected per DMARC policy for example.org',
    ],
  },
  {
    // Hop-count loops (RFC 5321 §6.3) mention "too many hops": before the rate rule. RFC 3463
    // files X.4.6 "Routing loop detected" under network and routing status, hence network_error
    // (Sisimai: networkerror); retrying the same route will loop again, so it is permanent.
    id: 'generic.mail-loop',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-domino',
      'corpus:lhost-sendmail',
      'corpus:lhost-x2',
      'corpus:rfc3464',
    ],
    match: { text: /mail loop|routing loop|hop count exceeded|too many hops|maximum hop count/i },
    category: 'network_error',
    examples: [
      '554 5.4.6 Too many hops',
      '554 mail loop detected',
      'Error transferring to neko22.example.org; Maximum hop count exceeded. Message probably in a routing loop.',
    ],
  },
  {
    // RFC 5321 §4.5.3.1.10: the rest of the recipients go in another transaction. Nothing to throttle.
    id: 'generic.too-many-recipients',
    sources: ['tuned on the development corpus', 'corpus:lhost-postfix', 'corpus:rhost-godaddy'],
    match: { text: /too many recipients(?! this hour)/i },
    category: 'rate_limited',
    action: 'retry',
    examples: ['452 Too many recipients', '552 Too many recipients (in reply to RCPT TO command)'],
  },
  {
    id: 'generic.rate-limited',
    sources: ['tuned on the development corpus', 'corpus:lhost-postfix', 'corpus:rhost-godaddy'],
    match: {
      text: /too many (?:connections|concurrent|sessions|messages|mails|emails)|rate.?limit|throttl|too (?:fast|quickly)|slow down|sent to too many recipients|connection rate|message rate|sending (?:quota|limit)|(?:daily|hourly) (?:sending )?(?:quota|limit)|exceeded (?:permitted|its) limits|receive limit|exceeded their limit|submission quota|daily limit for message recipients|thread limit|tenant has exceeded threshold/i,
    },
    category: 'rate_limited',
    examples: [
      '450 4.7.1 Too many connections from your IP',
      '421 4.7.0 Connection rate limit exceeded',
      '452 4.3.2 Connection rate limit exceeded. (in reply to MAIL FROM command)',
      '550 5.1.1 <kijitora@example.com> - 198.51.100.225 has sent to too many recipients this hour. IB607 <http://x.co/rlbounce>',
    ],
  },
  {
    // A bare 421 "try again later" closes the connection (RFC 5321 §3.8): the usual reason
    // is load or throttling at the receiver, so slow down.
    id: 'generic.421-try-later',
    sources: ['tuned on the development corpus', 'corpus:rfc3464'],
    match: { code: [421], text: /try (?:again )?later/i },
    category: 'rate_limited',
    examples: ['421 4.7.0 Try again later', '421 Please try again later'],
  },
];
