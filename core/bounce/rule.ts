import type { KnownProvider } from '../delivery/providers.js';
import type { SmtpPhase } from '../delivery/smtp-reply.js';
import type { Action, Category, Confidence, Permanence, ReplyInput, Scope } from './taxonomy.js';

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
 * - `provider`: the provider the rule was written for, as provider detection names it
 *   (core/delivery/providers.ts). The rule also matches when the input's provider is unknown
 *   (null, undefined or 'other'), because its text is distinctive, unless `providerOnly` is
 *   set or the caller reads the provider as exact (MatchOptions); it never matches a reply
 *   from another known provider.
 * - `phase`: the SMTP commands the reply may answer; ignored when the input's phase is unknown.
 */
export interface ReplyMatch {
  readonly code?: readonly CodePattern[];
  readonly status?: readonly string[];
  readonly text?: RegExp;
  readonly provider?: KnownProvider;
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
  /** Only when it differs from the rule kind's default (see confidenceOf in classify.ts). */
  readonly confidence?: Confidence;
  /** Real reply lines providers sent that this rule must classify (tested). */
  readonly examples: readonly string[];
  /**
   * Where the rule comes from, so that it can be checked and so that the evaluation can tell
   * generalisation from fitting (test/eval/eval-bounces.ts, "held-family"). Each entry is a
   * public source (an RFC, a provider's page, an MTA's source text, sisimai's or KumoMTA's
   * phrase lists) or `corpus:<family>`: a family of the development corpus
   * (test/fixtures/corpus/bounces, named by its file-name prefix such as `lhost-exim` or
   * `rhost-google`) whose messages the rule was written from or tuned on. Never empty.
   */
  readonly sources: readonly string[];
}

/** The prefix of a `sources` entry that names a development-corpus family. */
export const CORPUS_SOURCE = 'corpus:';

/** The development-corpus families a rule was written from or tuned on. */
export function corpusFamilies(sources: readonly string[]): string[] {
  return sources.filter((s) => s.startsWith(CORPUS_SOURCE)).map((s) => s.slice(CORPUS_SOURCE.length));
}

/**
 * A group of rules from the same sources: each rule keeps its own entries and gains the
 * group's (a provider's error page, the corpus families its wording was checked against).
 */
export function citing(
  sources: readonly string[],
  rules: ReadonlyArray<Omit<ReplyRule, 'sources'> & { readonly sources?: readonly string[] }>,
): ReplyRule[] {
  return rules.map((r) => ({ ...r, sources: [...new Set([...(r.sources ?? []), ...sources])] }));
}

/** A reply reduced to what the rules look at (normalizeReply in classify.ts). */
export interface NormalizedReply {
  readonly code: number;
  /** Enhanced status as given, else as found in the text, normalised ("5.1.1"), or null. */
  readonly status: string | null;
  /** Text without the leading code/status, whitespace collapsed. */
  readonly text: string;
}

/** How a caller reads the input's provider. */
export interface MatchOptions {
  /**
   * The input's provider is the receiver for certain, "other" included: a provider rule then
   * matches only replies from its own provider, never one whose provider is "other". The IP
   * workflow reads replies this way (core/routing/reputation.ts): its effects are kept per
   * detected provider, and Yahoo's wording from a domain detection calls "other" says nothing
   * about the IP's standing with Yahoo.
   */
  readonly exactProvider?: boolean;
}

function isUnknownProvider(p: string | null | undefined): boolean {
  return p === null || p === undefined || p === '' || p === 'other';
}

function codeMatches(code: number, patterns: ReplyMatch['code']): boolean {
  if (patterns === undefined) return true;
  const cls = `${Math.floor(code / 100)}xx`;
  return patterns.some((p) => p === code || p === cls);
}

function statusMatches(status: string | null, patterns: ReplyMatch['status']): boolean {
  if (patterns === undefined) return true;
  if (status === null) return false;
  const parts = status.split('.');
  return patterns.some((p) => p.split('.').every((q, i) => q === 'x' || q === parts[i]));
}

function providerMatches(input: ReplyInput, m: ReplyMatch, exact: boolean): boolean {
  if (m.provider === undefined) return true;
  const given = input.provider?.toLowerCase();
  if (given === m.provider) return true;
  return !exact && !m.providerOnly && isUnknownProvider(given);
}

/** True when `rule` matches the reply (`reply` is `input` normalised). */
export function ruleMatches(
  rule: ReplyRule,
  input: ReplyInput,
  reply: NormalizedReply,
  options: MatchOptions = {},
): boolean {
  const m = rule.match;
  if (!codeMatches(reply.code, m.code)) return false;
  if (!statusMatches(reply.status, m.status)) return false;
  if (!providerMatches(input, m, options.exactProvider === true)) return false;
  if (m.phase !== undefined && input.phase !== undefined && input.phase !== 'unknown') {
    if (!m.phase.includes(input.phase)) return false;
  }
  if (m.text !== undefined) {
    // Only a /g or /y pattern moves lastIndex. Written only when it moved, so the tables stay
    // usable frozen (the IP workflow runs them inside the workflow bundle, which may share
    // and freeze pure modules across workflows).
    if (m.text.lastIndex !== 0) m.text.lastIndex = 0;
    if (!m.text.test(reply.text)) return false;
  }
  return true;
}
