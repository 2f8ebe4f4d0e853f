import { citing, type ReplyRule } from '../rule.js';

// Filtering gateways and forwarders that sit in front of other domains' mailboxes: Mimecast,
// Proofpoint, Barracuda, Cloudflare Email Routing, and Zoho's own MX. Their texts carry the
// gateway's name or code, so they match when provider detection saw only the gateway.
// Mimecast lines are the (code, response) pairs of Mimecast's "SMTP error codes" page
// (https://community.mimecast.com/s/article/email-security-cloud-gateway-mimecast-smtp-error-codes)
// as the sisimai project records them.

export const MIMECAST_RULES: readonly ReplyRule[] = citing(
  [
    'https://community.mimecast.com/s/article/email-security-cloud-gateway-mimecast-smtp-error-codes',
    'corpus:rhost-mimecast',
    'corpus:lhost-mimecast',
  ],
  [
    {
      id: 'mimecast.ip-reputation',
      match: { provider: 'mimecast', text: /local ct ip reputation|ip temporarily blacklisted/i },
      category: 'ip_blocked',
      examples: ['550 local ct ip reputation - (reject)', '451 ip temporarily blacklisted'],
    },
    {
      // The recipient organisation's policy refuses this network; another IP of ours would not help.
      id: 'mimecast.host-network-not-allowed',
      match: { provider: 'mimecast', text: /host network,? not allowed/i },
      category: 'ip_blocked',
      action: 'fail',
      examples: ['554 host network not allowed'],
    },
    {
      id: 'mimecast.envelope-blocked',
      match: {
        provider: 'mimecast',
        text: /envelope blocked|blocked senders|block policy for (?:envelope|header) from|sender address blocked/i,
      },
      category: 'sender_rejected',
      examples: [
        '550 envelope blocked - user entry',
        '550 rejected by header-based blocked senders - block policy for header from',
      ],
    },
    {
      id: 'mimecast.anti-spoofing',
      match: { provider: 'mimecast', text: /anti-spoofing policy/i },
      category: 'policy',
      examples: ['550 anti-spoofing policy - inbound not allowed'],
    },
    {
      id: 'mimecast.content-examination',
      match: { provider: 'mimecast', text: /content examination policy/i },
      category: 'content_rejected',
      examples: ['550 message bounced due to content examination policy'],
    },
    {
      id: 'mimecast.security-policies',
      match: { provider: 'mimecast', text: /email rejected due to security policies/i },
      category: 'virus_detected',
      examples: ['554 email rejected due to security policies - MCSpamSignature.sa.2.2'],
    },
    {
      id: 'mimecast.route-requires-tls',
      match: {
        provider: 'mimecast',
        text: /this route requires (?:encryption|tls|high-strength)|invalid for this certificate/i,
      },
      category: 'tls_failure',
      examples: [
        '553 this route requires encryption (tls)',
        '553 this route requires tls version 1.2 or greater',
      ],
    },
    {
      // The receiving Mimecast account is set up wrong or switched off: the destination's problem.
      id: 'mimecast.account-misconfigured',
      match: {
        provider: 'mimecast',
        text: /account (?:inbounds|outbounds) disabled|incorrect hostname used for inbounds|hostname is not authorized|account service is temporarily unavailable/i,
      },
      category: 'remote_error',
      examples: ['451 account inbounds disabled', '550 the incorrect hostname used for inbounds'],
    },
    {
      id: 'mimecast.temporary',
      match: {
        provider: 'mimecast',
        text: /message ended early|unable to process (?:connection|command|an email)|internal resources are temporarily unavailable/i,
      },
      category: 'remote_error',
      examples: ['451 message ended early', '451 unable to process connection at this time'],
    },
    {
      id: 'mimecast.thread-limit',
      match: { provider: 'mimecast', text: /exceeding outbound thread limit/i },
      category: 'rate_limited',
      examples: ['550 exceeding outbound thread limit'],
    },
  ],
);

export const PROOFPOINT_RULES: readonly ReplyRule[] = citing(
  ['https://ipcheck.proofpoint.com'],
  [
    {
      // Proofpoint Dynamic Reputation: the IP is blocked; the link is Proofpoint's IP check.
      id: 'proofpoint.pdr-blocked',
      match: { provider: 'proofpoint', text: /ipcheck\.proofpoint\.com|dnsbl-lookup\.cgi/i },
      category: 'ip_blocked',
      examples: ['554 Blocked - see https://ipcheck.proofpoint.com/?ip=1.2.3.4'],
    },
  ],
);

export const BARRACUDA_RULES: readonly ReplyRule[] = citing(
  ['https://www.barracudacentral.org', 'corpus:lhost-barracuda'],
  [
    {
      id: 'barracuda.brbl',
      match: { provider: 'barracuda', text: /Barracuda Reputation|barracudacentral\.org/i },
      category: 'ip_blocked',
      examples: [
        '554-Service unavailable; Client host [mta.example.com] blocked using Barracuda Reputation; http://www.barracudanetworks.com/reputation/?r=1&ip=1.2.3.4',
        '554 5.7.1 Service unavailable; Client host [1.2.3.4] blocked using b.barracudacentral.org; http://www.barracudanetworks.com/reputation/?pr=1&ip=45.55.44.239',
      ],
    },
    {
      // cuda_nsu: "no such user" as Barracuda Email Security Gateway writes it.
      id: 'barracuda.cuda-nsu',
      match: { provider: 'barracuda', text: /cuda_nsu/i },
      category: 'recipient_unknown',
      examples: ['550 cuda_nsu 5.1.1 <email@example.com> Recipient address rejected: User unknown'],
    },
    {
      id: 'barracuda.spoofed',
      match: { provider: 'barracuda', text: /rejecting spoofed message/i },
      category: 'policy',
      examples: ['550 rejecting spoofed message'],
    },
  ],
);

export const CLOUDFLARE_RULES: readonly ReplyRule[] = citing(
  ['https://developers.cloudflare.com/email-routing/postmaster/'],
  [
    {
      // Email Routing forwards; "Upstream error" means the final destination refused or failed.
      // https://developers.cloudflare.com/email-routing/postmaster/
      id: 'cloudflare.upstream-error',
      match: { provider: 'cloudflare', text: /Upstream error, please check/i },
      category: 'remote_error',
      examples: [
        '421 4.3.0 Upstream error, please check Postmaster · Cloudflare Email Routing docs for possible reasons why.',
      ],
    },
  ],
);

export const ZOHO_RULES: readonly ReplyRule[] = citing(
  ['https://www.zoho.com/mail/help/', 'corpus:rhost-zoho', 'corpus:lhost-zoho'],
  [
    {
      id: 'zoho.flagged-spam',
      match: { provider: 'zoho', text: /Email flagged as Spam/i },
      category: 'spam_content',
      examples: ['554 5.7.1 Email cannot be delivered. Reason: Email flagged as Spam.'],
    },
    {
      id: 'zoho.policy',
      match: {
        provider: 'zoho',
        text: /Email policy violation detected|Mail rejected by destination domain/i,
      },
      category: 'policy',
      examples: [
        '554 5.7.7 Email policy violation detected',
        '541 5.4.1 Mail rejected by destination domain',
      ],
    },
  ],
);
