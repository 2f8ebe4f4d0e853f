import { CancelledFailure } from '@temporalio/common';
import type { DnsResolver } from '../adapters/dns.js';
import type { MtaStsLookup, MtaStsResolver } from '../adapters/mta-sts.js';
import { isHandshakeFallback } from '../adapters/smtp-session.js';
import {
  deferredWithoutReply,
  outcomeForRefusedSession,
  outcomesOfSession,
} from '../core/delivery/attempt.js';
import type { RecipientOutcome } from '../core/delivery/delivery-outcome.js';
import {
  type EgressLimits,
  type EgressLimitsConfig,
  limitsFromConfig,
  readyQueueSite,
} from '../core/delivery/egress-limits.js';
import { classifyIp } from '../core/delivery/ip-class.js';
import { mxMatchesPolicy } from '../core/delivery/mta-sts.js';
import { type SiteKey, siteKey } from '../core/delivery/site.js';
import { formatSmtpReply, type SmtpPhase, type SmtpReply } from '../core/delivery/smtp-reply.js';
import type { SmtpSendResult } from '../core/delivery/smtp-result.js';
import type { SessionFailure, TlsMode, TraceTag } from '../core/delivery/smtp-session-types.js';
import type { LocalSuspension } from '../core/routing/local-suspensions.js';
import type { Dispatcher } from './dispatcher.js';
import type { TlsMemory } from './tls-memory.js';

/** Where an attempt ended up: the outcomes and the route that produced them. */
export interface AttemptRecord {
  readonly outcomes: Map<string, RecipientOutcome>;
  readonly mxHost: string | null;
  readonly mxAddress: string | null;
  readonly tls: string | null;
}

/** The ready queue answered "not now": nothing was tried. */
export interface Throttled {
  readonly throttled: { readonly retryAfterMs: number; readonly reason: string };
}

/** The IP is suspended on this node for the provider: nothing was tried; route again. */
export interface Suspended {
  readonly suspended: LocalSuspension;
}

export interface SmtpAttemptDeps {
  readonly dns: Pick<DnsResolver, 'addresses'>;
  /** The node's egress dispatcher: ready queues, limits and kept connections. */
  readonly dispatcher: Pick<Dispatcher, 'acquire'>;
  /** The ready queue and limits for a delivery to `domain` of `provider`, whose MX set is `site`. */
  readonly limitsFor: (
    domain: string,
    site: SiteKey,
    provider: string,
  ) => { queue: SiteKey; limits: EgressLimits };
  /** Connect to MX hosts on loopback addresses (tests only; real routing never does). */
  readonly allowLoopbackMx: boolean;
  /** MTA-STS policy look-ups (RFC 8461), one cached resolver per node; null when turned off. */
  readonly mtaSts: Pick<MtaStsResolver, 'lookup'> | null;
  /** MX hosts whose STARTTLS handshake failed recently: opportunistic TLS skips them. */
  readonly tlsMemory: TlsMemory;
}

/**
 * SmtpAttemptDeps.limitsFor from the node's egress limits (POSTHORN_EGRESS_LIMITS): the
 * layers for the provider, site and domain, and the ready queue they apply to (a domain with
 * its own layer gets a queue of its own, core/delivery/egress-limits.ts).
 */
export function createLimitsFor(config: EgressLimitsConfig): SmtpAttemptDeps['limitsFor'] {
  return (domain, site, provider) => ({
    queue: readyQueueSite(config, site, domain),
    limits: limitsFromConfig(config, { provider, site, domain }),
  });
}

export interface SmtpAttemptArgs {
  readonly domain: string;
  readonly provider: string;
  readonly hosts: readonly string[];
  readonly recipients: readonly string[];
  /** Source IP; null: the machine's default source address (no pool applies). */
  readonly ip: string | null;
  readonly mailFrom: string;
  readonly message: Buffer;
  readonly heartbeat: (phase: SmtpPhase) => void;
  readonly signal: AbortSignal;
  /** The tenant requires TLS: STARTTLS with any certificate, never plaintext. */
  readonly requireTls: boolean;
  /** Whose delivery this is, for the live SMTP trace. */
  readonly trace?: TraceTag;
}

function same(recipients: readonly string[], outcome: RecipientOutcome): Map<string, RecipientOutcome> {
  return new Map(recipients.map((r) => [r, outcome]));
}

function describeFailure(r: SessionFailure): string {
  return r.reply ? `${r.phase}: ${formatSmtpReply(r.reply)}` : `${r.phase}: ${r.detail}`;
}

/**
 * The TLS policy of one attempt: which MX hosts may be used, how STARTTLS is used with them,
 * and what the attempt records about it (`null`: nothing applied beyond opportunistic TLS).
 */
