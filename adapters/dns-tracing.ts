import type { DnsAnswer, DnsResolver } from './dns.js';
import { inSpan, SpanKind } from './tracing.js';

/**
 * A span per lookup (MX of the recipient domain, addresses of each MX host, MTA-STS TXT),
 * answered from the cache or not, with what it answered. Used only when tracing is on.
 */
export function tracedResolver(inner: DnsResolver): DnsResolver {
  const traced =
    <T>(type: string, lookup: (name: string) => Promise<DnsAnswer<T>>) =>
    (name: string) =>
      inSpan(
        `dns ${type}`,
        { 'dns.question.name': name, 'dns.question.type': type },
        async (span) => {
          const answer = await lookup(name);
          span?.setAttribute('dns.answer', answer.kind);
          if (answer.kind === 'ok' && Array.isArray(answer.value))
            span?.setAttribute('dns.answer.count', answer.value.length);
          return answer;
        },
        { kind: SpanKind.CLIENT },
      );
  return {
    mx: traced('MX', (n) => inner.mx(n)),
    addresses: traced('A/AAAA', (n) => inner.addresses(n)),
    txt: traced('TXT', (n) => inner.txt(n)),
  };
}
