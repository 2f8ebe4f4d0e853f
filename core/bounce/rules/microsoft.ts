import { citing, type ReplyRule } from '../rule.js';

// Outlook.com / Hotmail / Exchange Online Protection. Codes from "Email non-delivery reports
// and SMTP errors in Exchange Online" (https://learn.microsoft.com/exchange/mail-flow-best-practices/
// non-delivery-reports-in-exchange-online/non-delivery-reports-in-exchange-online) and the
// Outlook.com postmaster pages (https://sendersupport.olc.protection.outlook.com/pm/).
const M = 'microsoft' as const;

/** 5.7.606-5.7.649: "Access denied, banned sending IP" (the IP is on Microsoft's list). */
const BANNED_IP_STATUSES = Array.from({ length: 44 }, (_, i) => `5.7.${606 + i}`);

export const MICROSOFT_RULES: readonly ReplyRule[] = citing(
  [
    'https://learn.microsoft.com/exchange/mail-flow-best-practices/non-delivery-reports-in-exchange-online/non-delivery-reports-in-exchange-online',
    'https://sendersupport.olc.protection.outlook.com/pm/',
    'corpus:lhost-office365',
    'corpus:rhost-microsoft',
    'corpus:lhost-exchange2007',
    'corpus:lhost-exchange2003',
    'corpus:lhost-outlook',
    'corpus:rhost-outlook',
    'corpus:lhost-postfix',
  ],
  [
    {
      // S3140/S3150 (Outlook.com) and SC-001: the IP or its network is on Microsoft's block list.
      // Delisting goes through sender.office.com (SendGrid support article "Troubleshooting
      // Microsoft Delivery Issues 550 5.7.1 S3140/S3150 Blocks").
      id: 'microsoft.s3150-network-block',
      match: { provider: M, text: /part of their network is on our block list|\(S3[01]\d\d\)/i },
      category: 'ip_blocked',
      examples: [
        "550 5.7.1 Unfortunately, messages from [10.0.2.5] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).",
        // NDR quoted on virtbiz.com's knowledge base ("Outlook or Hotmail or Microsoft has blocked my email").
        "550 5.7.1 Unfortunately, messages from [11.22.33.44] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3140). You can also refer your provider to http://mail.live.com/mail/troubleshooting.aspx#errors. [DM6NAM12FT056.eop-nam12.prod.protection.outlook.com]",
      ],
    },
    {
      id: 'microsoft.5.7.606-banned-ip',
      match: { provider: M, status: BANNED_IP_STATUSES },
      category: 'ip_blocked',
      examples: [
        '550 5.7.606 Access denied, banned sending IP [1.2.3.4]. To request removal from this list please visit https://sender.office.com/ and follow the directions.',
        '550 5.7.606 Access denied, banned sending IP [1.2.3.4]. To request removal from this list please visit https://sender.office.com/ and follow the directions. For more information please go to http://go.microsoft.com/fwlink/?LinkID=526655 (AS16012609) [DB5EUR01F',
      ],
    },
    {
      id: 'microsoft.5.7.511-banned-sender',
      match: {
        provider: M,
        text: /Access denied, banned sender(?:ing IP)?\b|Access denied, traffic not accepted from this IP/i,
      },
      category: 'ip_blocked',
      examples: [
        '550 5.7.511 Access denied, banned sender[1.2.3.4]. To request removal from this list please forward this message to delist@messaging.microsoft.com.',
        '550 5.7.511 Access denied, banned sender[1.2.3.4]. To request removal from this list please forward this message to delist@messaging.microsoft.com. For more information please go to http://go.microsoft.com/fwlink/?LinkId=526653. AS(508) [AM5EUR02FT019.eop-EUR0',
      ],
    },
    {
      id: 'microsoft.sc-004-complaints',
      match: { provider: M, text: /A block has been placed against your IP address/i },
      category: 'ip_blocked',
      examples: [
        '550 SC-004 Mail rejected by for policy reasons. A block has been placed against your IP address because we have received complaints concerning mail coming from that IP address.',
      ],
    },
    {
      // 4.7.650-4.7.899 (S775): throttled because of IP reputation; slow down and keep trying.
      id: 'microsoft.4.7.650-reputation-throttle',
      match: { provider: M, text: /temporarily rate limited due to IP reputation/i },
      category: 'rate_limited',
      examples: [
        '451 4.7.650 The mail server [192.0.2.5] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775)',
        '451 4.7.650 The mail server [192.0.2.5] has been temporarily rate limited due to IP reputation. For e-mail delivery information, see https://postmaster.live.com (S775) [***.prod.protection.outlook.com] (in reply to MAIL FROM command))',
      ],
    },
    {
      // 4.7.500-4.7.699 (AS…): new or unusual traffic from this IP is being throttled.
      id: 'microsoft.4.7.500-server-busy',
      match: {
        provider: M,
        text: /Server busy\. Please try again later from|Access denied, please try again later/i,
      },
      category: 'rate_limited',
      examples: [
        '451 4.7.500 Server busy. Please try again later from [192.0.2.2]. (AS761)',
        '451 4.7.500 Server busy. Please try again later from [192.0.2.2]. (AS761) (in reply to RCPT TO command))',
      ],
    },
    {
      // Directory-based edge blocking: the address does not exist in the tenant's directory.
      id: 'microsoft.5.4.1-recipient-access-denied',
      match: { provider: M, status: ['5.4.1'], text: /Recipient address rejected: Access denied/i },
      category: 'recipient_unknown',
      examples: [
        '550 5.4.1 <kijitora@example.br>: Recipient address rejected: Access denied [BL2NAM02FT061.eop-nam02.prod.protection.outlook.com]',
      ],
    },
    {
      id: 'microsoft.recipient-not-found',
      match: {
        provider: M,
        text: /RESOLVER\.ADR\.(?:Ex)?Recip(?:ient)?NotFound|Recipient not found by SMTP address lookup/i,
      },
      category: 'recipient_unknown',
      examples: [
        '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup',
        '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found',
      ],
    },
    {
      // Outlook.com's answer for an address that does not exist.
      id: 'microsoft.mailbox-unavailable',
      match: {
        provider: M,
        providerOnly: true,
        code: [550],
        text: /^Requested action not taken: mailbox unavailable/i,
      },
      category: 'recipient_unknown',
      examples: ['550 Requested action not taken: mailbox unavailable (-0000000022:2222:-0000000022)'],
    },
    {
      id: 'microsoft.5.7.509-dmarc',
      match: { provider: M, text: /does not pass DMARC verification/i },
      category: 'auth_failure',
      examples: [
        '550 5.7.509 Access denied, sending domain [EXAMPLE.JP] does not pass DMARC verification and has a DMARC policy of reject.',
      ],
    },
    {
      // 4.4.318 / 5.4.318: the connection to the remote host broke; a network matter.
      id: 'microsoft.suspicious-remote-server',
      match: { provider: M, text: /SuspiciousRemoteServerError/i },
      category: 'network_error',
      examples: [
        '450 4.4.318 Connection was closed abruptly (SuspiciousRemoteServerError)',
        '550 5.4.318 Message expired, connection reset (SuspiciousRemoteServerError)',
      ],
    },
    {
      id: 'microsoft.pfa-agent-busy',
      match: { provider: M, text: /PFA agent busy/i },
      category: 'remote_error',
      examples: ['451 4.7.700 PFA agent busy, please try again. [***.***.prod.protection.outlook.com]'],
    },
  ],
);
