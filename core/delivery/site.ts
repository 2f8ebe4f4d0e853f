/**
 * A *site* is where mail for a domain physically goes: the set of its MX hosts (MX rollup,
 * as in KumoMTA's `site_name` and Postfix's per-nexthop queues). Every domain hosted at
 * Google Workspace publishes the same MX hosts, so they share one site, one ready queue and
 * one budget per source IP: the receiver counts connections and messages per sending IP, not
 * per recipient domain.
 *
 * The key is the host *set*, not the list: sorted, lowercased, without the trailing root
 * dot, duplicates dropped. MX preference order and the random order among equal preferences
 * (RFC 5321 §5.1) differ from lookup to lookup and from domain to domain (one customer lists
 * ALT1 first, another ASPMX), but the machines, and so the receiver's limits, are the same.
 */
export type SiteKey = string;

/** Site key of an MX host list, e.g. `aspmx.l.google.com|alt1.aspmx.l.google.com` sorted. */
export function siteKey(mxHosts: readonly string[]): SiteKey {
  const hosts = new Set(
    mxHosts.map((h) => h.trim().toLowerCase().replace(/\.$/, '')).filter((h) => h !== ''),
  );
  return [...hosts].sort().join('|');
}

/** The MX hosts a site key stands for. */
export function siteHosts(key: SiteKey): readonly string[] {
  return key === '' ? [] : key.split('|');
}
