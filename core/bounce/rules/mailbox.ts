import type { ReplyRule } from '../rule.js';

// Generic rules about the recipient: its mailbox (full, disabled, moved, unknown) and its
// domain. Sources as in client.ts: sisimai's reason phrase lists (BSD 2-Clause), KumoMTA's
// community rules (Apache-2.0), RFC 3463 / RFC 5248, and the MTAs' reply texts. Written on
// meaning: a mailbox word near a fullness word, an address word near a not-found word.
//
// Order matters: "full" and "disabled" before "unknown" (qmail prefixes each recipient reply
// with "does not like recipient"), a DNS failure before a missing domain, the domain before
// the mailbox ("the account or domain may not exist" is about the domain, as sisimai reads
// it), and the weak "address rejected" last.

// An address-like subject: what a "not found" is about.
const WHO =
  '(?:user|users|mailbox|mail ?box|recipient|addressee|address|account|alias|e-?mail(?: address)?|person|local ?part|spectator)';

// The weakest address words: "recipient address rejected" with nothing after it, RFC 3463
// X.1.0 "address rejected" (G Suite, Exchange), "recipient rejected/not accepted/denied".
const ADDRESS_REJECTED =
  /(?:recipient )?address rejected\.?(?:\s*\(|$)|recipient (?:is )?(?:not (?:accepted|ok)|rejected\.?$)|recipient\b.{0,20}\bdenied/i;

export const MAILBOX_RULES: readonly ReplyRule[] = [
  {
    // RFC 3463 X.3.1 "mail system full"; RFC 5321 §4.2.3 "452 Requested action not taken:
    // insufficient system storage": the receiving system, not one mailbox. sisimai SystemFull.
    // Before the mailbox rule: such replies often go on about disk space.
    id: 'generic.system-full',
    sources: ['RFC 3463 X.3.1', 'RFC 5321 §4.2.3', 'sisimai:Reason::SystemFull'],
    match: {
      text: /mail system full|insufficient system storage|requested mail action aborted: exceeded storage allocation|system (?:storage|disk) (?:is )?full/i,
    },
    category: 'remote_error',
    examples: [
      '452 4.3.1 Insufficient system storage',
      '452 4.3.1 Mail system full',
      // sisimai SystemFull: RFC 5321's 552 text as MS Exchange sends it.
      '552 Requested mail action aborted: exceeded storage allocation',
    ],
  },
  {
    // RFC 3463 X.2.2 "mailbox full"; quota and storage words near a mailbox or user. sisimai
    // MailboxFull; KumoMTA QuotaIssues; Dovecot "Quota exceeded (mailbox for user is full)",
    // Postfix virtual "maildir over quota", Exchange "mailbox is full".
    id: 'generic.mailbox-full',
    sources: [
      'RFC 3463 X.2.2',
      'sisimai:Reason::MailboxFull',
      'kumomta:QuotaIssues',
      'Dovecot LDA',
      'Postfix virtual(8)',
    ],
    match: {
      text: /(?:enough|sufficient) (?:disk |storage )?space|over (?:the )?(?:allowed )?quota|exceed\w* (?:its |their |the )?(?:mailbox )?quota|exceed maximum allowed storage|mail file size exceeds|(?:mail ?box|mail ?folder|inbox|maildir|account|user|recipient)\b[^.;]{0,40}?\b(?:is |was )?(?:full|over ?(?:the )?(?:allowed )?quota|exceed(?:s|ed|ing)? (?:its |their |the )?(?:quota|storage|disk|size limit|the local limit|limit)|out of (?:storage|space|disk)|has too many messages)|\bfull (?:mail ?box|inbox)|over ?quota|quota (?:exceed|violation|usage|full|limit)|exceed(?:ed|s|ing)? (?:\w+ )?quota|disk ?(?:space|quota)|storage (?:allocation|space|quota|limit)|(?:not enough|insufficient|no) (?:disk |storage )?space (?:left|in|for)|not sufficient disk space|no space left on device|inode limit|blocks limit|too much mail data|space has been used up|boite du destinataire pleine|(?:mail ?box|mail ?folder) (?:size )?limit (?:exceeded|exeeded)/i,
    },
    category: 'mailbox_full',
    examples: [
      '552 5.2.2 Mailbox full',
      '452 4.2.2 Mailbox over quota',
      '552 5.2.2 Quota exceeded (mailbox for user is full)',
      'maildir over quota',
      '552 5.2.2 Mailbox exceeded storage allocation',
      'user has too many messages on the server',
    ],
  },

  {
    // A local delivery program failed (RFC 3463 X.3.0; RFC 3464 diagnostic-type X-Unix):
    // Exim "pipe to |/path", procmail and maildrop, Sendmail "unknown mailer error", Postfix
    // pipe(8) "Command died with status". sisimai MailerError.
    id: 'generic.mailer-error',
    sources: [
      'RFC 3464 §2.3.6',
      'sisimai:Reason::MailerError',
      'Exim pipe transport',
      'Sendmail',
      'Postfix pipe(8)',
    ],
    match: {
      text: /x-unix;|\|\| exit|bin\/maidrop|pipe to \||\bprocmail\b|\bmaildrop\b|bin\/(?:procmail|maildrop)|unknown mailer error|mailer error|command (?:died with status|failed:|output:)|\|\| exit /i,
    },
    category: 'remote_error',
    examples: ['554 5.3.0 unknown mailer error 255', 'Command died with status 75: "/usr/bin/procmail"'],
  },
  {
    // RFC 3463 X.1.6 "destination mailbox has moved"; RFC 7293 X.7.17 / X.7.18 (the mailbox or
    // domain now belongs to someone else). sisimai HasMoved.
    id: 'generic.has-moved',
    sources: ['RFC 3463 X.1.6', 'RFC 7293', 'sisimai:Reason::HasMoved'],
    match: {
      text: /has been replaced by|(?:user|mailbox|recipient|address) has moved|no longer (?:on|at) (?:this )?(?:server|host|site)|(?:mailbox|domain) owner has changed|not our customer|moved (?:permanently|to a new address)/i,
    },
    category: 'has_moved',
    examples: [
      '550 5.1.6 Recipient no longer on server',
      '551 5.7.17 Mailbox owner has changed',
      '550 5.1.6 kijitora@example.org has been replaced by neko@example.org',
    ],
  },
  {
    // RFC 3463 X.2.1 "mailbox disabled" and X.7.13 "user account disabled": the address exists
    // but takes no mail now. sisimai Suspend; KumoMTA InactiveMailbox.
    id: 'generic.mailbox-disabled',
    sources: ['RFC 3463 X.2.1', 'RFC 3463 X.7.13', 'sisimai:Reason::Suspend', 'kumomta:InactiveMailbox'],
    match: {
      text: /(?<!delivery )(?:is currently|has been) suspended|temporary locked|(?:account|mail ?box|user|address|recipient|e-?mail account)\b[^.;]{0,30}?\b(?:is |was |has been |is currently |temporarily )?(?:disabled|deactivated|suspended|inactive|locked|frozen|terminated|closed|archived|discontinued|blocked|not (?:active|activated)|no longer (?:active|accepts mail|accepting mail|in use|valid))|(?:disabled|deactivated|inactive|suspended|closed|archived|expired|frozen) (?:account|mailbox|user|recipient)|temporarily inactive|extended inactivity|recipient suspend|banned recipient|boite du destinataire archivee|user is terminated|DisabledUser/i,
    },
    category: 'mailbox_disabled',
    examples: [
      '550 5.2.1 Mailbox disabled, not accepting messages',
      '525 5.7.13 User account disabled',
      '550 This account has been temporarily suspended',
      '550 Account Closed, Please Remove',
      '550 5.2.1 This mailbox is disabled',
    ],
  },
  {
    // A DNS answer that may change (SERVFAIL, timeout, a malformed reply): the domain may well
    // exist. Before the domain rule, since these texts also say "host not found". Postfix
    // "Host or domain name not found. Name service error ... try again", Sendmail "host name
    // lookup failure". sisimai NetworkError; KumoMTA DNSFailure; RFC 3463 X.4.3.
    id: 'generic.dns-failure',
    sources: [
      'RFC 3463 X.4.3',
      'sisimai:Reason::NetworkError',
      'kumomta:DNSFailure',
      'Postfix',
      'Sendmail',
      'corpus:lhost-dragonfly',
    ],
    match: {
      text: /^(?!.*(?:NXDOMAIN|null MX|\bno mx\b|does not exist))(?!(?!.*try again).*not found).*?(?:host not found, try again|temporar(?:y|ily)[^.;]{0,20}(?:lookup|DNS|resolv)|(?:lookup|DNS|resolver?|name server|nameserver)[^.;]{0,20}(?:fail(?:ed|ure)?|error|timeout|timed out|SERVFAIL)|SERVFAIL|malformed (?:or unexpected )?name server reply|host name lookup failure|no matches to nameserver query|dns records for the destination computer could not be found)/i,
    },
    category: 'dns_failure',
    examples: [
      'Host or domain name not found. Name service error for name=example.com type=MX: Host not found, try again',
      'Deferred: Name server: example.com.: host name lookup failure',
      '451 4.4.3 Temporary DNS lookup failure',
      'malformed or unexpected name server reply',
    ],
  },
  {
    // The recipient's domain cannot take mail: NXDOMAIN, no MX or address (RFC 5321 §5.1), a
    // null MX (RFC 7505), RFC 3463 X.1.2 "bad destination system address", X.1.10, X.4.4
    // "unable to route". Postfix "Host or domain name not found", Exim "Unrouteable address",
    // qmail "Sorry, I couldn't find any host named", Sendmail "Host unknown". sisimai
    // HostUnknown and NotAccept; KumoMTA BadDomain.
    id: 'generic.domain-unknown',
    sources: [
      'corpus:lhost-qmail',
      'RFC 5321 §5.1',
      'RFC 7505',
      'RFC 3463 X.1.2, X.1.10, X.4.4',
      'sisimai:Reason::HostUnknown',
      'sisimai:Reason::NotAccept',
      'kumomta:BadDomain',
      'Postfix',
      'Exim',
      'qmail',
      'Sendmail',
    ],
    match: {
      text: /(?:host|domain)(?: name)?(?: or domain(?: name)?)?\b(?:[^.;:]|\.(?=\w)){0,40}?\b(?:unknown|not found|(?:does not|doesn't|does ?nt) exist|must exist|is not reachable|not resolvable)|(?:unknown|no such|non-?existent|unresolvable) (?:host|domain)\b|invalid (?:host|domain)\b(?! name)|unrout(?:e)?able (?:address|mail domain|domain)|unable to route|name or service not known|NXDOMAIN|null ?MX|\bno mx\b|(?:does not|doesn't|do not) (?:accept|receive) (?:e-?)?mail\b(?! over| from)|not accepting (?:network )?(?:mail|messages)\b(?! from| with)|mail receiving disabled|no route for current request|couldn't find any host|illegal host\/domain|account or domain may not exist|had no relevant answers|single label domain|nowhere to deliver/i,
    },
    category: 'domain_unknown',
    examples: [
      '550 5.1.2 Host unknown (Name server: example.invalid: host not found)',
      'Unrouteable address',
      "Sorry, I couldn't find any host named example.invalid. (#5.1.2)",
      '556 5.1.10 Recipient address has null MX',
      '550 Host does not accept mail',
      '550 5.4.4 Unable to route',
    ],
  },
  {
    // RFC 7504: 521 "host does not accept mail", 556 "domain does not accept mail" (the reply
    // to a null MX, RFC 7505 §4.2); the text varies, the code is specific.
    id: 'rfc7504.does-not-accept-mail',
    sources: ['RFC 7504', 'RFC 7505 §4.2'],
    match: { code: [521, 556] },
    category: 'domain_unknown',
    examples: ['556 5.1.10 Recipient address rejected'],
  },
  {
    // RFC 3463 X.1.1 "bad destination mailbox address", X.1.3 (syntax), X.1.4 (ambiguous):
    // an address word near a not-found word, in any order, and the MTAs' own set phrases
    // (Postfix "User unknown in local recipient table", qmail "no mailbox here by that name",
    // Exchange "RESOLVER.ADR.RecipNotFound", Sendmail "User unknown", Exim "Unrouteable
    // address" is the domain rule's). sisimai UserUnknown; KumoMTA InvalidRecipient.
    id: 'generic.user-unknown',
    sources: [
      'RFC 5321 §4.2.2 (553 mailbox name not allowed)',
      'RFC 3463 X.1.1, X.1.3, X.1.4',
      'sisimai:Reason::UserUnknown',
      'kumomta:InvalidRecipient',
      'Postfix',
      'qmail',
      'Exchange NDR',
    ],
    match: {
      text: new RegExp(
        [
          String.raw`\b${WHO}\b[^.;:]{0,40}?\b(?:is |was )?(?:unknown|not (?:found|known|present|listed|a (?:known|valid|local)|valid|local|recognized|recognised|exist)|(?:does ?n[o']?t|did ?n[o']?t|doesn't|didn't) exist|non-?existent|invalid|unrecogni[sz]ed|is wrong)`,
          String.raw`\b(?:unknown|invalid|no such|non-?existent|nonexistent|bad|unrecogni[sz]ed|unverified) (?:local )?${WHO}`,
          String.raw`\bno (?:mail[ -]?box|account|one|user|such person)\b(?:[^.;]{0,30}(?:here|at this address|by that name|available|found)|\s*$)`,
          'not (?:a valid|an active) (?:user|address|recipient|mailbox)',
          'recip(?:ient)? ?not ?found|recipnotfound|badrcptto|validrcptto|not in (?:the |my )?(?:directory|name directory)|address not present in directory',
          "no such id\\b|undeliverable address|mailbox name not allowed|(?:could not|couldn't|can't|cannot) be found|not a (?:known|valid|local) (?:user|recipient|address|mailbox)|destination addresses were unknown|destination server rejected recipients|no valid recipients|invalid-recipient|userunknown|badrecipientto|invalid or unknown virtual user|missing home directory|mailbox unavaiable|bad destination mailbox|account unavailable|utilisateur inconnu|no existe (?:dicha|ese)|nessun utente|unknown e-?mail address|can't accept user|there is no one at this address",
        ].join('|'),
        'i',
      ),
    },
    category: 'recipient_unknown',
    examples: [
      '550 5.1.1 <a@example.org>: Recipient address rejected: User unknown in local recipient table',
      '550 Sorry, no mailbox here by that name. (#5.1.1)',
      '550 5.1.1 Recipient not found',
      '550 5.1.1 The email account does not exist',
      '550 No such user here',
      '553 5.1.3 Invalid recipient',
      '550 Mailbox does not exist',
    ],
  },
  {
    // RFC 5321 §4.2.2's standard 550 text, "mailbox unavailable", covers "not found, no access,
    // or command rejected for policy reasons": with an addressing status (X.1.x) it is an
    // unknown recipient; without one it is too weak to suppress on (see the next rule).
    id: 'generic.mailbox-unavailable-addressing',
    sources: ['RFC 5321 §4.2.2', 'RFC 3463 X.1.x', 'sisimai:Reason::UserUnknown', 'kumomta:InvalidRecipient'],
    match: { status: ['5.1', '4.1'], text: /mail ?box (?:is )?unava(?:i)?lable|mailbox not available/i },
    category: 'recipient_unknown',
    examples: ['550 5.1.1 Requested action not taken: mailbox unavailable'],
  },
  {
    id: 'generic.mailbox-unavailable',
    sources: ['RFC 5321 §4.2.2', 'sisimai:Reason::UserUnknown', 'kumomta:InvalidRecipient'],
    match: { text: /mail ?box (?:is )?unava(?:i)?lable|mailbox not available/i },
    category: 'recipient_unknown',

    confidence: 'low',
    examples: ['550 Requested action not taken: mailbox unavailable'],
  },
  {
    // The weakest address words with an addressing status (RFC 3463 X.1.x) behind them: an
    // unknown recipient. sisimai UserUnknown lists them.
    id: 'generic.address-rejected-addressing',
    sources: ['RFC 3463 X.1.0', 'sisimai:Reason::UserUnknown', 'kumomta:InvalidRecipient'],
    match: { status: ['5.1', '4.1'], text: ADDRESS_REJECTED },
    category: 'recipient_unknown',
    examples: ['550 5.1.0 Address rejected.', '550 5.1.1 Recipient rejected'],
  },
  {
    // The same words with no addressing status: a refusal of this recipient that does not say
    // the address is bad (a filter answers so too), low confidence, no suppression.
    id: 'generic.address-rejected',
    sources: ['sisimai:Reason::UserUnknown', 'kumomta:InvalidRecipient'],
    match: { text: ADDRESS_REJECTED },
    category: 'recipient_unknown',
    confidence: 'low',
    examples: ['550 Recipient not accepted', '550 Recipient rejected'],
  },
];