interface TlsPlan {
  readonly hosts: readonly string[];
  readonly tls: Exclude<TlsMode, 'plaintext'>;
  readonly note: string | null;
}

const joinNotes = (...notes: (string | null)[]) => notes.filter(Boolean).join(' ') || null;

async function lookupSts(resolver: Pick<MtaStsResolver, 'lookup'>, domain: string): Promise<MtaStsLookup> {
  try {
    return await resolver.lookup(domain);
  } catch (err) {
    // The resolver answers with values; a throw is a bug or a broken socket: as RFC 8461
    // §5.1 treats a failed discovery, deliver without a policy.
    return { kind: 'temporary', detail: String(err) };
  }
}

/**
 * RFC 8461 §4–5 and the tenant's require-TLS (`posthorn tenants set NAME --require-tls true`):
 * `enforce` keeps the MX hosts the policy names (§4.1) and requires a certificate valid for
 * them (§4.2); `testing` delivers as usual but is recorded; no policy, mode `none` or a failed
 * discovery is opportunistic TLS. Require-TLS makes STARTTLS mandatory with any certificate.
 * When no MX host matches an enforced policy the policy is looked up once more (a new TXT id
 * replaces it; RFC 8461 §5 asks for that before a permanent failure) before the attempt is
 * deferred.
 */
async function planTls(
  deps: SmtpAttemptDeps,
  a: SmtpAttemptArgs,
): Promise<TlsPlan | { refused: string; note: string | null }> {
  const base: TlsPlan = {
    hosts: a.hosts,
    tls: a.requireTls ? 'encrypt' : 'opportunistic',
    note: a.requireTls ? 'require-tls' : null,
  };
  if (!deps.mtaSts) return base;
  let patterns: readonly string[] = [];
  let note: string | null = null;
  for (let look = 0; look < 2; look++) {
    const sts = await lookupSts(deps.mtaSts, a.domain);
    if (sts.kind !== 'policy' || sts.mode === 'none') return base;
    note = joinNotes(`mta-sts=${sts.mode}`, base.note);
    if (sts.mode === 'testing') return { ...base, note };
    const hosts = a.hosts.filter((h) => mxMatchesPolicy(h, sts.mx));
    if (hosts.length > 0) return { hosts, tls: 'verify', note };
    patterns = sts.mx;
  }
  return {
    refused: `451 4.7.5 MTA-STS: no MX matches the policy of ${a.domain} (mx: ${patterns.join(', ')}; MX hosts: ${a.hosts.join(', ') || 'none'})`,
    note,
  };
}

/** The attempt's `tls` record: protocol and cipher, or why it went plaintext, and the policy. */
function tlsRecord(
  result: Exclude<SmtpSendResult, { kind: 'session_failed' }>,
  mode: TlsMode,
  deps: SmtpAttemptDeps,
  note: string | null,
): string | null {
  let base: string | null = null;
  if (result.tls) base = `${result.tls.version} ${result.tls.cipher}`;
  else if (mode === 'plaintext') {
    const minutes = Math.round(deps.tlsMemory.ttlMs / 60_000);
    base = `plaintext (STARTTLS skipped: a handshake with this host failed within ${minutes} min)`;
  } else if (result.tlsFallback) {
    // OpenSSL messages end in a newline; the record is one line.
    base = `plaintext (STARTTLS failed: ${result.tlsFallback.replace(/\s+/g, ' ').trim()})`;
  }
  return joinNotes(base, note);
}

/**
 * One delivery attempt over SMTP: the TLS policy (MTA-STS, require-TLS), a lease from the
 * ready queue of (IP × MX site), then the MX hosts and their addresses in order until one
 * takes a transaction (RFC 5321 §5.1).
 */
