import type { Category } from './bounce/taxonomy.js';

export type SuppressionOrigin = 'bounce' | 'complaint' | 'manual';

/**
 * Whether an outcome puts the recipient on the tenant's suppression list: a permanent
 * failure that says the address itself is bad, or a complaint (docs/architecture.md,
 * "Bounces and the taxonomy"). Blocks, rate limits, policy and content rejections never do:
 * the address is fine.
 */
export function suppressionOriginFor(category: Category, permanent: boolean): SuppressionOrigin | null {
  switch (category) {
    case 'recipient_unknown':
    case 'mailbox_disabled':
    case 'domain_unknown':
    case 'has_moved':
      return permanent ? 'bounce' : null;
    case 'complaint':
      return 'complaint';
    default:
      return null;
  }
}

/** Suppression lists match addresses case-insensitively. */
export function suppressionKey(address: string): string {
  return address.toLowerCase();
}
