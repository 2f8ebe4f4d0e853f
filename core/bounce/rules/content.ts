import type { ReplyRule } from '../rule.js';

// Generic rules about the message: its size, a virus, spam, its format or headers, and a
// site's policy against it or against this sender at this recipient. Sources as in client.ts:
// sisimai's reason phrase lists (BSD 2-Clause), KumoMTA's community rules (Apache-2.0), the
// RFCs and the MTAs' reply texts. Policy comes last: it is the vaguest.

export const CONTENT_RULES: readonly ReplyRule[] = [
  {
    // RFC 1870 SIZE; RFC 3463 X.2.3 "message length exceeds administrative limit", X.3.4
    // "message too big for system". Postfix "Message size exceeds fixed limit", Sendmail
    // "Message size exceeds maximum value", Exim "message too big". A size word near a message
    // word. sisimai MesgTooBig and ExceedLimit.
    id: 'generic.message-too-large',
    sources: [
      'RFC 1870',
      'RFC 3463 X.2.3, X.3.4',
      'sisimai:Reason::MesgTooBig',
      'sisimai:Reason::ExceedLimit',
      'Postfix',
      'Sendmail',
      'Exim',
    ],
    match: {
      text: /exceeded (?:the )?(?:\w+ )?(?:maximum|max)[^.;]{0,20}size|(?:message|mail|e-?mail|file|data|attachment)s?\b[^.;]{0,30}?\b(?:too (?:big|large)|size (?:\w+ )?(?:exceed|limit|too)|exceeds? (?:the )?(?:\w+ )?(?:maximum|max|size|limit|length))|(?:size|length) (?:limit )?(?:exceeded|exceeds)|(?:maximum|max) (?:\w+ )?(?:message |email |mail )?size (?:exceeded|limit)|size limit|exceeds (?:the )?(?:fixed )?maximum (?:message )?size|line limit exceeded|RecipSizeLimit|taille limite/i,
    },
    category: 'message_too_large',
    examples: [
      '552 5.3.4 Message size exceeds fixed limit',
      '552 5.2.3 Message length exceeds administrative limit',
      '552 Message too large for this system',
      '552 5.3.4 Max message size exceeded',
      '554 5.3.4 Message header size exceeds limit',
    ],
  },
  {
    // The message's form: headers, MIME, 8-bit data, RFC 5322 conformance (RFC 3463 X.6.x).
    // sisimai ContentError and NotCompliantRFC.
    id: 'generic.content-format',
    sources: [
      'RFC 5322',
      'RFC 3463 X.6.x',
      'sisimai:Reason::ContentError',
      'sisimai:Reason::NotCompliantRFC',
    ],
    match: {
      text: /multiple addresses|content presents a potential|containing images or other attachments|duplicate header|header (?:error|syntax|field)|headers? (?:too (?:large|long)|are not accepted)|improper use of 8-bit|8-?bit (?:data|characters)|(?:invalid|malformed|improperly.formatted) (?:mime|header|message|characters|binary)|mime (?:complexity|error)|not rfc ?\d{3,4} compliant|rfc ?(?:2822|5322) (?:violation|compliant|non-?compliant)|rfcmessagenoncompliant|bare (?:LF|CR)|unnecessary base64|illegal attachment|attachments? (?:are )?(?:not allowed|prohibited|blocked)|executable files are not allowed|too many received: headers/i,
    },
    category: 'content_rejected',
    examples: [
      "554 Transaction failed: Duplicate header 'Subject'.",
      '554 This message contain improperly-formatted binary content',
      '554 5.6.0 Improper use of 8-bit data in message header',
    ],
  },
  {
    // A virus or malware scanner refused the message (RFC 3463 X.7.0 with the scanner's words).
    // sisimai VirusDetected.
    id: 'generic.virus',
    sources: ['sisimai:Reason::VirusDetected'],
    match: {
      text: /^(?!.*\bspam\b).*?(?:virus|malware|infected|trojan|potentially executable|malicious(?:_url| url| content| attachment)|phishing)/i,
    },
    category: 'virus_detected',
    examples: ['550 5.7.0 Virus detected', '554 Your message was infected with a virus'],
  },
  {
    // A spam filter refused the message for what it says (not for who sent it: IP listings are
    // listings.ts's). sisimai SpamDetected; KumoMTA SpamBlock's content lines.
    id: 'generic.spam-content',
    sources: ['sisimai:Reason::SpamDetected', 'kumomta:SpamBlock'],
    match: {
      text: /\bspam(?!haus|cop)|bulk\.advertising|blocked by our filter|detected that this message is|help_spam|\bspam\b|\bUBE\b|\bUCE\b|unsolicited|bulk (?:e-?)?mail|junk ?mail|(?:message|mail) content (?:rejected|denied)|content (?:filter|rejected|rejection)|rejecting (?:banned|mail) content|unacceptable content|spamassassin|message (?:was )?filtered|quarantined|recurrent pattern detection|antispam/i,
    },
    category: 'spam_content',
    examples: [
      '550 5.7.1 Message rejected as spam',
      '554 5.7.1 This message has been identified as spam',
      '550 Message content rejected, UBE',
      '550 Mail appears to be unsolicited',
      '554 Message filtered. Please see the FAQs section on spam',
    ],
  },
];

// Last of the text rules (after transport.ts): the vaguest words.
export const POLICY_RULES: readonly ReplyRule[] = [
  {
    // The recipient (or its site) refuses this sender or this kind of mail by its own rules:
    // sisimai Filtered ("only accepting mail from specific email addresses", "refused due to
    // recipient preferences", "you have been blocked by the recipient") and PolicyViolation
    // ("denied by policy", "local policy violation", "organizational settings"); RFC 3463 X.7.1
    // "delivery not authorized, message refused"; KumoMTA PolicyRelated.
    id: 'generic.policy',
    sources: [
      'RFC 3463 X.7.1',
      'sisimai:Reason::PolicyViolation',
      'sisimai:Reason::Filtered',
      'kumomta:PolicyRelated',
    ],
    match: {
      text: /polic(?:y|ies)|administrative(?:ly)? prohibit|prohibited|not authori[sz]ed|access denied|denied by|organi[sz]ation(?:al)? (?:settings|policy)|recipient(?:'s)? preferences|only accepting mail from|not accepting (?:any )?mail|user rules|refuses? to (?:receive|accept)|blocked by the recipient|user reject|members-only|closed mailing list|mass mailer|message given low priority|restricted|not allowed|protected by|refused|rejected by|protocol violation/i,
    },
    category: 'policy',
    examples: [
      '550 5.7.1 Message rejected due to local policy',
      '554 Email not accepted for policy reasons',
      '550 5.7.1 Delivery not authorized, message refused',
      '550 Message rejected due to user rules',
      '550 Refused due to recipient preferences',
      '550 You have been blocked by the recipient',
      '550-Your message was rejected by this user and was not delivered -  mips space',
    ],
  },
];
