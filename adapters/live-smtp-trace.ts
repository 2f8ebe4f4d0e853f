import type { TraceTag } from '../core/delivery/smtp-session-types.js';

/**
 * Live SMTP trace (`posthorn trace`, the console's Trace page, GET /admin/trace): the
 * client and server lines of this node's SMTP sessions as they happen, for the sessions an
 * operator asks about. In memory only, nothing is stored; with no subscriber a line costs
 * one property check.
 *
 * A session's set-up (connect, greeting, EHLO, STARTTLS) comes before any message is
 * known, so it is kept (a few lines) and shown to a subscriber filtering by tenant or
 * recipient domain just before the first transaction of that session that matches.
 */

export type TraceDirection = 'client' | 'server' | 'info';

export interface SmtpTraceLine {
  /** ms since the epoch */
  readonly atMs: number;
  /** Node-local session number: lines with the same number share one connection. */
  readonly session: number;
  readonly ip: string | null;
  readonly mxHost: string;
  readonly mxAddress: string;
  readonly direction: TraceDirection;
  readonly text: string;
  /** The transaction's message, tenant and recipients; absent outside a transaction. */
  readonly tag?: TraceTag & { readonly recipientDomains: readonly string[] };
}

export interface TraceFilter {
  /** Recipient domain (lower case). */
  readonly domain?: string;
  readonly ip?: string;
  readonly tenantId?: string;
}

export interface SmtpTraceBus {
  /** True while someone listens: sessions skip building lines otherwise. */
  readonly active: boolean;
  subscribe(filter: TraceFilter, onLine: (line: SmtpTraceLine) => void): () => void;
  /** A session's lines; `setup` marks connection set-up lines (kept for late matches). */
  publish(line: SmtpTraceLine, setup: boolean): void;
  /** The session closed: its kept set-up lines are dropped. */
  closed(session: number): void;
  /** A number for a new session, unique on this node (lines of one session read in order). */
  nextSession(): number;
}

/** Set-up lines kept per session: greeting, EHLO and its multi-line reply, STARTTLS, EHLO again. */
const MAX_SETUP_LINES = 40;
/** Sessions kept per subscriber to know whose set-up it has seen. */
const MAX_SEEN_SESSIONS = 10_000;

interface Subscriber {
  readonly filter: TraceFilter;
  readonly onLine: (line: SmtpTraceLine) => void;
  readonly seen: Set<number>;
}

function matchesTransaction(f: TraceFilter, tag: NonNullable<SmtpTraceLine['tag']>): boolean {
  if (f.tenantId !== undefined && tag.tenantId !== f.tenantId) return false;
  if (f.domain !== undefined && !tag.recipientDomains.includes(f.domain)) return false;
  return true;
}

export function createSmtpTraceBus(): SmtpTraceBus {
  const subscribers = new Set<Subscriber>();
  const setupLines = new Map<number, SmtpTraceLine[]>();
  let sessionCounter = 0;

  return {
    get active() {
      return subscribers.size > 0;
    },
    subscribe(filter, onLine) {
      const s: Subscriber = { filter, onLine, seen: new Set() };
      subscribers.add(s);
      return () => {
        subscribers.delete(s);
        if (subscribers.size === 0) setupLines.clear();
      };
    },
    publish(line, setup) {
      if (subscribers.size === 0) return;
      if (setup) {
        const kept = setupLines.get(line.session) ?? [];
        if (kept.length < MAX_SETUP_LINES) kept.push(line);
        setupLines.set(line.session, kept);
      }
      for (const s of subscribers) {
        const f = s.filter;
        if (f.ip !== undefined && line.ip !== f.ip) continue;
        const byMessage = f.domain !== undefined || f.tenantId !== undefined;
        if (!byMessage) {
          s.onLine(line);
          continue;
        }
        // Only the lines of matching transactions, each session's set-up first.
        if (!line.tag || !matchesTransaction(f, line.tag)) continue;
        if (!s.seen.has(line.session)) {
          if (s.seen.size >= MAX_SEEN_SESSIONS) s.seen.clear();
          s.seen.add(line.session);
          for (const l of setupLines.get(line.session) ?? []) s.onLine(l);
        }
        s.onLine(line);
      }
    },
    closed(session) {
      setupLines.delete(session);
    },
    nextSession: () => ++sessionCounter,
  };
}
