import { classifyReply } from '../bounce/classify.js';
import type { ProviderId } from '../delivery/providers.js';
import type { SmtpPhase, SmtpReply } from '../delivery/smtp-reply.js';
import { effectFor, reputationRuleFor } from './reputation.js';

/**
 * What one refusal means for the node's egress right now (docs/architecture.md, "The reroute
 * path"), read from what the classifier (core/bounce/) and the reputation rules already say:
 * nothing here recognises a reply by itself.
 */
export interface ReplyEffects {
  /**
   * The classifier scopes the refusal to the sending IP (a listing, an IP reputation
   * deferral, a rate limit on the IP): another IP of the pool may take the message at once.
   */
  readonly ipScoped: boolean;
  /**
   * The receiver asked for less (the classifier's `rate_limited`, unless scoped to one
   * recipient, or a reputation rule that throttles): the (IP × site) queue lowers its
   * concurrency and rate (core/delivery/aimd.ts).
   */
  readonly congested: boolean;
  /**
   * The IP workflow's reputation rule for this reply suspends the IP for the provider: the
   * node does the same at once, for the rule's duration (before any effect scale).
   */
  readonly suspend: { readonly ruleId: string; readonly durationMs: number } | null;
}

export const NO_EFFECTS: ReplyEffects = Object.freeze({ ipScoped: false, congested: false, suspend: null });

export function replyEffects(reply: SmtpReply, phase: SmtpPhase, provider: ProviderId): ReplyEffects {
  // A 2yz is a success whatever it says (RFC 5321 §4.2.1); a 3yz is not a refusal.
  if (reply.code < 400) return NO_EFFECTS;
  const c = classifyReply({ code: reply.code, enhanced: reply.enhanced, text: reply.text, phase, provider });
  // The same look-up the IP workflow makes (core/routing/ip-actor.ts), so both agree.
  const rule = reputationRuleFor(provider, reply);
  const effect = rule ? effectFor(rule, provider) : null;
  return {
    ipScoped: c.scope === 'ip',
    // A rate limit the classifier scopes to the recipient (Gmail's "receiving mail at a rate
    // that prevents additional messages") is about one mailbox, not about our connections.
    congested: (c.category === 'rate_limited' && c.scope !== 'recipient') || effect?.kind === 'throttle',
    suspend:
      rule && effect?.kind === 'suspend' ? { ruleId: rule.ruleId, durationMs: effect.durationMs } : null,
  };
}
