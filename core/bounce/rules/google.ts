import { citing, type ReplyRule } from '../rule.js';

// Gmail and Google Workspace. Wording from Google's "SMTP error reference"
// (https://support.google.com/a/answer/3726730) and the Email sender guidelines
// (https://support.google.com/mail/answer/81126). Gmail's text is distinctive, so these rules
// also apply when the provider is unknown (e.g. a Workspace domain behind its own MX name).
const G = 'google' as const;

export const GOOGLE_RULES: readonly ReplyRule[] = citing(
  [
    'https://support.google.com/a/answer/3726730',
    'https://support.google.com/mail/answer/81126',
    'corpus:lhost-gmail',
    'corpus:rhost-google',
    'corpus:rhost-gsuite',
    'corpus:lhost-googlegroups',
    'corpus:lhost-googleworkspace',
    'corpus:rfc3464',
  ],
  [
    {
      // 4.7.28 deferral: too much mail from this IP right now; slow down (not a block yet).
      id: 'google.4.7.28-rate',
      match: { provider: G, code: ['4xx'], text: /unusual rate of (?:unsolicited )?mail/i },
      category: 'rate_limited',
      examples: ['421 4.7.28 Gmail has detected an unusual rate of mail (originating from)'],
    },
    {
      // 5.7.28: the same signal as a rejection: mail from this IP is blocked; move off the IP.
      id: 'google.5.7.28-spam',
      match: { provider: G, code: ['5xx'], text: /unusual rate of (?:unsolicited )?mail/i },
      category: 'ip_blocked',
      examples: [
        '550 5.7.28 There is an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been blocked.',
        '550 5.7.1 Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP ad- dress has been blocked.',
        '550 5.7.28 There is an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP address has been blocked. To review our bulk email senders guidelines, go to Email sender guidelines.',
        '550 5.7.1 Our system has detected an unusual rate of unsolicited mail originating from your IP address. To protect our users from spam, mail sent from your IP ad- dress has been blocked. Review https://support.google.com/mail/answer/81126',
      ],
    },
    {
      // Low reputation of "the sending IP address/domain" (the IP may be to blame), as a
      // deferral: mail from the IP is "temporarily rate limited". Kept apart from the rejection
      // below because the IP workflow slows the IP down for the one and only lowers its share
      // for the other (core/routing/reputation.ts).
      id: 'google.low-reputation-deferred',
      match: { provider: G, code: ['4xx'], text: /very low reputation of the sending IP/i },
      category: 'ip_blocked',
      examples: [
        '421 4.7.0 This message is suspicious due to the very low reputation of the sending IP address/domain. To protect our users from spam, mail sent from your IP address has been temporarily rate limited.',
        '421 4.7.0 This message is suspicious due to the very low reputation of the sending IP address/domain. To protect our users from spam, mail sent from your IP address has been temporarily rate limited. For more information, go to Why has Gmail blocked my message',
      ],
    },
    {
      // The same reputation as a rejection of the message; also read when a report quotes it
      // without its reply code.
      id: 'google.low-reputation-blocked',
      match: { provider: G, text: /very low reputation of the sending IP/i },
      category: 'ip_blocked',
      examples: [
        '550 5.7.1 Our system has detected that this message is likely suspicious due to the very low reputation of the sending IP address/domain. To best protect our users from spam, the message has been blocked.',
        '550 5.7.1 Our system has detected that this message is likely suspicious due to the very low reputation of the sending IP address/domain. To best protect our users from spam, the message has been blocked. Please visit https://support.google.com/mail/answer/188',
      ],
    },
    {
      // "Very low reputation of the sending domain" blames the domain alone: another IP would
      // not help, so the IP workflow leaves the IP be. Wording and codes as in sisimai's table
      // of Gmail replies (lib/Sisimai/Rhost/Google.pm, https://github.com/sisimai/p5-sisimai).
      id: 'google.low-domain-reputation',
      match: { provider: G, text: /very low reputation of the sending domain/i },
      category: 'ip_blocked',
      examples: [
        '421 4.7.0 very low reputation of the sending domain',
        '550 5.7.1 due to the very low reputation of the sending domain',
      ],
    },
    {
      id: 'google.dmarc-policy',
      match: { provider: G, text: /not accepted due to domain's DMARC policy/i },
      category: 'auth_failure',
      examples: [
        "550 5.7.26 Unauthenticated email from domain-name is not accepted due to domain's DMARC policy. Please contact the administrator of domain-name domain.",
        "451 4.7.26 Unauthenticated email from domain-name is not accepted due to domain's DMARC policy, but temporary DNS failures prevent authentication.",
      ],
    },
    {
      // 4.7.23-4.7.32 / 5.7.23-5.7.32: the bulk sender authentication requirements of 2024.
      id: 'google.sender-authentication',
      match: {
        provider: G,
        text: /SPF record of the sending domain|SPF record with a hard fail|fails to pass (?:SPF|authentication) checks|Gmail requires all .{0,24}senders to authenticate|(?:SPF|DKIM) (?:authentication didn't pass|does not pass)|isn't aligned with either the authenticated SPF or DKIM|unauthenticated email is not accepted/i,
      },
      category: 'auth_failure',
      examples: [
        '550 5.7.26 This message fails to pass SPF checks for an SPF record with a hard fail policy (-all). To best protect our users from spam and phishing, the message has been blocked.',
        '421 4.7.26 This mail has been rate limited because it is unauthenticated. Gmail requires all senders to authenticate with either SPF or DKIM.',
        "421 4.7.27 Your email has been rate limited because SPF authentication didn't pass for this message. Gmail requires all bulk email senders to authenticate their emaili with SPF.",
        '550 5.7.30 This mail has been blocked because DKIM does not pass. Gmail requires all large senders to authenticate with DKIM. Authentication results: DKIM = did not pass.',
        "421 4.7.32 Your email has been rate limited because the From: header (RFC5322) in this message isn't aligned with either the authenticated SPF or DKIM organizational domain.",
        '550 5.7.24 The SPF record of the sending domain has one or more suspicious entries. For more information, go to Email sender guidelines.',
      ],
    },
    {
      id: 'google.ptr',
      match: {
        provider: G,
        text: /(?:does not|doesn't) have a PTR record|pointer \(PTR\) record|IPv6 sending guidelines regarding PTR/i,
      },
      category: 'ptr_required',
      examples: [
        "421 4.7.23 The sending IP address for this message doesn't have a PTR record, or the PTR record's forward DNS entry doesn't match the sending IP address. To protect users from spam, your email has been temporarily rate limited.",
        '550 5.7.25 The sending IP does not match the IP address of the hostname specified in the pointer (PTR) record. For more information, go to Email sender guidelines.',
        '550 5.7.1 This message does not meet IPv6 sending guidelines regarding PTR records and authentication. For more information, go to Email sender guidelines. https://support.google.com/mail/?p=IPv6AuthError',
      ],
    },
    {
      id: 'google.tls-required',
      match: { provider: G, text: /TLS required for RCPT domain|senders to use TLS\/SSL/i },
      category: 'tls_failure',
      examples: [
        '421 4.7.0 TLS required for RCPT domain, closing connection. For more information, go to Email encryption in transit. https://support.google.com/mail/answer/6330403',
        "421 4.7.29 Your email has been rate limited because this message wasn't sent over a TLS connection. Gmail requires all bulk email senders to use TLS/SSL for SMTP conn- ections.",
      ],
    },
    {
      // The recipient's Workspace admin allows only listed IPs: not reputation, so no suspension.
      id: 'google.ip-not-allowlisted',
      match: { provider: G, text: /IP not in whitelist for RCPT domain/i },
      category: 'ip_blocked',
      action: 'retry',
      examples: [
        '421 4.7.0 IP not in whitelist for RCPT domain, closing connection. For more information, go to Allowlists, denylists, and approved senders. https://support.google.com/a/answer/60752',
      ],
    },
    {
      id: 'google.dos-deferral',
      match: { provider: G, text: /Try again later, closing connection/i },
      category: 'rate_limited',
      examples: [
        '421 4.7.0 Try again later, closing connection. This usually indicates a Denial of Service (DoS) for the SMTP relay at the HELO stage. https://support.google.com/a/answer/3221692',
      ],
    },
    {
      id: 'google.recipient-rate',
      match: {
        provider: G,
        text: /user you are trying to contact is receiving mail|rate that pre-? ?vents additional messages/i,
      },
      category: 'rate_limited',
      scope: 'recipient',
      // One busy recipient: retry later, no need to slow the IP for everyone.
      action: 'retry',
      examples: [
        '450 4.2.1 The user you are trying to contact is receiving mail too quickly. Please resend your message at a later time.',
        '450 4.2.1 The user you are trying to contact is receiving mail at a rate that pre- vents additional messages from being delivered. Please resend your message at a later time.',
      ],
    },
    {
      id: 'google.relay-limits',
      match: {
        provider: G,
        text: /(?:Peak|Daily) SMTP relay (?:sending )?limit|daily (?:user )?sending (?:quota|limit)/i,
      },
      category: 'rate_limited',
      examples: [
        '450 4.2.1 Peak SMTP relay limit exceeded for customer. This is a temporary error. For more information on SMTP relay limits, please contact your administrator or visit https://support.google.com/a/answer/6140680',
        '550 5.4.5 Daily SMTP relay limit exceeded for user. For more information on SMTP relay sending limits please contact your administrator or visit SMTP relay service error messages. https://support.google.com/a/answer/6140680',
      ],
    },
    {
      id: 'google.too-large',
      match: {
        provider: G,
        text: /exceed(?:s|ed) Google's (?:message )?(?:header )?(?:name )?(?:size )?limit|individual header size/i,
      },
      category: 'message_too_large',
      examples: [
        "552 5.3.4 Your message exceeded Google's message size limits. To view our message size guidelines, go to Send attachments with your Gmail message.",
        "552 5.3.4 The number of attachments (num-attachments) exceeds Google's limit of limit attachments. To view our attachment size guidelines, go to Gmail receiving limits in Google Workspace.",
        "552 5.2.3 Your message exceeded Google's message size limits. For more information, visit https://support.google.com/mail/answer/6584",
      ],
    },
    {
      id: 'google.over-quota',
      match: {
        provider: G,
        text: /inbox is out of storage space|account that you tried to reach is over quota/i,
      },
      category: 'mailbox_full',
      examples: [
        "452 4.2.2 The recipient's inbox is out of storage space. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp",
        '452 4.2.2 The email account that you tried to reach is over quota. Please direct the recipient to Clear Google Drive space & increase storage.',
      ],
    },
    {
      id: 'google.disabled',
      match: { provider: G, text: /account that you tried to reach is (?:disabled|inactive)/i },
      category: 'mailbox_disabled',
      examples: [
        '550 5.2.1 The email account that you tried to reach is inactive. For more information, go to https://support.google.com/mail/?p=DisabledUser',
        '550 5.2.1 The email account that you tried to reach is disabled. g0000000000ggg.00 503 5.5.1 RCPT first. g0000000000ggg.00',
      ],
    },
    {
      id: 'google.user-unknown',
      match: { provider: G, text: /account that you tried to reach does not exist/i },
      category: 'recipient_unknown',
      examples: [
        "550 5.1.1 The email account that you tried to reach does not exist. Please try dou- ble-checking the recipient's email address for typos or unnecessary spaces.",
      ],
    },
    {
      id: 'google.domain-unknown',
      match: { provider: G, text: /weren't able to find the recipient domain/i },
      category: 'domain_unknown',
      examples: [
        "553 5.1.2 We weren't able to find the recipient domain. Please check for any spell- ing errors, and make sure you didn't enter any spaces, periods, or other punctua- tion after the recipient's email address.",
      ],
    },
    {
      id: 'google.bad-recipient-syntax',
      match: { provider: G, status: ['5.1.3'], text: /is not a valid RFC 5321 address/i },
      category: 'recipient_unknown',
      examples: [
        '553 5.1.3 The recipient address <address> is not a valid RFC 5321 address. For more information, go to About SMTP error messages and review RFC 5321 specifications.',
      ],
    },
    {
      id: 'google.bad-sender',
      match: {
        provider: G,
        text: /sender address .{0,80}is not a valid RFC 5321 address|Mail Sending denied/i,
      },
      category: 'sender_rejected',
      examples: [
        '553 5.1.7 The sender address address is not a valid RFC 5321 address. For more information, go to About SMTP error messages and review RFC 5321 specifications.',
        '550 5.7.0, Mail Sending denied. This error occurs if the sender account is disabled or not registered within your Google Workspace domain.',
      ],
    },
    {
      // RFC 5322 conformance (Email sender guidelines): the message, not the sender, is at fault.
      id: 'google.rfc5322',
      match: {
        provider: G,
        text: /not RFC 5322 compliant|missing a valid (?:address in the From:|Message-ID:) header|multiple addresses in From: header|unicode character in a disallowed header|Encoded-word syntax is not permitted|Mail message is malformed/i,
      },
      category: 'content_rejected',
      examples: [
        '550 5.7.1 This message is not RFC 5322 compliant because it has duplicate headers. To reduce the amount of spam sent to Gmail, this message has been blocked.',
        '550 5.7.1 Messages missing a valid Message-ID: header are not accepted. For more information, go to Email sender guidelines and review RFC 5322 specifications.',
        '554 5.6.0 Mail message is malformed. Not accepted. For more information, go to Email sender guidelines and review RFC 5322 specifications.',
      ],
    },
    {
      id: 'google.blocked-content',
      match: { provider: G, text: /illegal attachment|content presents a potential securi-? ?ty issue/i },
      category: 'content_rejected',
      examples: [
        '552 5.7.0 Our system detected an illegal attachment on your message. Please visit http://mail.google.com/support/bin/answer.py?answer=6590 to review our attachment guidelines.',
        '552 5.7.0 This message was blocked because its content presents a potential securi- ty issue. Please visit https://support.google.com/mail/?p=BlockedMessage to review our message content and attachment content guidelines.',
      ],
    },
    {
      // "Likely unsolicited mail" (https://support.google.com/mail/answer/188131): the IP
      // workflow gives the IP a smaller share of Gmail for a while.
      id: 'google.spam',
      match: { provider: G, text: /likely unsolicited mail/i },
      category: 'spam_content',
      examples: [
        '550 5.7.1 Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked. For more information, visit https://support.google.com/mail/answer/188131',
      ],
    },
    {
      // The content or links of one message are suspect: nothing about the IP.
      id: 'google.suspicious-content',
      match: { provider: G, text: /nature of the content or the links within/i },
      category: 'spam_content',
      examples: [
        '421 4.7.0 This message is suspicious due to the nature of the content or the links within. To best protect our users from spam, the message has been blocked.',
      ],
    },
    {
      id: 'google.recipient-policy',
      match: { provider: G, text: /has a policy that prohibited the mail|same Message-ID/i },
      category: 'policy',
      examples: [
        '550 5.7.1 The user or domain that you are sending to (or from) has a policy that prohibited the mail that you sent. Please contact your domain administrator for further details.',
        '421 4.7.28 Gmail has detected this message exceeded its quota for sending messages with the same Message-ID:. To best protect our users, the message has been tempo- rarily rejected.',
      ],
    },
    {
      id: 'google.relay-denied',
      match: {
        provider: G,
        text: /Mail relay denied|Invalid credentials for relay|not authorized to send email directly to our servers/i,
      },
      category: 'relay_denied',
      examples: [
        "550 5.7.1 Invalid credentials for relay <ip-address>. The IP address you've registered in your Workspace SMTP Relay service doesn't match the domain of the account this email is being sent from.",
        "550 7.7.1 The IP you're using to send mail is not authorized to send email directly to our servers. Use the SMTP relay at your service provider instead.",
      ],
    },
    {
      // SMTP AUTH errors only happen on Google's submission/relay hosts, i.e. a misconfigured smarthost.
      id: 'google.smtp-auth',
      match: {
        provider: G,
        // "Authentication Required" alone is any server's answer (RFC 4954): Gmail's only.
        providerOnly: true,
        text: /Authentication Required|Application-specific password required|log in (?:with|through) your web browser|Username and Password not accepted|Too many login attempts/i,
      },
      category: 'auth_failure',
      examples: [
        '530 5.5.1 Authentication Required. For more information, visit https://support.google.com/accounts/troubleshooter/2402620',
        '535 5.7.1 Username and Password not accepted. For more information, visit https://support.google.com/accounts/troubleshooter/2402620',
      ],
    },
    {
      // Google Groups refusing a post: the group's spam filter ("rejected due to spam
      // classification"). Before the auth rule: the text goes on to advise SPF records.
      id: 'google.groups-spam',
      match: { provider: G, text: /email to group \S+ was rejected due to spam classification/i },
      category: 'spam_content',
      examples: [
        'Your email to group kijitora@example.com was rejected due to spam classification. To address this issue: * Contact the owner of the group, who can choose to enable message moderation instead of bouncing these emails. * Set up SPF records for your sending domain if you have not done so already.',
      ],
    },
    {
      // Google Groups: "the group you tried to contact (x) may not exist, or you may not have
      // permission to post messages to the group" (sent in the sender's language, always with
      // the groups.google.com help link). The group usually exists but does not take posts
      // from this sender, so it is about the sender, not a reason to suppress the address.
      id: 'google.groups-no-permission',
      match: {
        provider: G,
        text: /may not have permission to post messages to the group|groups\.google\.com\/support/i,
      },
      category: 'sender_rejected',
      examples: [
        "Hello ak@libsisimai.com, We're writing to let you know that the group you tried to contact (libsisimai) may not exist, or you may not have permission to post messages to the group.",
        'If you have questions related to this or any other Google group, visit the Help Centre at https://groups.google.com/support/.',
      ],
    },
    {
      // Gmail/Workspace "Send mail as" with a misconfigured alias: the sender identity is refused.
      id: 'google.send-mail-as',
      match: { provider: G, text: /using the 'Send mail as' feature/i },
      category: 'sender_rejected',
      examples: [
        "** Message not delivered ** You're sending this from a different address or alias using the 'Send mail as' feature. The settings for your 'Send mail as' account are misconfigured or out of date. Check those settings and try resending.",
      ],
    },
    {
      // RFC 3463 X.4.6 "Routing loop detected" is a network and routing status.
      id: 'google.mail-loop',
      match: { provider: G, text: /exceeded \d+ hops/i },
      category: 'network_error',
      examples: [
        '554 5.4.6 Message exceeded 50 hops, this may indicate a mail loop. For more information, go to Gmail Help. https://support.google.com/mail/?p=MailLoop',
      ],
    },
    {
      id: 'google.connection-timeout',
      match: { provider: G, text: /Connection expired, try reconnecting|Timeout - closing connection/i },
      category: 'network_error',
      examples: [
        '451 4.4.2 Timeout - closing connection. For more information, go to About SMTP error messages. https://support.google.com/a/answer/3221692',
        '421 4.7.0 Connection expired, try reconnecting. For more information, go to About',
      ],
    },
    {
      id: 'google.temporary-problem',
      match: {
        provider: G,
        text: /temporary system problem|Multiple destination domains per transaction|Domain policy size per transaction exceeded|temporarily rejected (?:this )?message/i,
      },
      category: 'remote_error',
      examples: [
        '454 4.7.0 Cannot authenticate due to a temporary system problem. Try again later. For more information, go to About SMTP error messages. https://support.google.com/a/answer/3221692',
        '451 4.3.0 Multiple destination domains per transaction is unsupported. Please try again. For more information, go to About SMTP error messages and review RFC 5321 specifications.',
      ],
    },
    {
      id: 'google.too-many-recipients',
      match: { provider: G, text: /Your message has too many recipients/i },
      category: 'rate_limited',
      // RFC 5321 §4.5.3.1.10: send the rest in another transaction; nothing to throttle.
      action: 'retry',
      examples: [
        "452 4.5.3 Your message has too many recipients. For more information regarding Google's sending limits, visit https://support.google.com/mail/answer/6592",
      ],
    },
  ],
);
