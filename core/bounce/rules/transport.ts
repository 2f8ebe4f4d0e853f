import type { ReplyRule } from '../rule.js';

// Generic rules about the message itself, the transport (TLS, protocol, network) and the
// remote system. They come after the blocking and addressing rules.

export const TRANSPORT_RULES: readonly ReplyRule[] = [
  {
    // RFC 3207 STARTTLS, RFC 8461 MTA-STS, RFC 7672 DANE: TLS demanded or failed.
    id: 'generic.tls-failure',
    sources: ['tuned on the development corpus', 'corpus:lhost-gmail'],
    match: {
      text: /STARTTLS|TLS (?:is )?required|requires? (?:encryption|TLS)|TLS (?:handshake|negotiation) failed|MTA-STS|\bDANE\b|tlsa-invalid|dnssec-invalid|certificate-(?:host-mismatch|expired)|no TLS available|does not support TLS/i,
    },
    category: 'tls_failure',
    examples: [
      '530 5.7.0 Must issue a STARTTLS command first. For more information, go to About SMTP error messages and review RFC 3207 specifications.',
      'No TLS available but required by configuration.',
      '500 Remote server does not support TLS (state 6).',
    ],
  },
  {
    // RFC 1870 SIZE; x.2.3 and x.3.4 of RFC 3463.
    id: 'generic.message-too-large',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-dragonfly',
      'corpus:lhost-exchange2007',
      'corpus:lhost-exim',
      'corpus:lhost-receivingses',
      'corpus:lhost-sendmail',
    ],
    match: {
      text: /message (?:size )?(?:too (?:large|big)|exceeds)|size exceeds|message length exceeds|exceeds (?:the )?(?:fixed )?maximum (?:message )?size|maximum (?:email|message) size exceeded|RecipSizeLimit|line limit exceeded/i,
    },
    category: 'message_too_large',
    examples: [
      '552 5.3.4 Message too large',
      '552 5.2.3 Message length exceeds limit set by recipient',
      '552 5.2.3 Message size exceeds fixed maximum message size (10485760)',
      '554 maximum email size exceeded',
    ],
  },
  {
    id: 'generic.virus',
    sources: ['tuned on the development corpus', 'corpus:lhost-dragonfly'],
    match: { text: /virus|malware|infected|trojan/i },
    category: 'virus_detected',
    examples: ['550 5.7.0 Virus detected in message', '550 Malware found in attachment'],
  },
  {
    id: 'generic.spam-content',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-amavis',
      'corpus:lhost-barracuda',
      'corpus:lhost-dragonfly',
      'corpus:lhost-exim',
      'corpus:lhost-receivingses',
      'corpus:rfc3464',
    ],
    match: {
      text: /\bspam\b|\bUBE\b|unsolicited|message content rejected|content (?:filter|rejected)|quarantined/i,
    },
    category: 'spam_content',
    examples: [
      '550 Message rejected as spam',
      '571 Message refused, spam detected',
      '550 5.7.1 Message content rejected, UBE, id=22220-02-222',
      '500 5.6.1 Message content rejected',
      '554 5.7.0 Reject, id=20025-09 - SPAM',
    ],
  },
  {
    id: 'generic.header-content',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-gmail',
      'corpus:lhost-postfix',
      'corpus:lhost-sendmail',
    ],
    match: {
      text: /duplicate header|header error|headers? too (?:large|long)|invalid characters|malformed (?:message|header)/i,
    },
    category: 'content_rejected',
    examples: [
      "554 Transaction failed: Duplicate header 'DKIM-Signature'.",
      '554 5.7.9 Header error',
      '552 5.6.0 Headers too large (3 max)',
    ],
  },
  {
    // A mailing list manager refusing a post from a non-member (fml, Mailman, Google Groups):
    // the list exists; this sender may not post to it.
    id: 'generic.list-non-member',
    sources: ['tuned on the development corpus', 'corpus:lhost-fml'],
    match: { text: /not a member of this (?:mailing )?list|NOT MEMBER article from|are not member\b/i },
    category: 'sender_rejected',
    examples: [
      'You sironeko@neko.example.org are not member (neko-nyaan ML) You are not a member of this mailing list <neko-nyaan@example.org>.',
    ],
  },
  {
    // fml's loop protection (a Message-ID it has already distributed): the list software's own
    // error, Sisimai "systemerror".
    id: 'generic.list-loop-alert',
    sources: ['tuned on the development corpus', 'corpus:lhost-fml'],
    match: {
      text: /Loop Alert: Duplicated Message-ID|Duplicated Message-ID in|has detected a loop condition/i,
    },
    category: 'remote_error',
    examples: ['Loop Alert: Duplicated Message-ID (neko ML) Duplicated Message-ID in <neko@example.co.jp>.'],
  },
  {
    id: 'generic.policy',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-amazonses',
      'corpus:lhost-dragonfly',
      'corpus:lhost-exim',
      'corpus:lhost-postfix',
      'corpus:lhost-qmail',
      'corpus:rhost-facebook',
    ],
    match: {
      text: /polic(?:y|ies)|administrative prohibition|prohibited|delivery not authorized|not authorized|access denied|refused due to recipient preferences/i,
    },
    category: 'policy',
    examples: [
      '550 5.7.1 Message rejected due to content policy',
      '554 Message rejected due to local policy',
      '550 5.7.0 Local Policy Violation (in reply to end of DATA command)',
      '550 5.7.1 Access denied (in reply to MAIL FROM command)',
    ],
  },
  {
    // Our own queue gave up (or a relay's did): RFC 3463 x.4.7.
    id: 'generic.expired',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-amazonworkmail',
      'corpus:lhost-exchange2007',
      'corpus:lhost-exim',
      'corpus:lhost-ezweb',
      'corpus:lhost-gmail',
      'corpus:lhost-gmx',
      'corpus:lhost-imailserver',
      'corpus:lhost-messagingserver',
      'corpus:lhost-outlook',
      'corpus:lhost-qmail',
      'corpus:lhost-sendmail',
      'corpus:lhost-x2',
      'corpus:lhost-yahoo',
      'corpus:rfc3464',
      'corpus:rhost-outlook',
    ],
    match: {
      text: /(?:message|queue) expired|retry timeout exceeded|delivery time expired|in the queue too long|not delivered within|unable to deliver (?:this )?message after|delivery failed \d+ attempts|failing for a long time|has been delayed|message delayed|past (?:the )?expiration|will be retried for|still undelivered after \d+ (?:hours?|days?|minutes?)|will keep trying until message is|notification about a delay/i,
    },
    category: 'expired',
    examples: [
      'delivery retry timeout exceeded',
      'unable to deliver this message after 1 day',
      'Delivery to the following recipients has been delayed.',
      // Sendmail's delay warning (sendmail.cf "Warning: could not send message for past …").
      '421 Warning: message still undelivered after 4 hours Will keep trying until message is 8 hours old',
      // Exchange's delay DSN.
      'This is only a notification about a delay in the delivery of your message.',
    ],
  },
  {
    id: 'generic.network-error',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-gmail',
      'corpus:lhost-messagingserver',
      'corpus:lhost-outlook',
      'corpus:lhost-postfix',
      'corpus:lhost-sendgrid',
      'corpus:lhost-sendmail',
      'corpus:lhost-v5sendmail',
      'corpus:lhost-x1',
      'corpus:lhost-yandex',
      'corpus:lhost-zoho',
      'corpus:rfc3464',
      'corpus:rhost-gsuite',
      'corpus:rhost-outlook',
    ],
    match: {
      text: /connection (?:timed out|refused|reset|closed|dropped|lost)|timed out|no route to host|network is unreachable|host (?:not )?(?:un)?reachable|unable to connect|could not connect|failed to connect|did not accept our requests to connect|error encountered while communicating|tried all MXs/i,
    },
    category: 'network_error',
    examples: [
      'connect to example.org[203.0.113.225]:25: Connection timed out',
      '426 connection timed out',
      'connect to nyaan.example.com[192.0.2.2]:25: No route to host',
      'Tried all MXs',
    ],
  },
  {
    // RFC 5321 §4.2.2 500-504 and RFC 3463 x.5.x: our side or theirs broke the protocol.
    id: 'generic.protocol-error',
    sources: ['tuned on the development corpus', 'corpus:lhost-exim', 'corpus:lhost-postfix'],
    match: {
      text: /syntax error|bad sequence of commands|unrecognized command|command (?:parameter )?not implemented|unimplemented command|need RCPT|(?:EHLO|HELO)(?:\/(?:EHLO|HELO))? (?:first|argument)|send hello first|MAIL first|RCPT first|protocol violation|line too long|invalid command|malformed address|Unrecognized response|no identity changes permitted|too many unauthenticated commands|cannot decode response|unrecognized authentication type|no longer supported|argument not permitted|no DATA after BDAT|requires domain address/i,
    },
    category: 'protocol_error',
    examples: [
      '501 Syntax error in parameters or arguments',
      '503 5.5.1 Bad sequence of commands. For more information, go to About SMTP error messages and review RFC 5321 specifications.',
      '504 Command parameter not implemented (in reply to end of DATA command)',
      '501 5.5.4 HELO/EHLO argument is invalid. https://support.google.com/mail/?p=helo',
    ],
  },
  {
    // Postfix closes the session after smtpd_hard_error_limit errors ("421 4.7.0 <host> Error:
    // too many errors"): the client kept sending commands the server refused.
    id: 'generic.too-many-errors',
    sources: ['tuned on the development corpus'],
    match: { text: /Error: too many errors/i },
    category: 'protocol_error',
    examples: ['421 4.7.0 mail.example.net Error: too many errors'],
  },
  {
    id: 'generic.remote-error',
    sources: [
      'tuned on the development corpus',
      'corpus:lhost-amazonworkmail',
      'corpus:lhost-dragonfly',
      'corpus:lhost-mfilter',
      'corpus:lhost-opensmtpd',
      'corpus:lhost-postfix',
      'corpus:lhost-receivingses',
      'corpus:lhost-surfcontrol',
      'corpus:rfc3464',
    ],
    match: {
      text: /local error|internal (?:server |system )?error|system (?:error|failure|problem)|temporary (?:failure|error|system|server error)|service not active|service (?:temporarily |currently )?(?:unavailable|not available)|server busy|insufficient system resources|mailer error|temporarily unavailable|could not load|transaction failed|not accepting network messages|unable to process|recipient error/i,
    },
    category: 'remote_error',
    examples: [
      '451 4.3.0 Temporary system failure',
      '451 Internal server error',
      '421 Service temporarily unavailable',
      // SurfControl relaying the next hop's refusal.
      '554 Service currently unavailable',
      '550 5.3.5 <kuroneko@example.org>... Internal System Error',
      '452 4.3.1 Insufficient system resources',
    ],
  },
];
