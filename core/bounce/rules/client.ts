import type { ReplyRule } from '../rule.js';

// Generic rules about the sending side: the connecting IP and its names, the sender's
// authentication, the envelope sender, the rate of mail, and relaying. They run before the
// mailbox rules on purpose: servers often attach a recipient status (5.1.1, 5.2.1) to a block,
// and a block must never suppress the recipient (docs/architecture.md, "Bounces and the
// taxonomy").
//
// Each rule is written on meaning (what is refused, and why), not on one server's sentence.
// Sources are the phrase lists of sisimai (github.com/sisimai/p5-sisimai, lib/Sisimai/Reason/
// *.pm, BSD 2-Clause; cited as "sisimai:Reason::X"), KumoMTA's community bounce rules
// (github.com/KumoCorp/kumomta, assets/community/bounces.toml, Apache-2.0; cited as
// "kumomta:<class>"), the RFCs, and the MTAs' own reply texts. Examples are phrases from those
// sources, not messages of the development corpus.

export const CLIENT_RULES: readonly ReplyRule[] = [
  {
    // A spam verdict on the message, said first and followed by advice (Google Groups: "was
    // rejected due to spam classification ... Set up SPF records"): the verdict decides, so
    // this comes before the auth and client rules that the advice would match.
    id: 'generic.spam-verdict',
    sources: ['sisimai:Reason::SpamDetected', 'corpus:rfc3464', 'corpus:rhost-gsuite'],
    match: {
      text: /(?:message|mail|e-?mail)\b[^.;]{0,40}\b(?:rejected|blocked) due to spam/i,
    },
    category: 'spam_content',
    examples: ['550 Message rejected due to spam content; check your SPF record'],
  },
  {
    // Outbound Port 25 Blocking: mail from a consumer connection must go through the ISP's
    // relay. The sending IP is refused, not the message.
    id: 'generic.use-isp-relay',
    sources: ['sisimai:Reason::Blocked'],
    match: { text: /use the smtp server of your ISP|smtp relay (?:server )?of your (?:ISP|provider)/i },
    category: 'ip_blocked',
    examples: ['550 Please use the smtp server of your ISP'],
  },
  {
    // FCrDNS / iprev (RFC 8601 §3; RFC 7372 X.7.25): the client's address has no PTR record, or
    // it does not resolve back. Postfix reject_unknown_client_hostname: "cannot find your
    // hostname"; Sendmail "IP name lookup failed". Before the auth rule: some texts say "PTR
    // records and authentication".
    id: 'generic.ptr-required',
    sources: [
      'RFC 8601 §3',
      'RFC 7372 X.7.25',
      'sisimai:Reason::RequirePTR',
      'Postfix smtpd reject_unknown_client_hostname',
    ],
    match: {
      text: /\bPTR\b|reverse[ -]?(?:DNS|hostname|lookup|dns validation|name)|\brDNS\b|ip name lookup failed|cannot find your (?:reverse )?host ?name|mismatches client ip|unverif(?:y|i)able sending ips?|unresolvable relay host name|forward dns entry does not point to the sending ip/i,
    },
    category: 'ptr_required',
    examples: [
      '550 5.7.25 Reverse DNS validation failed',
      '450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]',
      '550 No PTR record found.',
      '554 Access denied. IP name lookup failed',
      '550 Please get a custom reverse DNS name from your ISP for your host',
    ],
  },
  {
    // The EHLO name the client gave is not a resolvable, fully-qualified host name (Postfix
    // smtpd_helo_restrictions: reject_invalid_helo_hostname, reject_non_fqdn_helo_hostname,
    // reject_unknown_helo_hostname). A set-up fault of the sending IP; sisimai counts it as
    // "blocked". Before the domain rules, which read "Host not found" as a missing domain.
    id: 'generic.helo-rejected',
    sources: ['Postfix smtpd_helo_restrictions', 'qmail-remote', 'sisimai:Reason::Blocked'],
    match: {
      text: /(?:helo|hello|ehlo) command rejected|(?:EHLO|HELO) (?:name |host ?name )?(?:is )?(?:invalid|rejected|not (?:valid|allowed))|invalid (?:EHLO|HELO)/i,
    },
    category: 'ip_blocked',
    examples: [
      '450 4.7.1 <localhost>: Helo command rejected: Host not found',
      '504 5.5.2 <localhost>: Helo command rejected: need fully-qualified hostname',
    ],
  },
  {
    // RFC 3207 STARTTLS; RFC 8461 MTA-STS; RFC 7672 DANE; RFC 8689 REQUIRETLS; RFC 3463 X.7.10
    // and X.7.11: encryption demanded or failed. Before the auth rule ("encryption required
    // for requested authentication mechanism").
    id: 'generic.tls-failure',
    sources: [
      'RFC 3207',
      'RFC 8461',
      'RFC 7672',
      'sisimai:Reason::SecurityError',
      'sisimai:Reason::FailedSTARTTLS',
    ],
    match: {
      text: /STARTTLS|\bTLS\b.{0,30}\b(?:required|failed|failure|not (?:available|supported)|handshake|negotiation)|(?:requires?|must use) (?:encryption|TLS|a secure connection)|encryption (?:is )?(?:required|needed)|MTA-STS|\bDANE\b|tlsa-invalid|dnssec-invalid|certificate[- ](?:host-mismatch|expired|verification failed|verify failed)|does not support TLS/i,
    },
    category: 'tls_failure',
    examples: [
      '530 5.7.0 Must issue a STARTTLS command first',
      '554 5.7.10 Encryption needed',
      'TLS required but not supported',
      'STARTTLS is required to send mail',
    ],
  },
  {
    // SPF (RFC 7208), DKIM (RFC 6376), DMARC (RFC 7489), ARC (RFC 8617); RFC 7372 X.7.20-X.7.26:
    // the sending domain's authentication failed. Also SMTP AUTH demanded (RFC 4954 X.7.0,
    // "authentication required"), which is a set-up fault of the sender, not the recipient.
    id: 'generic.auth-failure',
    sources: [
      'Exim "Incorrect authentication data"',
      'RFC 7208',
      'RFC 6376',
      'RFC 7489',
      'RFC 7372 X.7.20-X.7.26',
      'RFC 4954',
      'sisimai:Reason::AuthFailure',
      'sisimai:Reason::SecurityError',
      'kumomta:AuthenticationFailed',
    ],
    match: {
      text: /\bDMARC|\bSPF\b|\bDKIM\b(?!-Signature)|sender policy framework|\bARC (?:validation|check)|authenticat(?:ion|ed?)\b.{0,30}\b(?:fail|failed|failure|required|invalid|check)|(?:un|not )authenticated (?:e-?mail|mail|sender|user)s?|fails? to pass (?:SPF |DKIM )?authentication|authentication turned on|turn on SMTP Authentication|you don't authenticate|not authorized to send mail, authentication|incorrect authentication data|(?:username|user name) and password not accepted|(?:application-specific )?password (?:required|incorrect|invalid)|log ?in (?:with|through) your web browser|too many login attempts|failed to authenticate|(?:client|you) (?:was|were|are) not authenticated|unrecognized authentication type/i,
    },
    category: 'auth_failure',
    examples: [
      '550 5.7.23 SPF validation failed',
      '550 5.7.1 Email rejected per DMARC policy',
      '550 5.7.26 Multiple authentication checks failed',
      '530 5.7.0 Authentication required',
      '550 Please turn on SMTP Authentication in your mail client',
      '550 Sender Policy Framework (SPF) fail',
    ],
  },
  {
    // RFC 5321 §4.5.3.1.10: too many recipients in one transaction. The rest go in another
    // transaction; nothing to slow down.
    id: 'generic.too-many-recipients',
    sources: ['RFC 5321 §4.5.3.1.10', 'RFC 3463 X.5.3', 'kumomta:TooManyRecipients'],
    match: {
      text: /too many recipients(?! this hour)(?! per)|recipient (?:count|limit) (?:exceeded|reached)/i,
    },
    category: 'rate_limited',
    action: 'retry',
    examples: ['452 4.5.3 Too many recipients', '452 Error: too many recipients'],
  },
  {
    // The receiver asks for less: connections, sessions or messages per unit of time, or errors
    // from this client. sisimai TooManyConn and Speeding; Microsoft "too many connections from
    // your host"; Sendmail daemon.c "too many SMTP sessions for this host"; Postfix anvil
    // "Error: too many connections from"; Amazon SES "Throttling failure".
    id: 'generic.rate-limited',
    sources: [
      'corpus:rhost-microsoft',
      'Exchange Online 5.2.121/5.2.122 (recipient or sender over its receive/submission limit)',
      'sisimai:Reason::TooManyConn',
      'sisimai:Reason::Speeding',
      'Postfix anvil(8)',
      'Sendmail daemon.c',
      'RFC 3463 X.4.5',
    ],
    match: {
      text: /^(?!.*\breputation\b).*?(?:too many (?:connections|concurrent|sessions|smtp sessions|simultaneous|(?:messages|mails|emails) (?:from|sent|in|per|this)|recipients (?:this hour|per))|trop de connexions|rate.?limit|throttl|too (?:fast|quickly|frequent)|(?:try|retry|send) (?:again )?(?:more )?slow(?:er|ly)|slow down|(?:connection|message|sending|receiving|mail) (?:rate|frequency)|at a rate that|(?:maximum|max|per[- ]domain|per[- ]ip|concurrent) (?:connection|session)s? (?:limit|exceeded|count)|(?:connection|session|concurrency) limit|(?:maximum|max) (?:emails|messages|mails) per (?:hour|minute|day)|(?:daily|hourly) (?:sending |message )?(?:quota|limit)|sending (?:quota|limit)|exceeded (?:the )?(?:permitted|allowed|message|sending|its|their) (?:rate|limits?|quota)|exceeded threshold|submission quota|thread limit|receiv(?:e|ing) limits?|numerous attempts to deliver|frequency)/i,
    },
    category: 'rate_limited',
    examples: [
      '421 4.7.0 Too many connections from your host.',
      '421 Too many concurrent SMTP connections',
      '452 4.3.2 Connection rate limit exceeded',
      '454 Throttling failure: Maximum sending rate exceeded.',
      '451 Please try again slower',
      '421 4.7.0 Exceeds per-domain connection limit for example.com',
    ],
  },
  {
    // RFC 5321 §3.6.2: the server is not the destination for this domain and will not relay
    // (Postfix "Relay access denied", Sendmail "Relaying denied", qmail "that domain isn't in my
    // list of allowed rcpthosts"). sisimai NoRelaying; KumoMTA RoutingErrors.
    id: 'generic.relay-denied',
    sources: [
      'RFC 5321 §3.6.2',
      'sisimai:Reason::NoRelaying',
      'kumomta:RoutingErrors',
      'Postfix',
      'Sendmail',
      'qmail-smtpd',
    ],
    match: {
      text: /relay(?:ing)?\b[^.;]{0,20}?\b(?:access )?(?:denied|not (?:permitted|allowed)|prohibited|refused)|(?:unable|not (?:permitted|allowed|configured)) to relay|(?:do not|don't|won't|will not|cannot) relay|isn't allowed to relay|no relaying|as a relay|not an open relay|insecure mail relay|allowed rcpthosts?|not a gateway|not local host|relaying mail to|specified domain is not allowed|we don't handle mail for|requires authentication when attempting to send to a non-local/i,
    },
    category: 'relay_denied',
    examples: [
      '554 5.7.1 <a@example.org>: Relay access denied',
      '550 5.7.1 Relaying denied',
      "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)",
      '550 This system is not configured to relay mail',
    ],
  },
  {
    // The connecting host or its network is refused for what it is or what it sent before: a
    // reputation or abuse verdict, a dynamic/residential range, a refusal of the client before
    // any message was seen. sisimai Blocked and BadReputation; KumoMTA SpamBlock; Sendmail
    // "Rejecting open proxy"; Postfix "refused to talk to me" in the greeting.
    id: 'generic.client-blocked',
    sources: [
      'corpus:rhost-facebook',
      'sisimai:Reason::Blocked',
      'sisimai:Reason::BadReputation',
      'kumomta:SpamBlock',
      'Sendmail srvrsmtp.c',
    ],
    match: {
      text: /\bblock ?list(?:ing)?\b|ivmSIP|^blocked(?:$|\s*-)|\bblocked - see|was blocked by|refused - see|(?<!sender is in my )\bblack ?list\b|banned sending ip|bad (?:sender )?ip\b|bad ip profile|invalid ip for sending|forbidden by your ip|requires confirmation|confirm this mail server|after initial connection|sending mta or the sender has not passed validation|unexpected volume|user complaints|blocked for abuse|(?:client|\bhost\b|sender ip|sending ip|your ip|ip address|\bip\b|network|sending host|remote ?host)(?![=/])(?:[^.;]|\.(?=\w)){0,40}?\b(?:is |are |has been |have been |was )?(?:blocked|banned|blacklisted|block ?listed|refused|rejected|denied|not (?:allowed|accepted|welcome|permitted))\b|(?:blocked|banned|refused|rejected|denied) (?:ip|host|client|network|connection)|\breputation\b|dynamic(?:ally assigned)? ip|(?:dial-?up|residential|dynamic) (?:ip|range|space|pool|host)|zombie|open proxy|not (?:currently )?accepting (?:mail|connections|messages) from (?:your|this) (?:ip|host|server|network)|you are not allowed to connect|refused to talk to me|go away|looks suspiciously like|sending spam|too many (?:spams|unwanted messages)|spam (?:source|sender|ip)|abusive|abus detecte/i,
    },
    category: 'ip_blocked',
    examples: [
      '554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked',
      '550 5.7.1 Connection refused: your IP has a poor reputation',
      '554 Sorry, your remotehost looks suspiciously like spammer',
      '550 We do not accept mail from dynamic IPs',
      '550 Rejecting open proxy',
      '554 Connections from your network are not accepted',
    ],
  },
  {
    // The envelope sender (MAIL FROM) is refused: its syntax or domain (RFC 3463 X.1.7, X.1.8,
    // X.7.27), a failed sender verification callout (Exim "sender verify failed"), a sender on a
    // block list, a list that only members may post to, a null sender refused. sisimai
    // Rejected; KumoMTA InvalidSender.
    id: 'generic.sender-rejected',
    sources: [
      'RFC 3463 X.1.7, X.1.8',
      'RFC 7505 X.7.27',
      'sisimai:Reason::Rejected',
      'Exim sender verification',
      'kumomta:InvalidSender',
    ],
    match: {
      text: /sender domain resolve|has no A, AAAA,? or MX|domain may not exist or dns check failed|sender is (?:a )?spammer|sender is in my black ?list|does not accept mail from|without a valid sender domain|fully qualified (?:e-?mail )?address required|backscatter|bouncedeny|unsigned dsn|empty (?:e-?mail )?address|is not a registered gateway user|rule imposed mailbox access|not subscribed to (?:this|the) (?:group|list)|non-member|mx records for|recursive cname|\bsender\b[^.;]{0,30}?\b(?:address |domain |e-?mail (?:address )?)?(?:is |was |has been )?(?:rejected|denied|refused|invalid|blocked|blacklisted|banned|unknown|not (?:allowed|accepted|permitted|pre-approved|authorized|verified)|must exist|does not exist|not found|is empty|is a spammer)\b|(?:invalid|unknown|bad|bogus|unroutable|unverified|forged|spoofed) (?:envelope )?sender|sender verif(?:y|ication) (?:failed|failure)|domain of sender address|(?:bogus|invalid) mail from|mail from (?:address )?(?:not owned|rejected|refused)|envelope (?:sender|from) (?:domain )?(?:rejected|blocked|invalid|must exist)|(?:empty|null) (?:envelope )?senders? (?:is )?not allowed|not (?:a member|subscribed)|members-only|only members|not allowed to (?:post|send from)|emetteur invalide|email address is not verified|returned mail not accepted|third-party dsns|from: domain is invalid|batv|spoof(?:ed|ing)|(?:your|this) (?:e-?mail )?address (?:has been |is )?(?:blacklisted|blocked)|list of senders|senderfilterconfig/i,
    },
    category: 'sender_rejected',
    examples: [
      '553 5.1.8 Domain of sender address root@example.invalid does not exist',
      '550 Sender verify failed',
      '553 5.1.7 Invalid sender',
      '550 Empty envelope senders not allowed',
      '550 You are not allowed to post to this mailing list',
      '550 Sender not pre-approved',
    ],
  },
  {
    // A bare 421 "try again later" closes the connection (RFC 5321 §3.8): the usual reason is
    // load or throttling at the receiver, so slow down.
    id: 'generic.421-try-later',
    sources: ['RFC 5321 §3.8'],
    match: { code: [421], text: /try (?:again )?later/i },
    category: 'rate_limited',
    examples: ['421 4.7.0 Try again later', '421 Please try again later'],
  },
];
