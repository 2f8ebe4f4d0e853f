import type { ReplyRule } from '../rule.js';

/**
 * Last resort, on the reply code's class alone (RFC 5321 §4.2.1): 2yz done, 4yz try again,
 * 5yz do not. Nothing is left unclassified or silently dropped (docs/architecture.md,
 * "Bounces and the taxonomy").
 */
export const CATCH_ALL_RULES: readonly ReplyRule[] = [
  {
    id: 'catch-all.2xx',
    match: { code: ['2xx'] },
    category: 'delivered',
    sources: ['RFC 5321 §4.2.1'],
    // The Node smtp-server default answer to DATA.
    examples: ['250 OK: message queued'],
  },
  {
    id: 'catch-all.4xx',
    match: { code: ['4xx'] },
    category: 'unknown',
    sources: ['RFC 5321 §4.2.1'],
    examples: ['421'],
  },
  {
    id: 'catch-all.5xx',
    match: { code: ['5xx'] },
    category: 'unknown',
    sources: ['RFC 5321 §4.2.1'],
    examples: ['550 Rejected'],
  },
  {
    // No usable reply code (a DSN without one): permanence falls back to the status class.
    id: 'catch-all.none',
    match: {},
    category: 'unknown',
    sources: ['RFC 5321 §4.2.1'],
    examples: ['----- The following addresses had permanent delivery errors -----'],
  },
];