export async function smtpAttempt(
  deps: SmtpAttemptDeps,
  a: SmtpAttemptArgs,
): Promise<AttemptRecord | Throttled | Suspended> {
  // Before the lease: a policy fetch may take seconds and must not hold a connection slot.
  const plan = await planTls(deps, a);
  if ('refused' in plan) {
    const outcome = deferredWithoutReply('connect', 'tls_failure', plan.refused);
    return { outcomes: same(a.recipients, outcome), mxHost: null, mxAddress: null, tls: plan.note };
  }
  const strict = plan.tls !== 'opportunistic';
  const { queue, limits } = deps.limitsFor(a.domain, siteKey(a.hosts), a.provider);
  const acquired = await deps.dispatcher.acquire({
    ip: a.ip,
    site: queue,
    limits,
    signal: a.signal,
    onWait: () => a.heartbeat('connect'),
    provider: a.provider,
  });
  switch (acquired.kind) {
    case 'throttled':
      return { throttled: { retryAfterMs: acquired.retryAfterMs, reason: acquired.reason } };
    case 'suspended':
      return { suspended: acquired.suspension };
    case 'cancelled':
      throw new CancelledFailure('delivery cancelled while waiting in the ready queue');
    case 'granted':
      break;
  }
  const lease = acquired.lease;
  let healthy = true;
  try {
    const failures: string[] = [];
    let lastHost: string | null = null;
    let hostNotFound = 0;
    let prohibited = 0;
    let tried = 0;
    let tlsFailed = 0;
    /** The last host that answered and refused the session: its reply is the attempt's. */
    let refusal: { host: string; address: string; reply: SmtpReply; phase: SmtpPhase } | null = null;
    for (const host of plan.hosts) {
      lastHost = host;
      const addrs = await deps.dns.addresses(host);
      if (addrs.kind !== 'ok') {
        failures.push(`${host}: ${addrs.kind === 'temporary' ? addrs.detail : addrs.kind}`);
        if (addrs.kind !== 'temporary') hostNotFound++;
        continue;
      }
      // Opportunistic only: a host whose handshake failed recently gets plaintext at once.
      const mode: TlsMode = !strict && deps.tlsMemory.broken(host) ? 'plaintext' : plan.tls;
      for (const address of addrs.value) {
        const c = classifyIp(address);
        // Never connect to internal ranges: MX records are chosen by whoever controls the
        // recipient domain's DNS (SSRF through MX records).
        if (c !== 'public' && !(c === 'loopback' && deps.allowLoopbackMx)) {
          failures.push(`${host} [${address}] is not a public address`);
          prohibited++;
          continue;
        }
        tried++;
        a.heartbeat('connect');
        const result = await lease.send(
          { mxHost: host, address, tls: mode },
          { mailFrom: a.mailFrom, recipients: a.recipients, ...(a.trace ? { trace: a.trace } : {}) },
          a.message,
        );
        if (result.kind === 'session_failed') {
          // RFC 5321 §5.1: a host that does not take the session (refused, timed out,
          // 421/554 greeting) sends us to the next address and the next MX. So does a TLS
          // failure where TLS is required (RFC 8461 §5: never plaintext, try the next MX).
          if (strict && result.phase === 'starttls') tlsFailed++;
          else if (result.reply && (result.phase === 'greeting' || result.phase === 'ehlo'))
            refusal = { host, address, reply: result.reply, phase: result.phase };
          failures.push(`${host} [${address}] ${describeFailure(result)}`);
          continue;
        }
        if (mode === 'opportunistic' && isHandshakeFallback(result.tlsFallback))
          deps.tlsMemory.remember(host);
        // A transaction cut short leaves the connection in an unknown state.
        healthy = !(result.kind === 'transaction' && result.data.kind === 'interrupted');
        return {
          outcomes: outcomesOfSession(result, a.recipients, a.provider),
          mxHost: host,
          mxAddress: address,
          tls: tlsRecord(result, mode, deps, plan.note),
        };
      }
    }
    const detail = failures.join('; ') || 'no MX host to try';
    let outcome: RecipientOutcome;
    if (tried === 0 && prohibited > 0) {
      // Every address is internal: a misconfigured or hostile domain; KumoMTA answers 5.4.4.
      outcome = {
        kind: 'bounced',
        reply: null,
        phase: 'connect',
        category: 'policy',
        action: 'fail',
        detail: `550 5.4.4 unroutable: ${detail}`,
      };
    } else if (hostNotFound === plan.hosts.length) {
      outcome = deferredWithoutReply('connect', 'dns_failure', detail);
    } else if (tlsFailed > 0) {
      // Under MTA-STS enforce or require-TLS a TLS failure is transient and never followed
      // by plaintext (RFC 8461 §5).
      outcome = deferredWithoutReply('starttls', 'tls_failure', `TLS required (${plan.note}): ${detail}`);
    } else if (refusal) {
      // The host's refusal is the attempt's reply: the delivery log, the reroute and the IP's
      // workflow read it (an IP listed on a DNSBL is refused at the greeting).
      return {
        outcomes: same(
          a.recipients,
          outcomeForRefusedSession(refusal.reply, refusal.phase, a.provider, detail),
        ),
        mxHost: refusal.host,
        mxAddress: refusal.address,
        tls: plan.note,
      };
    } else {
      outcome = deferredWithoutReply('connect', 'network_error', detail);
    }
    return {
      outcomes: same(a.recipients, outcome),
      mxHost: lastHost,
      mxAddress: null,
      tls: plan.note,
    };
  } finally {
    lease.release({ sessionHealthy: healthy });
  }
}
