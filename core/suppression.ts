import type { Action, Category } from './bounce/taxonomy.js';

export type SuppressionOrigin = 'bounce' | 'complaint' | 'manual';

/**
 * Whether an outcome puts the recipient on the tenant's suppression list. The classification's
 * action decides, not its category (docs/architecture.md, "Bounces and the taxonomy"): the
 * classifier says `suppress` only for a permanent, confirmed verdict that the address is bad
 * and for a complaint. An unconfirmed "user unknown" a relay passed on keeps category
 * recipient_unknown with action `fail`, and blocks, rate limits, policy and content
 * rejections never suppress: the address is fine. The category only names the origin.
 */
export function suppressionOriginFor(c: {
  readonly category: Category;
  readonly action: Action;
}): SuppressionOrigin | null {
  if (c.action !== 'suppress') return null;
  return c.category === 'complaint' ? 'complaint' : 'bounce';
}

/** Suppression lists match addresses case-insensitively. */
export function suppressionKey(address: string): string {
  return address.toLowerCase();
}
