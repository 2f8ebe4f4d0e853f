import type { ReplyRule } from '../rule.js';
import { CARRIER_RULES } from './carriers.js';
import { CLIENT_RULES } from './client.js';
import { CONTENT_RULES, POLICY_RULES } from './content.js';
import { CORPUS_PHRASE_RULES } from './corpus-phrases.js';
import { LISTING_RULES } from './listings.js';
import { MAILBOX_RULES } from './mailbox.js';
import { TRANSPORT_RULES } from './transport.js';

/**
 * Generic text rules, in the order they are tried: listings first (frozen for the IP
 * workflow, listings.ts), then particular systems' wording, the sending side (IP, sender,
 * rate, relaying) before the recipient (a block sent with 5.1.1 must not suppress), wording
 * added from corpus misses (corpus-phrases.ts), the message, the transport, and the vague
 * policy words last.
 */
export const GENERIC_RULES: readonly ReplyRule[] = [
  ...LISTING_RULES,
  ...CARRIER_RULES,
  ...CLIENT_RULES,
  ...CORPUS_PHRASE_RULES,
  ...MAILBOX_RULES,
  ...CONTENT_RULES,
  ...TRANSPORT_RULES,
  ...POLICY_RULES,
];
