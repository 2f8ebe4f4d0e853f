import type { KnownProvider } from '../delivery/providers.js';
import type { SmtpPhase } from '../delivery/smtp-reply.js';
import type { Action, Category, Permanence, Scope } from './taxonomy.js';

/** A rule may be specific to a mailbox provider of provider detection (core/delivery/providers.ts). */
export type ProviderId = KnownProvider;

/**
 * A reply-code pattern: an exact code (550) or a class ('4xx', '5xx', '2xx').
 */
export type CodePattern = number | '2xx' | '4xx' | '5xx';

/**
 * What a rule looks at. Every field given must match; an empty matcher matches all.
 * - `status`: enhanced-status patterns (RFC 3463). 'x' stands for any digit group and a
 *   shorter pattern is a prefix by parts: '5.7' matches 5.7.1 and 5.7.26 (not 5.70.1);
 *   'x.1.1' matches 4.1.1 and 5.1.1. A rule with `status` never matches a reply without one.
 * - `text`: tested against the reply text with the leading code and enhanced status removed
 *   and whitespace collapsed. Write it case-insensitive (`/…/i`).
 * - `provider`: the provider the rule was written for. The rule also matches when the input's
 *   provider is unknown (null, undefined or 'other'), because its text is distinctive,
 *   unless `providerOnly` is set; it never matches a reply from another known provider.
 * - `phase`: the SMTP commands the reply may answer; ignored when the input's phase is unknown.
 */
export interface ReplyMatch {
  readonly code?: readonly CodePattern[];
  readonly status?: readonly string[];
  readonly text?: RegExp;
  readonly provider?: ProviderId;
  readonly providerOnly?: boolean;
  readonly phase?: readonly SmtpPhase[];
}

/** One classification rule. Rules are data; the first that matches wins. */
export interface ReplyRule {
  /** Stable id, e.g. "yahoo.ts04", "google.5.7.28-spam", "generic.user-unknown", "rfc3463.5.1.1". */
  readonly id: string;
  readonly match: ReplyMatch;
  readonly category: Category;
  /** Only when it differs from what the reply code's class says (2xx none, 4xx transient, 5xx permanent). */
  readonly permanence?: Permanence;
  /** Only when it differs from the category's scope (CATEGORY_SCOPE in classify.ts). */
  readonly scope?: Scope;
  /** Only when it differs from the default for the category and permanence (see classify.ts). */
  readonly action?: Action;
  /** Real reply lines providers sent that this rule must classify (tested). */
  readonly examples: readonly string[];
  /** Where the wording comes from: a provider page or RFC. */
  readonly source?: string;
}
