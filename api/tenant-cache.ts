import type { KeyPrincipal, SendingDomain, TenantStore } from '../adapters/postgres/tenants.js';

/**
 * The accept path's lookups of API keys and sending domains, cached: every request needs
 * both, and they change rarely. `invalidate` drops everything; the node calls it on each
 * change notification (a trigger on api_keys, domains and tenants NOTIFYs every node), so
 * a revoked key stops working at once. Entries also expire after `ttlMs`, in case a
 * notification was missed while the listening connection was down. Unknown keys are not
 * cached: a flood of wrong keys cannot grow the cache.
 */
export function cachedTenantLookups(
  store: Pick<TenantStore, 'principalByTokenHash' | 'domainByName'>,
  o: { ttlMs: number; now: () => number; maxEntries: number },
) {
  const principals = new Map<string, { at: number; value: KeyPrincipal }>();
  const domains = new Map<string, { at: number; value: SendingDomain | null }>();
  // Lookups started before an invalidation must not fill the cache with what they read.
  let generation = 0;

  function fresh<T>(map: Map<string, { at: number; value: T }>, key: string): { value: T } | null {
    const hit = map.get(key);
    if (!hit) return null;
    if (o.now() - hit.at < o.ttlMs) return hit;
    map.delete(key);
    return null;
  }

  function remember<T>(map: Map<string, { at: number; value: T }>, key: string, value: T, gen: number): void {
    if (gen !== generation) return;
    if (map.size >= o.maxEntries) map.clear();
    map.set(key, { at: o.now(), value });
  }

  return {
    async principalByTokenHash(tokenHash: Buffer): Promise<KeyPrincipal | null> {
      const key = tokenHash.toString('base64');
      const hit = fresh(principals, key);
      if (hit) return hit.value;
      const gen = generation;
      const value = await store.principalByTokenHash(tokenHash);
      if (value) remember(principals, key, value, gen);
      return value;
    },
    async domainByName(tenantId: string, name: string): Promise<SendingDomain | null> {
      const key = `${tenantId}/${name}`;
      const hit = fresh(domains, key);
      if (hit) return hit.value;
      const gen = generation;
      const value = await store.domainByName(tenantId, name);
      remember(domains, key, value, gen);
      return value;
    },
    invalidate(): void {
      generation++;
      principals.clear();
      domains.clear();
    },
  };
}
