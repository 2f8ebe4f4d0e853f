import { Context } from '@temporalio/activity';
import type { DnsResolver } from '../adapters/dns.js';
import type { Journal } from '../adapters/postgres/journal.js';
import type { MessageForDelivery, MessageStore } from '../adapters/postgres/messages.js';
import type { SmtpEnvelope, SmtpSessionParams, SmtpTimeouts } from '../adapters/smtp-client.js';
import { deferredWithoutReply, outcomesOfSession } from '../core/attempt.js';
import type { RecipientOutcome } from '../core/delivery-outcome.js';
import type { DeliveryEvent, RecipientUpdate, SuppressionEntry } from '../core/events.js';
import { planMx } from '../core/mx.js';
import { formatSmtpReply, type SmtpPhase } from '../core/smtp-reply.js';
import type { SmtpSendResult } from '../core/smtp-result.js';
import { suppressionOriginFor } from '../core/suppression.js';
import type { DeliverInput, DeliverResult } from './types.js';

export interface EgressIp {
  /** Source address to bind, or null to let the OS choose. */
  readonly address: string | null;
  readonly ehloName: string;
}

export interface DeliverDeps {
  readonly messages: Pick<MessageStore, 'forDelivery'>;
  readonly journal: Journal;
  readonly dns: DnsResolver;
  readonly send: (
    params: SmtpSessionParams,
    envelope: SmtpEnvelope,
    message: Buffer,
    onProgress: (p: SmtpPhase) => void,
  ) => Promise<SmtpSendResult>;
  readonly egress: {
    readonly ips: readonly EgressIp[];
    /** Destination port; 25 except in tests. */
    readonly port: number;
    readonly timeouts: SmtpTimeouts;
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

  async function attempt(
    message: MessageForDelivery,
    input: DeliverInput,
    ip: EgressIp,
    heartbeat: (p: SmtpPhase) => void,
  ): Promise<AttemptRecord> {
    const routed = await route(input.domain);
    if ('outcome' in routed)
      return { outcomes: same(input.recipients, routed.outcome), mxHost: null, mxAddress: null, tls: null };
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
    for (const host of routed.hosts) {
      lastHost = host;
      const addrs = await deps.dns.addresses(host);
      if (addrs.kind !== 'ok') {
        failures.push(`${host}: ${addrs.kind === 'temporary' ? addrs.detail : addrs.kind}`);
        if (addrs.kind !== 'temporary') hostNotFound++;
        continue;
      }
      for (const address of addrs.value) {
        const params: SmtpSessionParams = {
          address,
          mxHost: host,
          port: deps.egress.port,
          localAddress: ip.address ?? undefined,
          ehloName: ip.ehloName,
          timeouts: deps.egress.timeouts,
        };
        const result = await deps.send(params, { mailFrom, recipients: input.recipients }, signed, heartbeat);
        if (result.kind === 'session_failed') {
          // RFC 5321 §5.1: a host that does not take the session (refused, timed out,
          // 421/554 greeting) sends us to the next address and the next MX.
          failures.push(`${host} [${address}] ${describeFailure(result)}`);
          continue;
        }
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
    // Every MX host is missing from DNS: the domain cannot receive mail as published.
    const outcome: RecipientOutcome =
      hostNotFound === routed.hosts.length
        ? deferredWithoutReply('connect', 'dns_failure', detail)
        : deferredWithoutReply('connect', 'network_error', detail);
    return { outcomes: same(input.recipients, outcome), mxHost: lastHost, mxAddress: null, tls: null };
  }

  return async function deliver(input: DeliverInput): Promise<DeliverResult> {
    const ctx = Context.current();
    const message = await deps.messages.forDelivery(input.messageId);
    if (!message) throw new Error(`message ${input.messageId} is not in the database`);
    const ip = pickIp(deps.egress.ips, input.preferredIp, deps.random);
    const started = deps.now();
    let lastPhase: SmtpPhase = 'connect';
    const beat = setInterval(() => ctx.heartbeat(lastPhase), 2000);
    let record: AttemptRecord;
    try {
      record = await attempt(message, input, ip, (p) => {
        lastPhase = p;
        ctx.heartbeat(p);
      });
    } finally {
      clearInterval(beat);
    }
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
      finishedAtMs: deps.now(),
    };
  };
}
