import type { ReplyRule } from '../rule.js';
import { ADDRESSING_RULES } from './addressing.js';
import { BLOCKING_RULES } from './blocking.js';
import { TRANSPORT_RULES } from './transport.js';

/** Generic text rules, in the order they are tried: blocks before addresses before transport. */
export const GENERIC_RULES: readonly ReplyRule[] = [
  ...BLOCKING_RULES,
  ...ADDRESSING_RULES,
  ...TRANSPORT_RULES,
];
