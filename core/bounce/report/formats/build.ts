import type { SmtpPhase } from '../../../delivery/smtp-reply.js';
import { cleanAddress, findReply, phaseOf, squash } from '../text.js';
import type { DsnAction, FoundRecipient } from '../types.js';

/** A FoundRecipient from a recipient and the MTA's words about it. */
export function found(
  recipient: string,
  diagnostic: string,
  opts: {
    action?: DsnAction;
    status?: string | null;
    remoteMta?: string | null;
    phase?: SmtpPhase;
    firstHand?: boolean;
  } = {},
): FoundRecipient {
  const diag = squash(diagnostic);
  const reply = findReply(diag);
  return {
    recipient: cleanAddress(recipient),
    // A text bounce is a final failure unless its parser knows it is a delay warning.
    action: opts.action ?? 'failed',
    status: opts.status ?? reply.enhanced,
    diagnostic: diag,
    replyCode: reply.code,
    remoteMta: opts.remoteMta ?? null,
    phase: opts.phase ?? phaseOf(diag),
    ...(opts.firstHand ? { firstHand: true } : {}),
  };
}

/** Lines of a text, CR removed. */
export function lines(text: string): string[] {
  return text.split(/\r?\n/).map((l) => l.replace(/\r$/, ''));
}
