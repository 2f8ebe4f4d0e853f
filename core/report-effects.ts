import type { DsnAction, ReportResult } from './bounce/report/types.js';
import type { Action, Category, Permanence } from './bounce/taxonomy.js';
import type { EventName } from './events.js';
import { type SuppressionOrigin, suppressionOriginFor } from './suppression.js';

/** What a received report does to one recipient of one of our messages. */
export interface ReportEffect {
  readonly address: string;
  readonly event: Extract<EventName, 'bounced' | 'complained' | 'delivery_delayed'>;
  readonly category: Category;
  readonly permanence: Permanence;
  /** What the classification says to do (suppression reads it; reports read the category). */
  readonly action: Action;
  readonly detail: string;
  readonly status: string | null;
  readonly replyCode: number | null;
  readonly suppress: SuppressionOrigin | null;
}

/**
 * Decides the effects of a DSN, complaint or auto-reply on the message the VERP address
 * named. `recipients` are the message's envelope recipients; `verpRecipient` is the one
 * the return path encoded, when the transaction had a single recipient. Recipients the
 * report names that are not ours are ignored: a report cannot touch other addresses.
 */
export function reportEffects(
  report: ReportResult,
  recipients: readonly string[],
  verpRecipient: string | null,
): ReportEffect[] {
  const ours = new Map(recipients.map((r) => [r.toLowerCase(), r]));
  const resolve = (named: string | null): string | null => {
    if (verpRecipient) return verpRecipient;
    return named ? (ours.get(named.toLowerCase()) ?? null) : null;
  };
  switch (report.kind) {
    case 'dsn':
      return report.recipients.flatMap((r): ReportEffect[] => {
        const address = resolve(r.recipient);
        if (!address) return [];
        const c = r.classification;
        const base = {
          address,
          category: c.category,
          permanence: c.permanence,
          action: c.action,
          detail: r.diagnostic || c.ruleId,
          status: r.status,
          replyCode: r.replyCode,
        };
        const effect = dsnEffect(r.action);
        if (!effect) return [];
        // A DSN's own Action says whether the reporting MTA gave up (RFC 3464 §2.3.3); the
        // classification's action says whether the address itself is bad.
        const suppress = effect.event === 'bounced' ? suppressionOriginFor(c) : null;
        return [{ ...base, event: effect.event, suppress }];
      });
    case 'complaint': {
      const named = report.recipients.length > 0 ? report.recipients : [report.recipient];
      const addresses = [...new Set(named.map(resolve).filter((a): a is string => a !== null))];
      return addresses.map((address) => ({
        address,
        event: 'complained',
        category: 'complaint',
        permanence: 'none',
        action: report.classification.action,
        detail: `feedback report: ${report.feedbackType}`,
        status: null,
        replyCode: null,
        suppress: suppressionOriginFor(report.classification),
      }));
    }
    case 'auto_reply':
    case 'not_bounce':
      return [];
  }
}

/** The event a DSN action calls for (RFC 3464 §2.3.3), or null when it needs none. */
function dsnEffect(action: DsnAction): { event: 'bounced' | 'delivery_delayed' } | null {
  switch (action) {
    case 'failed':
      return { event: 'bounced' };
    case 'delayed':
      // The remote MTA is still trying: worth a notice, not a change of state.
      return { event: 'delivery_delayed' };
    case 'delivered':
    case 'relayed':
    case 'expanded':
      return null;
  }
}
