import type { ReplyRule } from '../rule.js';

// Generic rules about getting the message there: routing loops, the queue giving up, the
// network, the SMTP dialogue itself, and the remote system's own trouble. Sources as in
// client.ts: sisimai's reason phrase lists (BSD 2-Clause), KumoMTA (Apache-2.0), the RFCs and
// the MTAs' reply texts.

export const TRANSPORT_RULES: readonly ReplyRule[] = [
  {
    // Hop-count and forwarding loops (RFC 5321 §6.3; RFC 3463 X.4.6 "routing loop detected",
    // filed under network and routing). qmail "This message is looping: it already has my
    // Delivered-To line", Postfix "mail forwarding loop", Sendmail "Too many hops". Retrying
    // the same route loops again. sisimai NetworkError and SystemError.
    id: 'generic.mail-loop',
    sources: [
      'RFC 5321 §6.3',
      'RFC 3463 X.4.6',
      'sisimai:Reason::NetworkError',
      'sisimai:Reason::SystemError',
      'qmail',
      'Postfix',
      'Sendmail',
    ],
    match: {
      text: /(?:mail|routing|forwarding|aliasing\/forwarding) loop|\bloop(?:ing|s back to myself| was found| count exceeded| detected)|hop count exceeded|too many hops|maximum (?:hop|forwarding loop) count|MailLoop/i,
    },
    category: 'network_error',
    examples: [
      '554 5.4.6 Too many hops',
      'This message is looping: it already has my Delivered-To line. (#5.4.6)',
      'mail forwarding loop for a@example.org',
    ],
  },
  {
    // The queue gave up: RFC 3463 X.4.7 "delivery time expired" and the MTAs' words for it
    // (Exim "retry timeout exceeded", "all hosts have been failing for a long time"; qmail
    // "this message has been in the queue too long"; Sendmail "Cannot send message for 5 days";
    // Exchange "Message expired"), and delay notices. sisimai Expired.
    id: 'generic.expired',
    sources: [
      'RFC 3463 X.4.7',
      'sisimai:Reason::Expired',
      'Exim',
      'qmail-send',
      'Sendmail',
      'Exchange NDR',
      'kumomta:MessageExpired',
    ],
    match: {
      text: /could not be delivered for more than|failed to deliver to domain|could not find a gateway for|(?:message|delivery|queue|retry) (?:time )?(?:has )?(?:expired|timed out|timeout exceeded)|expired after|retry time(?:out)? (?:not reached|exceeded)|in the queue too long|queue(?:d)? (?:for )?too long|(?:could not|cannot|can't|unable to) (?:be )?(?:delivered|deliver|send)[^.;]{0,40}\b(?:for|after) (?:more than )?\d+ (?:hours?|days?)|failing for a long time|giving up (?:on|after)|gave up|(?:was )?not (?:been )?(?:delivered|reachable) within|allowed queue period|has been delayed|delivery (?:is )?delayed|delay(?:ed)? (?:in|of) (?:the )?delivery|still undelivered|(?:will|keep) (?:keep )?trying|delivery attempts will continue|will be retried|has not been collected|after multiple retries|server did not respond/i,
    },
    category: 'expired',
    examples: [
      'retry timeout exceeded',
      "I'm not going to try again; this message has been in the queue too long.",
      'Message expired after sitting in queue for 2 days',
      'Cannot send message for 5 days',
      'Delivery to the following recipients has been delayed.',
    ],
  },
  {
    // No conversation: the connection failed, broke or timed out (RFC 3463 X.4.1 "no answer
    // from host", X.4.2 "bad connection"). Postfix "connect to host[addr]:25: Connection timed
    // out", "lost connection with", qmail "Sorry, I wasn't able to establish an SMTP
    // connection", Sendmail "Connection refused by". sisimai NetworkError; KumoMTA
    // NoAnswerFromHost and BadConnection.
    id: 'generic.network-error',
    sources: [
      'RFC 3463 X.4.1, X.4.2',
      'sisimai:Reason::NetworkError',
      'kumomta:NoAnswerFromHost',
      'kumomta:BadConnection',
      'Postfix',
      'qmail-remote',
      'Sendmail',
    ],
    match: {
      text: /network error|unable to resolve route|connection (?:timed out|refused|reset|closed|dropped|lost|broken|was dropped)|lost connection|timed out|time-?out|no route to host|network (?:is )?unreachable|host (?:is )?unreachable|(?:unable|could not|couldn't|failed|wasn't able) to (?:connect|establish|open)|could not connect|connect to [^ ]+ failed|tried all MXs|broken pipe|reset by peer|error (?:encountered )?while communicating|did not accept our requests to connect|no answer from host|remote protocol error/i,
    },
    category: 'network_error',
    examples: [
      'connect to mx.example.org[192.0.2.1]:25: Connection timed out',
      "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)",
      'Deferred: Connection refused by mx.example.org.',
      'lost connection with mx.example.org[192.0.2.1] while receiving the initial server greeting',
      'connect to mx.example.org[192.0.2.1]:25: No route to host',
    ],
  },
  {
    // The SMTP dialogue broke down (RFC 5321 §4.2.2 500-504; RFC 3463 X.5.x): a command or
    // argument the server did not take. Postfix "Error: too many errors" after
    // smtpd_hard_error_limit refused commands.
    id: 'generic.protocol-error',
    sources: ['RFC 5321 §4.2.2', 'RFC 3463 X.5.x', 'Postfix smtpd', 'kumomta:ProtocolErrors'],
    match: {
      text: /syntax error|bad sequence of commands|unrecognized (?:command|response)|command (?:parameter )?(?:not implemented|unrecognized)|unimplemented command|need (?:RCPT|MAIL)|send (?:hello|HELO|EHLO) first|(?:MAIL|RCPT) first|line too long|invalid command|malformed address|no identity changes permitted|too many (?:unauthenticated commands|errors)|argument not permitted|no DATA after BDAT|requires domain address/i,
    },
    category: 'protocol_error',
    examples: [
      '501 Syntax error in parameters or arguments',
      '503 5.5.1 Bad sequence of commands',
      '500 5.5.1 Unrecognized command',
      '421 4.7.0 mx.example.org Error: too many errors',
    ],
  },
  {
    // The remote system's own trouble (RFC 3463 X.3.0 "other or undefined mail system status",
    // X.3.5 "system incorrectly configured"; RFC 5321 §4.2.3 421 "service not available",
    // 451 "local error in processing"). sisimai SystemError; KumoMTA TransientFailure.
    id: 'generic.remote-error',
    sources: [
      'RFC 3463 X.3.0, X.3.5',
      'RFC 5321 §4.2.3',
      'sisimai:Reason::SystemError',
      'kumomta:TransientFailure',
    ],
    match: {
      text: /local (?:error|problem|configuration error)|internal (?:server |system )?error|error reading data|system (?:error|failure|problem|config(?:uration)? error)|(?:server|mail system) (?:configuration error|is misconfigured)|misconfigur|temporar(?:y|ily) (?:failure|error|problem|system|server error|local problem|unable|unavailable|rejected|deferred)|service (?:is )?(?:temporarily |currently )?(?:not active|unavailable|not available)|server (?:is )?busy|insufficient (?:system )?resources|could not load|queue file write error|can't create (?:user )?output file|interrupted system call|unable to process|encountered an error while being processed|operation now in progress|transaction failed|recipient deferred|no mdb|try again later|please try later/i,
    },
    category: 'remote_error',
    examples: [
      '451 4.3.0 Temporary system failure',
      '451 Requested action aborted: local error in processing',
      '421 Service not available, closing transmission channel',
      '451 4.3.5 Server configuration error',
      '451 Temporary local problem - please try later',
    ],
  },
];
