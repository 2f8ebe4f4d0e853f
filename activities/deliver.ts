import { Context } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { DnsResolver } from '../adapters/dns.js';
import type { Journal } from '../adapters/postgres/journal.js';
import type { MessageForDelivery, MessageStore } from '../adapters/postgres/messages.js';
import { deferredWithoutReply, outcomesOfSession } from '../core/attempt.js';
import type { RecipientOutcome } from '../core/delivery-outcome.js';
import type { EgressLimits } from '../core/egress-limits.js';
import type { DeliveryEvent, RecipientUpdate, SuppressionEntry } from '../core/events.js';
import { classifyIp } from '../core/ip-class.js';
import { planMx } from '../core/mx.js';
import { type SiteKey, siteKey } from '../core/site.js';
import { formatSmtpReply, type SmtpPhase } from '../core/smtp-reply.js';
import type { SmtpSendResult } from '../core/smtp-result.js';
import { suppressionOriginFor } from '../core/suppression.js';
import type { Dispatcher } from '../egress/dispatcher.js';
import type { DeliverInput, DeliverResult } from './types.js';

/** Ready-queue name of the source IP when the OS picks the address. */
export const DEFAULT_IP = 'default';

export interface EgressIp {
  /** Source address to bind, or null to let the OS choose. */
  readonly address: string | null;
  readonly ehloName: string;
}

export interface DeliverDeps {
  readonly messages: Pick<MessageStore, 'forDelivery'>;
  readonly journal: Journal;
  readonly dns: DnsResolver;
  /** The node's egress dispatcher: ready queues, limits and kept connections. */
  readonly dispatcher: Pick<Dispatcher, 'acquire'>;
  /** The ready queue and limits for a delivery to `domain`, whose MX set is `site`. */
  readonly limitsFor: (domain: string, site: SiteKey) => { queue: SiteKey; limits: EgressLimits };
  readonly egress: {
    readonly ips: readonly EgressIp[];
    /** Connect to MX hosts on loopback addresses (tests only; RFC 5321 §5.1 routing never does). */
    readonly allowLoopbackMx: boolean;
  };
  /** DKIM-signs a message for its sending domain (RFC 6376). */
  readonly sign: (domain: string, message: Buffer) => Promise<Buffer>;
  /** The VERP MAIL FROM for a message; recipient index 0 when the transaction has several. */
  readonly returnPath: (messageId: string, recipientIndex: number, sendingDomain: string) => string;
  readonly random: () => number;
  readonly now: () => number;
}

/** Where an attempt ended up: the outcomes and the route that produced them. */
interface AttemptRecord {
  outcomes: Map<string, RecipientOutcome>;
  mxHost: string | null;
  mxAddress: string | null;
  tls: string | null;
}

/** The ready queue answered "not now": nothing was tried, nothing is recorded. */
interface Throttled {
  throttled: { retryAfterMs: number; reason: string };
}

function pickIp(ips: readonly EgressIp[], preferred: string | null, random: () => number): EgressIp {
  const sticky = ips.find((ip) => ip.address === preferred);
  if (sticky) return sticky;
  return ips[Math.floor(random() * ips.length)]!;
}

function same(recipients: readonly string[], outcome: RecipientOutcome): Map<string, RecipientOutcome> {
  return new Map(recipients.map((r) => [r, outcome]));
}

function describeFailure(r: Extract<SmtpSendResult, { kind: 'session_failed' }>): string {
  return r.reply ? `${r.phase}: ${formatSmtpReply(r.reply)}` : `${r.phase}: ${r.detail}`;
}

