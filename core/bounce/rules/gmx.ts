import { citing, type ReplyRule } from '../rule.js';

// United Internet: GMX, web.de, mail.com, 1&1/IONOS. Their servers send no enhanced status
// codes; the text plus a postmaster URL carries the reason
// (https://postmaster.gmx.net/en/error-messages).
const X = 'gmx' as const;

export const GMX_RULES: readonly ReplyRule[] = citing(
  [
    'https://postmaster.gmx.net/en/error-messages',
    'corpus:lhost-gmx',
    'corpus:lhost-einsundeins',
    'corpus:lhost-postfix',
  ],
  [
    {
      id: 'gmx.ip-block-listed',
      match: { provider: X, text: /Nemesis ESMTP Service not available.*IP address is block listed/i },
      category: 'ip_blocked',
      examples: [
        '554-gmx.net (mxgmx104) Nemesis ESMTP Service not available\n554-No SMTP service\n554-IP address is block listed.\n554 For explanation visit https://postmaster.gmx.net/en/case?c=r0201&i=ip&v=198.51.100.42&r=1MNcgj-1ue23t3pyV-00S2YR',
      ],
    },
    {
      id: 'gmx.bad-ptr',
      match: { provider: X, text: /Bad DNS PTR resource record|error-messages\?[^ ]*c=rdns/i },
      category: 'ptr_required',
      examples: [
        '554-mail.com (mxgmxus002) Nemesis ESMTP Service not available\n554-No SMTP service\n554-Bad DNS PTR resource record.\n554 For explanation visit http://postmaster.gmx.com/en/error-messages?ip=192.0.2.22&c=rdns',
      ],
    },
    {
      id: 'gmx.spf-reject',
      match: { provider: X, text: /Reject due to SPF policy/i },
      category: 'auth_failure',
      examples: [
        '550 <example@example.com>: Reject due to SPF policy. The originating IP of the message is not permitted by the domain owner',
      ],
    },
  ],
);
