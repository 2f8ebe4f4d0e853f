import { citing, type ReplyRule } from '../rule.js';

// US cable ISPs that end their refusals with an "AUP#" code naming the real reason, behind
// a generic "sender rejected" text. Codes from the providers' public pages:
// Cox https://www.cox.com/residential/support/email-error-codes.html and Spectrum
// https://www.spectrumbusiness.net/support/internet/understanding-email-error-codes.
// No provider id: the codes are distinctive, and these MXs are not in provider detection.

export const CABLE_RULES: readonly ReplyRule[] = citing(
  [
    'https://www.cox.com/residential/support/email-error-codes.html',
    'https://www.spectrumbusiness.net/support/internet/understanding-email-error-codes',
    'corpus:rhost-cox',
    'corpus:rhost-spectrum',
  ],
  [
    {
      // Cox CXBL/CDRBL: the sending IP is blocked for spam-like behaviour; CXDNS: its DNS is
      // wrong; IPBLxxxx: listed on DNSBLs (Spamhaus Zen, Return Path, ivmSIP, Cloudmark CSI).
      id: 'cox.aup-ip-blocked',
      match: { code: ['5xx', '4xx'], text: /AUP#(?:CXBL|CDRBL|CXDNS|IPBL\d+)\b/i },
      category: 'ip_blocked',
      examples: [
        '550 5.1.0 <bounce@mailer.cnt1.example.com> sender rejected. Refer to Error Codes section at https://www.cox.com/residential/support/email-error-codes.html for more information. AUP#CDRBL',
      ],
    },
    {
      // Spectrum AUP#I-1300..1490 (incoming): too many concurrent connections, messages or
      // recipients from the sending IP.
      id: 'spectrum.aup-rate-limited',
      match: { code: ['5xx', '4xx'], text: /AUP#I[a-z]*-?1(?:3\d\d|4[0-9]\d)\b/i },
      category: 'rate_limited',
      examples: [
        '550 5.1.0 <010001725d8ad4fc-9fe8fb1f-0292-430b-a634-1eba65166dbb-000000@amazonses.com> sender rejected. Please see https://www.spectrum.net/support/internet/understanding-email-error-codes for more information. AUP#In-1310',
      ],
    },
  ],
);
