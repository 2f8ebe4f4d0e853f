import type { ReplyRule } from '../rule.js';
import { APPLE_RULES } from './apple.js';
import { CABLE_RULES } from './cable.js';
import { COMCAST_RULES } from './comcast.js';
import {
  BARRACUDA_RULES,
  CLOUDFLARE_RULES,
  MIMECAST_RULES,
  PROOFPOINT_RULES,
  ZOHO_RULES,
} from './gateways.js';
import { GMX_RULES } from './gmx.js';
import { GOOGLE_RULES } from './google.js';
import { MICROSOFT_RULES } from './microsoft.js';
import { ORANGE_RULES } from './orange.js';
import { PROTON_RULES } from './proton.js';
import { YAHOO_RULES } from './yahoo.js';

/**
 * Provider rules, tried before the generic ones. A rule never matches a reply from another
 * known provider; when the provider is unknown, the first provider in this list whose text
 * matches wins, so providers with the most distinctive wording come first.
 */
export const PROVIDER_RULES: readonly ReplyRule[] = [
  ...GOOGLE_RULES,
  ...MICROSOFT_RULES,
  ...YAHOO_RULES,
  ...APPLE_RULES,
  ...PROTON_RULES,
  ...GMX_RULES,
  ...ORANGE_RULES,
  ...COMCAST_RULES,
  ...MIMECAST_RULES,
  ...PROOFPOINT_RULES,
  ...BARRACUDA_RULES,
  ...CLOUDFLARE_RULES,
  ...ZOHO_RULES,
  ...CABLE_RULES,
];
