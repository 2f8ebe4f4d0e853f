import { classifyReply } from '../bounce/classify.js';
import type { Category } from '../bounce/taxonomy.js';
import { type RecipientOutcome, retryHintMs } from './delivery-outcome.js';
import type { SmtpPhase, SmtpReply } from './smtp-reply.js';
import type { SmtpSendResult } from './smtp-result.js';

/**
 * Turns what one SMTP session reported into one outcome per recipient. Pure: the
 * classifier decides permanence from the reply, so a 550 is a value here, not an error.
 */
export function outcomeForReply(
  reply: SmtpReply,
  phase: SmtpPhase,
  provider: string | null,
): RecipientOutcome {
  // A 2yz reply is a positive completion whatever its text (RFC 5321 §4.2.1): no rule can
  // make it a failure, so the classifier is not asked (it runs for every delivered mail).
  if (reply.code >= 200 && reply.code < 300) return { kind: 'delivered', reply };
  const c = classifyReply({ code: reply.code, enhanced: reply.enhanced, text: reply.text, phase, provider });
  switch (c.permanence) {
    case 'none':
      return reply.code < 300
        ? { kind: 'delivered', reply }
        : deferredWithReply(reply, phase, c.category, 'unexpected reply');
    case 'transient':
      return deferredWithReply(reply, phase, c.category, c.ruleId);
    case 'permanent':
      return { kind: 'bounced', reply, phase, category: c.category, action: c.action, detail: c.ruleId };
  }
}

/** The connection broke after the final dot: delivered or not, nobody knows; retried. */
function ambiguousOutcome(detail: string): RecipientOutcome {
  return {
    kind: 'deferred',
    reply: null,
    phase: 'dot',
    category: 'network_error',
    detail: `ambiguous: ${detail}`,
    retryHintMs: null,
    ambiguous: true,
  };
}

/** A transient refusal with its reply; the reply's text may say when to retry. */
function deferredWithReply(
  reply: SmtpReply,
  phase: SmtpPhase,
  category: Category,
  detail: string,
): RecipientOutcome {
  return { kind: 'deferred', reply, phase, category, detail, retryHintMs: retryHintMs(reply.text) };
}

/** An outcome without a reply: the connection, DNS or the session broke (always transient). */
export function deferredWithoutReply(phase: SmtpPhase, category: Category, detail: string): RecipientOutcome {
  return { kind: 'deferred', reply: null, phase, category, detail, retryHintMs: null };
}

/**
 * Every MX host that answered refused the session itself: a 4xx or 5xx greeting or EHLO
 * reply (RFC 5321 §3.1, §4.3.2), most often about the connecting IP ("Client host [ip]
 * blocked using zen.spamhaus.org"). Deferred whatever the code, as Postfix does by default
 * (smtp_skip_5xx_greeting): a refused session says nothing about the recipient, and another
 * IP, or a later attempt, may be taken. The reply is kept, so that its category reaches the
 * delivery log, the same-attempt reroute and the IP's workflow like any other refusal.
 */
export function outcomeForRefusedSession(
  reply: SmtpReply,
  phase: SmtpPhase,
  provider: string | null,
  detail: string,
): RecipientOutcome {
  const c = classifyReply({ code: reply.code, enhanced: reply.enhanced, text: reply.text, phase, provider });
  return deferredWithReply(reply, phase, c.category, detail);
}

/**
 * Per-recipient outcomes of a session that reached MAIL FROM. `session_failed` results
 * are not handled here: the caller moves on to the next MX host.
 */
export function outcomesOfSession(
  result: Exclude<SmtpSendResult, { kind: 'session_failed' }>,
  recipients: readonly string[],
  provider: string | null,
): Map<string, RecipientOutcome> {
  const out = new Map<string, RecipientOutcome>();
  switch (result.kind) {
    case 'mail_rejected': {
      const o = result.reply
        ? outcomeForReply(result.reply, 'mail', provider)
        : deferredWithoutReply('mail', 'protocol_error', 'MAIL FROM failed without a reply');
      for (const r of recipients) out.set(r, o);
      return out;
    }
    case 'transaction': {
      const data = result.data;
      for (const rcpt of result.recipients) {
        if (!rcpt.accepted) {
          out.set(
            rcpt.address,
            rcpt.reply
              ? outcomeForReply(rcpt.reply, 'rcpt', provider)
              : deferredWithoutReply('rcpt', 'protocol_error', 'RCPT refused without a reply'),
          );
          continue;
        }
        switch (data.kind) {
          case 'accepted':
          case 'rejected':
            out.set(
              rcpt.address,
              data.reply
                ? outcomeForReply(data.reply, 'dot', provider)
                : deferredWithoutReply('dot', 'protocol_error', 'DATA refused without a reply'),
            );
            break;
          case 'interrupted':
            // After the dot the message may or may not have been taken (RFC 5321 §6.1):
            // retrying risks a duplicate, not retrying risks a loss; we retry, and say so.
            // An unknown afterDot is treated as after: "may have arrived".
            out.set(
              rcpt.address,
              data.afterDot === false
                ? deferredWithoutReply('data', 'network_error', data.detail)
                : ambiguousOutcome(data.detail),
            );
            break;
          case 'not_sent':
            out.set(rcpt.address, deferredWithoutReply('data', 'protocol_error', 'no recipient accepted'));
            break;
        }
      }
      return out;
    }
  }
}
