import type { NotableReply, OutcomeSummary, ProviderOutcomes } from '../../core/routing/ip-actor-types.js';

/** Distinct notable replies kept per (IP, provider) per window: enough for rules to match. */
const NOTABLE_PER_WINDOW = 5;

interface Counts {
  delivered: number;
  deferred: number;
  bounced: number;
  complaints: number;
  notable: NotableReply[];
  /** A reply in `notable` made this node suspend the IP for the provider. */
  suspends: boolean;
}

export interface OutcomeRecord {
  readonly ip: string;
  readonly provider: string;
  readonly verdict: 'delivered' | 'deferred' | 'bounced' | 'complained';
  /** The remote's reply when it was not a success. */
  readonly reply: NotableReply | null;
  /**
   * The reply suspended the IP for the provider on this node, and the IP workflow has not
   * been told yet: it goes into the next summary whatever else the window holds, and the
   * summary leaves at once rather than at the end of the window.
   */
  readonly suspends?: boolean;
}

/**
 * Aggregates delivery outcomes per (IP, provider) on this node and hands each IP workflow
 * one summary per window, never one signal per message (docs/architecture.md, "The routing
 * wing"). A failed send is kept and merged into the next window, so no outcome is lost to a
 * Temporal hiccup.
 */
export function createOutcomeFeed(deps: {
  send: (summary: OutcomeSummary) => Promise<void>;
  now: () => number;
  windowMs: number;
  onError: (err: unknown, ip: string) => void;
  /**
   * A summary carrying a reply that suspended the IP on this node reached its IP workflow;
   * `atMs` is when the send began (egress/routing/local-suspensions.ts).
   */
  onReported?: (ip: string, provider: string, atMs: number) => void;
}) {
  let soon: ReturnType<typeof setTimeout> | null = null;
  let windowStart = deps.now();
  let byIp = new Map<string, Map<string, Counts>>();
  let flushing: Promise<void> = Promise.resolve();

  function counts(ip: string, provider: string): Counts {
    let providers = byIp.get(ip);
    if (!providers) {
      providers = new Map();
      byIp.set(ip, providers);
    }
    let c = providers.get(provider);
    if (!c) {
      c = { delivered: 0, deferred: 0, bounced: 0, complaints: 0, notable: [], suspends: false };
      providers.set(provider, c);
    }
    return c;
  }

  function record(r: OutcomeRecord): void {
    const c = counts(r.ip, r.provider);
    switch (r.verdict) {
      case 'delivered':
        c.delivered++;
        break;
      case 'deferred':
        c.deferred++;
        break;
      case 'bounced':
        c.bounced++;
        break;
      case 'complained':
        c.complaints++;
        break;
    }
    const reply = r.reply;
    if (!reply || c.notable.some((n) => n.code === reply.code && n.text === reply.text)) return;
    if (c.notable.length < NOTABLE_PER_WINDOW) c.notable.push(reply);
    else if (r.suspends && !c.suspends) c.notable[c.notable.length - 1] = reply;
    else return;
    if (r.suspends && !c.suspends) {
      c.suspends = true;
      // The IP workflow should confirm the node's suspension soon: no need to wait for the window.
      soon ??= setTimeout(() => {
        soon = null;
        flushing = flushing.then(flush);
      }, 0);
    }
  }

  async function flush(): Promise<void> {
    const end = deps.now();
    const batch = byIp;
    const start = windowStart;
    byIp = new Map();
    windowStart = end;
    await Promise.all(
      [...batch].map(async ([ip, providers]) => {
        const byProvider: Record<string, ProviderOutcomes> = Object.fromEntries(
          [...providers].map(([p, { suspends: _, ...c }]) => [p, c]),
        );
        const sentAt = deps.now();
        try {
          await deps.send({ ip, windowStartMs: start, windowEndMs: end, byProvider });
          for (const [provider, c] of providers) if (c.suspends) deps.onReported?.(ip, provider, sentAt);
        } catch (err) {
          deps.onError(err, ip);
          // Merge back: the next window carries these counts.
          for (const [provider, c] of providers) {
            const into = counts(ip, provider);
            into.delivered += c.delivered;
            into.deferred += c.deferred;
            into.bounced += c.bounced;
            into.complaints += c.complaints;
            into.suspends ||= c.suspends;
            for (const n of c.notable) if (into.notable.length < NOTABLE_PER_WINDOW) into.notable.push(n);
          }
        }
      }),
    );
  }

  const timer = setInterval(() => {
    flushing = flushing.then(flush);
  }, deps.windowMs);
  timer.unref();

  return {
    record,
    /** Sends what is pending now (at shutdown, or in tests). */
    flush(): Promise<void> {
      flushing = flushing.then(flush);
      return flushing;
    },
    async close(): Promise<void> {
      clearInterval(timer);
      if (soon !== null) clearTimeout(soon);
      await this.flush();
    },
  };
}

export type OutcomeFeed = ReturnType<typeof createOutcomeFeed>;
