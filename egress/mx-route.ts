import type { DnsResolver } from '../adapters/dns.js';
import { deferredWithoutReply } from '../core/delivery/attempt.js';
import type { RecipientOutcome } from '../core/delivery/delivery-outcome.js';
import { planMx } from '../core/delivery/mx.js';

/**
 * The MX hosts to try for a domain, in order, or the outcome for every recipient when there
 * is no host to try: NXDOMAIN and null MX are permanent (RFC 7505 §4.1), a DNS failure is
 * temporary (RFC 5321 §5.1), and no MX means the domain itself (implicit MX).
 */
export async function resolveMxHosts(
  dns: Pick<DnsResolver, 'mx'>,
  domain: string,
  random: () => number,
): Promise<{ hosts: readonly string[] } | { outcome: RecipientOutcome }> {
  const bounced = (detail: string): { outcome: RecipientOutcome } => ({
    // RFC 7505 §4.1, RFC 5321 §5.1: the domain cannot receive mail, so the address is suppressed.
    outcome: {
      kind: 'bounced',
      reply: null,
      phase: 'connect',
      category: 'domain_unknown',
      action: 'suppress',
      detail,
    },
  });
  const mx = await dns.mx(domain);
  switch (mx.kind) {
    case 'ok': {
      const plan = planMx(domain, mx.value, random);
      switch (plan.kind) {
        case 'hosts':
          return { hosts: plan.hosts };
        case 'null_mx':
          return bounced('null MX (RFC 7505)');
        case 'no_mx':
          return { hosts: [domain] };
      }
      break;
    }
    case 'nxdomain':
      return bounced(`NXDOMAIN for ${domain}`);
    case 'nodata':
      return { hosts: [domain] };
    case 'temporary':
      return { outcome: deferredWithoutReply('connect', 'dns_failure', `MX lookup: ${mx.detail}`) };
  }
}
