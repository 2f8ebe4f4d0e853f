import type { Span } from '@opentelemetry/api';
import { Context } from '@temporalio/activity';
import type { DnsResolver } from '../adapters/dns.js';
import type { Metrics } from '../adapters/metrics.js';
import type { HeldStore } from '../adapters/postgres/held.js';
import type { Journal } from '../adapters/postgres/journal.js';
import type { MessageForDelivery, MessageStore } from '../adapters/postgres/messages.js';
import { inSpan, waveLinks } from '../adapters/tracing.js';
import { type AttemptContext, attemptRecord } from '../core/delivery/attempt-record.js';
import type { RecipientOutcome } from '../core/delivery/delivery-outcome.js';
import { detectProvider } from '../core/delivery/providers.js';
import type { SmtpPhase } from '../core/delivery/smtp-reply.js';
import { resolveMxHosts } from '../egress/mx-route.js';
import type { IpChooser, IpPick } from '../egress/routing/choose-ip.js';
import type { OutcomeFeed } from '../egress/routing/outcome-feed.js';
import type { PauseGate } from '../egress/routing/pause-gate.js';
import { type AttemptRecord, type SmtpAttemptDeps, smtpAttempt } from '../egress/smtp-attempt.js';
import type { DeliverInput, DeliverResult } from '../workflows/contract.js';
import { messageMissing } from './failures.js';

/** Journal states after which a recipient is never tried again. */
const SETTLED = new Set(['delivered', 'bounced', 'failed', 'suppressed']);

/** Between liveness heartbeats of a delivery in progress, ms (heartbeat timeout: 15 s). */
const HEARTBEAT_EVERY_MS = 5_000;

export interface DeliverDeps extends SmtpAttemptDeps {
  readonly messages: Pick<MessageStore, 'forDelivery'>;
  readonly journal: Journal;
  readonly dns: DnsResolver;
  /** Pool and IP choice; null when no pool applies (the OS picks the source address). */
  readonly chooseIp: IpChooser;
  readonly pauseGate: PauseGate;
  /** Holds for messages no IP of their pool can take now (see activities/control.ts). */
  readonly routeHold: Pick<HeldStore, 'hold' | 'unhold'> & { refresh(): Promise<void> };
  /** Outcomes per (IP, provider), summarised to the IP workflows. */
  readonly feed: Pick<OutcomeFeed, 'record'>;
  /** DKIM-signs a message for its sending domain (RFC 6376). */
  readonly sign: (domain: string, message: Buffer) => Promise<Buffer>;
  /** The VERP MAIL FROM for a message; recipient index 0 when the transaction has several. */
  readonly returnPath: (messageId: string, recipientIndex: number, sendingDomain: string) => string;
  readonly random: () => number;
  readonly now: () => number;
  /** Latency metrics of recorded attempts (adapters/metrics.ts); absent: none. */
  readonly metrics?: Pick<Metrics, 'attemptRecorded'> | undefined;
}

/**
 * One delivery attempt of one message to one recipient domain: MX lookup, provider
 * detection, the operator-pause check, the pool's IP choice (warmup caps, suspensions,
 * weights), then SMTP through the node's ready queue. Every outcome is a value; only
 * infrastructure failures throw (and Temporal retries them).
 */
