import { CancelledFailure } from '@temporalio/common';
import type { DnsResolver } from '../adapters/dns.js';
import { deferredWithoutReply, outcomesOfSession } from '../core/attempt.js';
import type { RecipientOutcome } from '../core/delivery-outcome.js';
import type { EgressLimits } from '../core/egress-limits.js';
import { classifyIp } from '../core/ip-class.js';
import { type SiteKey, siteKey } from '../core/site.js';
import { formatSmtpReply, type SmtpPhase } from '../core/smtp-reply.js';
import type { SmtpSendResult } from '../core/smtp-result.js';
import type { Dispatcher } from '../egress/dispatcher.js';

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
}

export interface SmtpAttemptArgs {
  readonly domain: string;
  readonly provider: string;
  readonly hosts: readonly string[];
  readonly recipients: readonly string[];
  /** Source IP, or the dispatcher's name for "the OS picks". */
  readonly ip: string;
  readonly mailFrom: string;
  readonly message: Buffer;
  readonly heartbeat: (phase: SmtpPhase) => void;
  readonly signal: AbortSignal;
}

function same(recipients: readonly string[], outcome: RecipientOutcome): Map<string, RecipientOutcome> {
  return new Map(recipients.map((r) => [r, outcome]));
}

function describeFailure(r: Extract<SmtpSendResult, { kind: 'session_failed' }>): string {
  return r.reply ? `${r.phase}: ${formatSmtpReply(r.reply)}` : `${r.phase}: ${r.detail}`;
}

/**
 * One delivery attempt over SMTP: a lease from the ready queue of (IP × MX site), then the
 * MX hosts and their addresses in order until one takes a transaction (RFC 5321 §5.1).
 */
export async function smtpAttempt(
  deps: SmtpAttemptDeps,
  a: SmtpAttemptArgs,
): Promise<AttemptRecord | Throttled> {
  const { queue, limits } = deps.limitsFor(a.domain, siteKey(a.hosts), a.provider);
  const acquired = await deps.dispatcher.acquire({
    ip: a.ip,
    site: queue,
    limits,
    signal: a.signal,
    onWait: () => a.heartbeat('connect'),
  });
  switch (acquired.kind) {
    case 'throttled':
      return { throttled: { retryAfterMs: acquired.retryAfterMs, reason: acquired.reason } };
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
    for (const host of a.hosts) {
      lastHost = host;
      const addrs = await deps.dns.addresses(host);
      if (addrs.kind !== 'ok') {
        failures.push(`${host}: ${addrs.kind === 'temporary' ? addrs.detail : addrs.kind}`);
        if (addrs.kind !== 'temporary') hostNotFound++;
        continue;
      }
      for (const address of addrs.value) {
        const c = classifyIp(address);
        // Checklist item 35: never connect to internal ranges (SSRF through MX records).
        if (c !== 'public' && !(c === 'loopback' && deps.allowLoopbackMx)) {
          failures.push(`${host} [${address}] is not a public address`);
          prohibited++;
          continue;
        }
        tried++;
        a.heartbeat('connect');
        const result = await lease.send(
          { mxHost: host, address },
          { mailFrom: a.mailFrom, recipients: a.recipients },
          a.message,
        );
        if (result.kind === 'session_failed') {
          // RFC 5321 §5.1: a host that does not take the session (refused, timed out,
          // 421/554 greeting) sends us to the next address and the next MX.
          failures.push(`${host} [${address}] ${describeFailure(result)}`);
          continue;
        }
        // A transaction cut short leaves the connection in an unknown state.
        healthy = !(result.kind === 'transaction' && result.data.kind === 'interrupted');
        const tls = result.tls ? `${result.tls.version} ${result.tls.cipher}` : null;
        return {
          outcomes: outcomesOfSession(result, a.recipients, a.provider),
          mxHost: host,
          mxAddress: address,
          tls,
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
        detail: `550 5.4.4 unroutable: ${detail}`,
      };
    } else if (hostNotFound === a.hosts.length) {
      outcome = deferredWithoutReply('connect', 'dns_failure', detail);
    } else {
      outcome = deferredWithoutReply('connect', 'network_error', detail);
    }
    return { outcomes: same(a.recipients, outcome), mxHost: lastHost, mxAddress: null, tls: null };
  } finally {
    lease.release({ sessionHealthy: healthy });
  }
}
