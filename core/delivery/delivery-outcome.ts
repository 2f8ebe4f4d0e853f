import type { Action, Category } from '../bounce/taxonomy.js';
import type { SmtpPhase, SmtpReply } from './smtp-reply.js';

/** What one delivery attempt did for one recipient. */
export type RecipientOutcome =
  | { readonly kind: 'delivered'; readonly reply: SmtpReply }
  | {
      readonly kind: 'deferred';
      readonly reply: SmtpReply | null;
      readonly phase: SmtpPhase;
      readonly category: Category;
      /** Human-readable cause when there is no reply (connection refused, DNS timeout …). */
      readonly detail: string;
      /** A wait the remote asked for, ms. */
      readonly retryHintMs: number | null;
      /**
       * The connection broke after the final dot was sent: the remote may have taken the
       * message (RFC 5321 §6.1), so a retry may duplicate it. Recorded as `ambiguous`.
       */
      readonly ambiguous?: true;
    }
  | {
      readonly kind: 'bounced';
      readonly reply: SmtpReply | null;
      readonly phase: SmtpPhase;
      readonly category: Category;
      /** The classification's action: `suppress` puts the address on the suppression list. */
      readonly action: Action;
      readonly detail: string;
    };

const HINT =
  /(?:try|retry)(?:\s+again)?\s+(?:in|after)\s+(\d{1,5})\s*(second|sec|s|minute|min|m|hour|hr|h)s?\b/i;
const HINT_UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** A "try again in N minutes" hint in a reply's text, in ms, or null. */
export function retryHintMs(text: string): number | null {
  const m = HINT.exec(text);
  if (!m) return null;
  const unit = m[2]!.toLowerCase()[0]!;
  return Number(m[1]) * HINT_UNIT_MS[unit]!;
}