export function createDeliver(deps: DeliverDeps) {
  function context(
    message: MessageForDelivery,
    input: DeliverInput,
    extra: Partial<AttemptContext>,
  ): AttemptContext {
    return {
      messageId: message.id,
      tenantId: message.tenantId,
      sendingDomain: message.sendingDomain,
      recipientDomain: input.domain,
      messageType: message.messageType,
      provider: null,
      pool: null,
      ip: null,
      mxHost: null,
      mxAddress: null,
      attempt: input.attempt,
      tls: null,
      durationMs: null,
      ...extra,
    };
  }

  /** A `deferred` note for every recipient when nothing could be tried (held, no IP). */
  async function noteWaiting(
    ctx: AttemptContext,
    recipients: readonly string[],
    detail: string,
  ): Promise<void> {
    const none = { replyCode: null, enhancedStatus: null, replyText: null, phase: null, category: null };
    await deps.journal.append(
      recipients.map((recipient) => ({ ...ctx, ...none, event: 'deferred' as const, recipient, detail })),
    );
  }

  async function finish(
    ctx: AttemptContext,
    outcomes: ReadonlyMap<string, RecipientOutcome>,
    provider: string | null,
    timing?: { acceptedAtMs: number; startedAtMs: number },
  ): Promise<DeliverResult> {
    const { events, updates, suppressions } = attemptRecord(ctx, outcomes);
    await deps.journal.append(events, updates, suppressions);
    if (timing && ctx.mxAddress !== null) {
      let delivered = 0;
      for (const o of outcomes.values()) if (o.kind === 'delivered') delivered++;
      deps.metrics?.attemptRecorded({
        ...timing,
        firstAttempt: ctx.attempt === 1,
        delivered,
        finishedAtMs: deps.now(),
      });
    }
    return {
      ip: ctx.mxAddress ? ctx.ip : null,
      provider,
      recipients: [...outcomes].map(([address, o]) => ({
        address,
        verdict: o.kind,
        retryHintMs: o.kind === 'deferred' ? o.retryHintMs : null,
        category: o.kind === 'delivered' ? null : o.category,
      })),
      wait: null,
      finishedAtMs: deps.now(),
    };
  }

  /**
   * One attempt for a message already loaded: `asked.recipients` not yet settled in the
   * journal are tried. `activity` is the calling activity's context: liveness heartbeats
   * (regular activities only) and its cancellation.
   */
  function deliverLoaded(
    message: MessageForDelivery,
    asked: DeliverInput,
    activity: { heartbeat(phase: SmtpPhase): void; signal: AbortSignal },
  ): Promise<DeliverResult> {
    // The message's delivery span (docs/operations.md, "Traces"); in a wave it is a child of
    // the message's accept span with a link to the wave.
    return inSpan(
      'posthorn.delivery',
      {
        'posthorn.message_id': message.id,
        'posthorn.tenant': message.tenantName,
        'posthorn.sending_domain': message.sendingDomain,
        'posthorn.recipient_domain': asked.domain,
        'posthorn.attempt': asked.attempt,
      },
      async (span) => {
        const result = await attempt(message, asked, activity, span);
        span?.setAttributes({
          'posthorn.provider': result.provider ?? '',
          'posthorn.ip': result.ip ?? '',
          'posthorn.outcome': result.wait
            ? result.wait.kind
            : result.recipients.map((r) => r.verdict).join(','),
        });
        return result;
      },
      { links: waveLinks() },
    );
  }

  async function attempt(
    message: MessageForDelivery,
    asked: DeliverInput,
    activity: { heartbeat(phase: SmtpPhase): void; signal: AbortSignal },
    span: Span | null,
  ): Promise<DeliverResult> {
    // A retried activity (the node died after the outcome was journalled, before Temporal
    // heard of it) never sends again what the journal already settled (docs/reliability.md).
    const done = asked.recipients.filter((r) => SETTLED.has(message.recipientState[r] ?? ''));
    if (done.length === asked.recipients.length) {
      return {
        ip: asked.preferredIp,
        provider: null,
        recipients: done.map((address) => ({
          address,
          verdict:
            message.recipientState[address] === 'delivered' ? ('delivered' as const) : ('bounced' as const),
          retryHintMs: null,
          category: null,
        })),
        wait: null,
        finishedAtMs: deps.now(),
      };
    }
    const input: DeliverInput = { ...asked, recipients: asked.recipients.filter((r) => !done.includes(r)) };
    const started = deps.now();
    const waiting = (
      kind: 'held' | 'throttled',
      retryAfterMs: number,
      reason: string,
      provider: string | null,
    ): DeliverResult => ({
      ip: input.preferredIp,
      provider,
      recipients: [],
      wait: { kind, retryAfterMs, reason },
      finishedAtMs: deps.now(),
    });

    const mx = await resolveMxHosts(deps.dns, input.domain, deps.random);
    if ('outcome' in mx) {
      const outcomes = new Map(input.recipients.map((r) => [r, mx.outcome]));
      return finish(context(message, input, {}), outcomes, null);
    }
    const provider = detectProvider(mx.hosts);
    span?.setAttribute('posthorn.provider', provider);

    const held = await deps.pauseGate(message.id, {
      domain: input.domain,
      provider,
      tenant: message.tenantName,
      sendingDomain: message.sendingDomain,
    });
    if (held) {
      const reason = `held: ${held.pause.scope} ${held.pause.value} paused by ${held.pause.actor}: ${held.pause.reason}`;
      await noteWaiting(context(message, input, { provider }), input.recipients, reason);
      return waiting('held', held.retryAfterMs, reason, provider);
    }

    const choose = () =>
      deps.chooseIp({
        tenantId: message.tenantId,
        messageType: message.messageType,
        provider,
        preferredIp: input.preferredIp,
      });
    let pick: IpPick | null = await choose();
    if (pick?.kind === 'wait') {
      // Held until the pool's route state changes (an IP resumed, a suspension expired): the
      // IP workflow's publish releases it. Held first, chosen again after, so a change that
      // lands in between is not missed.
      const route = { scope: 'route' as const, value: pick.pool };
      await deps.routeHold.hold(message.id, input.domain, route);
      await deps.routeHold.refresh();
      pick = await choose();
      if (pick?.kind === 'wait') {
        await noteWaiting(context(message, input, { provider }), input.recipients, `no IP: ${pick.reason}`);
        return waiting('held', pick.retryAfterMs, pick.reason, provider);
      }
      await deps.routeHold.unhold(message.id, input.domain);
    }
    if (pick?.kind === 'elsewhere') {
      return {
        ip: input.preferredIp,
        provider,
        recipients: [],
        wait: {
          kind: 'elsewhere',
          node: pick.node,
          ip: pick.ip,
          reason: `IP ${pick.ip} of pool ${pick.pool} is on node ${pick.node}`,
        },
        finishedAtMs: deps.now(),
      };
    }
    // No pool applies: the OS picks the machine's default source address.
    const ip = pick?.ip ?? null;
    span?.setAttributes({ 'posthorn.ip': ip ?? 'default', 'posthorn.pool': pick?.pool ?? '' });

    // One recipient: its own index, so an asynchronous bounce names it even when the
    // report does not; several: index 0, and the report's Final-Recipient says which.
    const only = input.recipients.length === 1 ? (message.recipientIndex[input.recipients[0]!] ?? 0) : 0;
    const mailFrom = deps.returnPath(message.id, only, message.sendingDomain);
    // Signed per attempt, not at accept: a key rotation applies to mail still queued, and
    // the stored body stays the customer's message as accepted.
    const signed = await deps.sign(message.sendingDomain, message.mime);

    // Liveness only, on a timer: most attempts end within a second and send no heartbeat
    // at all (each one is a server round trip); the 15 s heartbeat timeout needs one in 5 s.
    let lastPhase: SmtpPhase = 'connect';
    const beat = setInterval(() => activity.heartbeat(lastPhase), HEARTBEAT_EVERY_MS);
    let attempted: AttemptRecord | { throttled: { retryAfterMs: number; reason: string } };
    try {
      attempted = await smtpAttempt(deps, {
        domain: input.domain,
        provider,
        hosts: mx.hosts,
        recipients: input.recipients,
        ip,
        mailFrom,
        message: signed,
        heartbeat: (p) => {
          lastPhase = p;
        },
        signal: activity.signal,
        requireTls: message.requireTls,
      });
    } finally {
      clearInterval(beat);
    }
    span?.setAttributes({
      'posthorn.mx_host': 'throttled' in attempted ? '' : (attempted.mxHost ?? ''),
      'posthorn.mx_address': 'throttled' in attempted ? '' : (attempted.mxAddress ?? ''),
    });
    if ('throttled' in attempted) {
      return waiting('throttled', attempted.throttled.retryAfterMs, attempted.throttled.reason, provider);
    }
    // Only a pool's IP has an IP workflow to feed (docs/architecture.md, "The routing wing").
    if (attempted.mxAddress && ip !== null) {
      for (const o of attempted.outcomes.values()) {
        deps.feed.record({
          ip,
          provider,
          verdict: o.kind,
          reply: o.kind === 'delivered' ? null : o.reply,
        });
      }
    }
    return finish(
      context(message, input, {
        provider,
        pool: pick?.pool ?? null,
        ip,
        mxHost: attempted.mxHost,
        mxAddress: attempted.mxAddress,
        tls: attempted.tls,
        durationMs: deps.now() - started,
      }),
      attempted.outcomes,
      provider,
      { acceptedAtMs: message.acceptedAtMs, startedAtMs: started },
    );
  }

  return {
    deliverLoaded,
    /** The message workflow's delivery activity: loads the message, then one attempt. */
    async deliver(asked: DeliverInput): Promise<DeliverResult> {
      const ctx = Context.current();
      const message = await deps.messages.forDelivery(asked.messageId);
      if (!message) throw messageMissing(asked.messageId);
      return deliverLoaded(message, asked, {
        heartbeat: (phase) => ctx.heartbeat(phase),
        signal: ctx.cancellationSignal,
      });
    },
  };
}

export type Deliver = ReturnType<typeof createDeliver>;
