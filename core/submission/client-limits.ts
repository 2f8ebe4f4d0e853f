/**
 * Per-client limits of the SMTP submission listeners: open connections, and failed
 * authentications (no password guessing). Clients are counted by address: an IPv4 address,
 * or the /64 an IPv6 address belongs to (one subscriber usually holds a whole /64, RFC 6177
 * §2). No I/O: the caller passes the time in.
 */
export interface ClientLimitRules {
  /** Connections one client may hold open at once. */
  readonly maxConnections: number;
  /** Failed authentications within `failureWindowMs` that block the client. */
  readonly maxAuthFailures: number;
  readonly failureWindowMs: number;
  /** How long a blocked client is refused, ms. */
  readonly blockMs: number;
}

/**
 * Failures: fail2ban's defaults (jail.conf: maxretry 5, findtime 10m, bantime 10m), which
 * the mail servers' auth jails keep. Connections: fewer than Postfix's default of 50
 * (smtpd_client_connection_count_limit): an application submits over a small pool of
 * connections, and a client holding more is holding them open on purpose.
 */
export const DEFAULT_CLIENT_LIMITS: ClientLimitRules = {
  maxConnections: 20,
  maxAuthFailures: 5,
  failureWindowMs: 10 * 60_000,
  blockMs: 10 * 60_000,
};

/** The key a client is counted under: the IPv4 address, or the /64 of an IPv6 one. */
export function clientKey(remoteAddress: string): string {
  const v4 = remoteAddress.replace(/^::ffff:/i, '');
  if (!v4.includes(':')) return v4;
  const [head, tail] = v4.split('::') as [string, string | undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups =
    tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (g || '0').toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

interface ClientState {
  connections: number;
  /** Times of failed authentications within the window, oldest first (ms). */
  failures: number[];
  blockedUntil: number;
}

export type Admission =
  | { readonly ok: true }
  | { readonly ok: false; readonly why: 'blocked' | 'connections' };

/** Entries kept before expired ones are swept (a flood of new addresses cannot grow it without bound). */
const SWEEP_AT = 10_000;

export function createClientLimits(rules: ClientLimitRules) {
  const clients = new Map<string, ClientState>();

  function state(key: string, now: number): ClientState {
    let s = clients.get(key);
    if (!s) {
      if (clients.size >= SWEEP_AT) sweep(now);
      s = { connections: 0, failures: [], blockedUntil: 0 };
      clients.set(key, s);
    }
    return s;
  }

  function prune(s: ClientState, now: number): void {
    while (s.failures.length > 0 && s.failures[0]! <= now - rules.failureWindowMs) s.failures.shift();
  }

  /** Forgets clients with no connection open, no failure in the window and no block. */
  function sweep(now: number): void {
    for (const [key, s] of clients) {
      prune(s, now);
      if (s.connections === 0 && s.failures.length === 0 && s.blockedUntil <= now) clients.delete(key);
    }
  }

  function blocked(key: string, now: number): boolean {
    const s = clients.get(key);
    return s !== undefined && s.blockedUntil > now;
  }

  return {
    /** Counts a new connection if the client may open one. */
    connect(key: string, now: number): Admission {
      if (blocked(key, now)) return { ok: false, why: 'blocked' };
      const s = state(key, now);
      if (s.connections >= rules.maxConnections) return { ok: false, why: 'connections' };
      s.connections++;
      return { ok: true };
    },
    /** A counted connection closed. */
    disconnect(key: string): void {
      const s = clients.get(key);
      if (s && s.connections > 0) s.connections--;
    },
    /** Whether the client is refused now (for a failed-authentication block). */
    blocked,
    /** The end of the client's block, ms; 0 when it is not blocked. */
    blockedUntil(key: string, now: number): number {
      return blocked(key, now) ? clients.get(key)!.blockedUntil : 0;
    },
    /** Records a failed authentication; returns whether the client is now blocked. */
    authFailed(key: string, now: number): boolean {
      const s = state(key, now);
      prune(s, now);
      s.failures.push(now);
      if (s.failures.length >= rules.maxAuthFailures) {
        s.blockedUntil = now + rules.blockMs;
        s.failures = [];
      }
      return s.blockedUntil > now;
    },
    /** Clients tracked (for tests and metrics). */
    size: () => clients.size,
  };
}

export type ClientLimits = ReturnType<typeof createClientLimits>;
