/**
 * Which pool a message sends from (docs/architecture.md, "The routing wing"): the tenant's
 * dedicated pool for the message's stream, else its dedicated pool for both streams, else
 * the shared pool for the stream, else the shared pool for both.
 */
export interface PoolDef {
  readonly name: string;
  readonly tenantId: string | null;
  readonly messageType: 'transactional' | 'marketing' | null;
}

export function poolFor(pools: readonly PoolDef[], tenantId: string, messageType: string): PoolDef | null {
  const rank = (p: PoolDef): number => {
    if (p.tenantId === tenantId) return p.messageType === messageType ? 0 : p.messageType === null ? 1 : 9;
    if (p.tenantId === null) return p.messageType === messageType ? 2 : p.messageType === null ? 3 : 9;
    return 9;
  };
  let best: PoolDef | null = null;
  for (const p of pools) if (rank(p) < 9 && (best === null || rank(p) < rank(best))) best = p;
  return best;
}