export function createDeliver(deps: DeliverDeps) {
  /** Resolves the MX hosts, or the outcome for every recipient when there is none to try. */
  async function route(
    domain: string,
  ): Promise<{ hosts: readonly string[] } | { outcome: RecipientOutcome }> {
    const mx = await deps.dns.mx(domain);
    switch (mx.kind) {
      case 'ok': {
        const plan = planMx(domain, mx.value, deps.random);
        switch (plan.kind) {
          case 'hosts':
            return { hosts: plan.hosts };
          case 'null_mx':
            // RFC 7505 §4.1: a null MX means the domain accepts no mail; fail at once.
            return {
              outcome: {
                kind: 'bounced',
                reply: null,
                phase: 'connect',
                category: 'domain_unknown',
                detail: 'null MX (RFC 7505)',
              },
            };
          case 'no_mx':
            return { hosts: [domain] };
        }
        break;
      }
      case 'nxdomain':
        return {
          outcome: {
            kind: 'bounced',
            reply: null,
            phase: 'connect',
            category: 'domain_unknown',
            detail: `NXDOMAIN for ${domain}`,
          },
        };
      case 'nodata':
        // RFC 5321 §5.1: no MX records → the domain itself is the implicit MX.
        return { hosts: [domain] };
      case 'temporary':
        return { outcome: deferredWithoutReply('connect', 'dns_failure', `MX lookup: ${mx.detail}`) };
    }
  }

  /** Whether an MX address may be connected to (checklist item 35: never to internal ranges). */
  function routable(address: string): boolean {
    const c = classifyIp(address);
    return c === 'public' || (c === 'loopback' && deps.egress.allowLoopbackMx);
  }

  async function attempt(
    message: MessageForDelivery,
    input: DeliverInput,
    ip: EgressIp,
    heartbeat: (p: SmtpPhase) => void,
    signal: AbortSignal,
  ): Promise<AttemptRecord | Throttled> {
    const routed = await route(input.domain);
    if ('outcome' in routed)
      return { outcomes: same(input.recipients, routed.outcome), mxHost: null, mxAddress: null, tls: null };
    const { queue, limits } = deps.limitsFor(input.domain, siteKey(routed.hosts));
    const acquired = await deps.dispatcher.acquire({
      ip: ip.address ?? DEFAULT_IP,
      site: queue,
      limits,
      signal,
      onWait: () => heartbeat('connect'),
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
      // One recipient: its own index, so an asynchronous bounce names it even when the
      // report does not; several: index 0, and the report's Final-Recipient says which.
      const only = input.recipients.length === 1 ? (message.recipientIndex[input.recipients[0]!] ?? 0) : 0;
      const mailFrom = deps.returnPath(message.id, only, message.sendingDomain);
      // Signed per attempt, not at accept: a key rotation applies to mail still queued, and
      // the stored body stays the customer's message as accepted.
      const signed = await deps.sign(message.sendingDomain, message.mime);
      const failures: string[] = [];
      let lastHost: string | null = null;
      let hostNotFound = 0;
      let prohibited = 0;
      let tried = 0;
      for (const host of routed.hosts) {
        lastHost = host;
        const addrs = await deps.dns.addresses(host);
        if (addrs.kind !== 'ok') {
          failures.push(`${host}: ${addrs.kind === 'temporary' ? addrs.detail : addrs.kind}`);
          if (addrs.kind !== 'temporary') hostNotFound++;
          continue;
        }
        for (const address of addrs.value) {
          if (!routable(address)) {
            failures.push(`${host} [${address}] is not a public address`);
            prohibited++;
            continue;
          }
          tried++;
          heartbeat('connect');
          const result = await lease.send(
            { mxHost: host, address },
            { mailFrom, recipients: input.recipients },
            signed,
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
            outcomes: outcomesOfSession(result, input.recipients, null),
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
      } else if (hostNotFound === routed.hosts.length) {
        outcome = deferredWithoutReply('connect', 'dns_failure', detail);
      } else {
        outcome = deferredWithoutReply('connect', 'network_error', detail);
      }
      return { outcomes: same(input.recipients, outcome), mxHost: lastHost, mxAddress: null, tls: null };
    } finally {
      lease.release({ sessionHealthy: healthy });
    }
  }

  return async function deliver(input: DeliverInput): Promise<DeliverResult> {
    const ctx = Context.current();
    const message = await deps.messages.forDelivery(input.messageId);
    if (!message) throw new Error(`message ${input.messageId} is not in the database`);
    const ip = pickIp(deps.egress.ips, input.preferredIp, deps.random);
    const started = deps.now();
    let lastPhase: SmtpPhase = 'connect';
    const beat = setInterval(() => ctx.heartbeat(lastPhase), 2000);
    let attempted: AttemptRecord | Throttled;
    try {
      attempted = await attempt(
        message,
        input,
        ip,
        (p) => {
          lastPhase = p;
          ctx.heartbeat(p);
        },
        ctx.cancellationSignal,
      );
    } finally {
      clearInterval(beat);
    }
    if ('throttled' in attempted) {
      return {
        ip: input.preferredIp,
        recipients: [],
        throttled: attempted.throttled,
        finishedAtMs: deps.now(),
      };
    }
    const record = attempted;
    const durationMs = deps.now() - started;
    const events: DeliveryEvent[] = [];
    const updates: RecipientUpdate[] = [];
    const suppressions: SuppressionEntry[] = [];
    const base = {
      messageId: message.id,
      tenantId: message.tenantId,
      sendingDomain: message.sendingDomain,
      recipientDomain: input.domain,
      messageType: message.messageType,
      provider: null,
      pool: null,
      ip: ip.address,
      mxHost: record.mxHost,
      mxAddress: record.mxAddress,
      attempt: input.attempt,
      tls: record.tls,
      durationMs,
    };
    let anyDeferred = false;
    for (const [address, o] of record.outcomes) {
      const reply = o.reply;
      events.push({
        ...base,
        event: o.kind,
        recipient: address,
        replyCode: reply?.code ?? null,
        enhancedStatus: reply?.enhanced ?? null,
        replyText: reply?.text ?? null,
        phase: o.kind === 'delivered' ? 'dot' : o.phase,
        category: o.kind === 'delivered' ? 'delivered' : o.category,
        detail: o.kind === 'delivered' ? null : o.detail,
      });
      updates.push({
        messageId: message.id,
        address,
        state: o.kind,
        lastReply: reply ? formatSmtpReply(reply) : o.kind === 'delivered' ? null : o.detail,
        attempted: true,
      });
      if (o.kind === 'deferred') anyDeferred = true;
      const origin = o.kind === 'bounced' ? suppressionOriginFor(o.category, true) : null;
      if (origin && o.kind === 'bounced') {
        suppressions.push({
          tenantId: message.tenantId,
          email: address,
          origin,
          reason: o.category,
          sourceMessageId: message.id,
        });
      }
    }
    if (anyDeferred) {
      // Once per message: a unique index drops repeats from later attempts.
      events.push({
        ...base,
        event: 'delivery_delayed',
        recipient: null,
        replyCode: null,
        enhancedStatus: null,
        replyText: null,
        phase: null,
        category: null,
        detail: null,
      });
    }
    await deps.journal.append(events, updates, suppressions);
    return {
      ip: record.mxAddress ? ip.address : null,
      recipients: [...record.outcomes].map(([address, o]) => ({
        address,
        verdict: o.kind,
        retryHintMs: o.kind === 'deferred' ? o.retryHintMs : null,
        category: o.kind === 'delivered' ? null : o.category,
      })),
      throttled: null,
      finishedAtMs: deps.now(),
    };
  };
}
