/**
 * MX selection (RFC 5321 §5.1): lower preference first, random order among equal
 * preferences to spread load, and the domain itself as an implicit MX of preference 0
 * when it has no MX records but has an address record. A single MX "." is a null MX
 * (RFC 7505): the domain accepts no mail.
 */
export interface MxRecord {
  readonly exchange: string;
  readonly priority: number;
}

export type MxPlan =
  | { kind: 'hosts'; hosts: readonly string[]; implicit: boolean }
  | { kind: 'null_mx' }
  | { kind: 'no_mx' };

/**
 * @param random a source of numbers in [0, 1), injected to keep this pure.
 */
export function planMx(domain: string, records: readonly MxRecord[], random: () => number): MxPlan {
  if (records.length === 0) return { kind: 'no_mx' };
  // RFC 7505 §3: a null MX is a single record with an empty exchange (".").
  if (records.some((r) => r.exchange === '' || r.exchange === '.')) return { kind: 'null_mx' };
  const keyed = records.map((r) => ({ r, tie: random() }));
  keyed.sort((a, b) => a.r.priority - b.r.priority || a.tie - b.tie);
  const hosts: string[] = [];
  for (const { r } of keyed) {
    const host = r.exchange.replace(/\.$/, '').toLowerCase();
    if (!hosts.includes(host)) hosts.push(host);
  }
  return hosts.length > 0
    ? { kind: 'hosts', hosts, implicit: false }
    : { kind: 'hosts', hosts: [domain], implicit: true };
}
