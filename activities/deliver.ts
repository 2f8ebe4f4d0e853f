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
import { replyEffects } from '../core/routing/reply-effects.js';
import { resolveMxHosts } from '../egress/mx-route.js';
import type { IpChooser, IpPick } from '../egress/routing/choose-ip.js';
import type { LocalSuspensionTable } from '../egress/routing/local-suspensions.js';
import type { OutcomeFeed } from '../egress/routing/outcome-feed.js';
import type { PauseGate } from '../egress/routing/pause-gate.js';
import { type SmtpAttemptDeps, smtpAttempt } from '../egress/smtp-attempt.js';
import type { DeliverInput, DeliverResult } from '../workflows/contract.js';
import { messageMissing } from './failures.js';

/** Journal states after which a recipient is never tried again. */
const SETTLED = new Set(['delivered', 'bounced', 'failed', 'suppressed']);

/** Between liveness heartbeats of a delivery in progress, ms (heartbeat timeout: 15 s). */
const HEARTBEAT_EVERY_MS = 5_000;

/**
 * IPs one attempt may route through: the first choice and the ones that take over after an
 * IP-scoped refusal or a suspension on this node. A bound, not a policy: each refusal or
 * suspension takes its IP out of the choice, so a pool runs out first.
 */
const MAX_ROUTES_PER_ATTEMPT = 8;
/** A delivery whose every route was suspended meanwhile comes back after this long, ms. */
const MIN_ROUTE_WAIT_MS = 1_000;

/**
 * The refused outcomes of a route that another IP takes over, as log events: deferrals with
 * the receiver's reply (a permanent refusal too: it was not the message's end), no
 * delivery_delayed notice (the message is on its way) and no change of the recipients' state.
 */
function rerouteEvents(ctx: AttemptContext, outcomes: ReadonlyMap<string, RecipientOutcome>) {
  const asDeferral = new Map<string, RecipientOutcome>(
    [...outcomes].map(([r, o]) => [
      r,
      o.kind === 'bounced'
        ? {
            kind: 'deferred',
            reply: o.reply,
            phase: o.phase,
            category: o.category,
            detail: o.detail,
            retryHintMs: null,
          }
        : o,
    ]),
  );
  return attemptRecord(ctx, asDeferral)
    .events.filter((e) => e.event !== 'delivery_delayed')
    .map((e) =>
      e.event === 'deferred'
        ? { ...e, detail: `${e.detail ?? ''}; routed to another IP`.replace(/^; /, '') }
        : e,
    );
}

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
  /** This node's own IP × provider suspensions (egress/routing/local-suspensions.ts). */
  readonly suspensions?: Pick<LocalSuspensionTable, 'active'>;
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
 * weights), then SMTP through the node's ready queue; a refusal about the IP itself sends
 * the message through another IP of the pool in the same attempt (docs/architecture.md,
 * "The reroute path"). Every outcome is a value; only infrastructure failures throw (and
 * Temporal retries them).
 */
export function createDeliver(deps: DeliverDeps) {
  /**
   * Whether another IP may take this refused outcome at once: the classifier scopes the reply
   * to the IP, or, without a reply (a refused greeting moves on to the next MX and ends as a
   * connection failure), the node has just suspended the IP for the provider.
   */
  function refusedForIp(o: RecipientOutcome, provider: string, ip: string): boolean {
    if (o.kind === 'delivered') return false;
    if (o.reply) return replyEffects(o.reply, o.phase, provider).ipScoped;
    return o.kind === 'deferred' && !o.ambiguous && (deps.suspensions?.active(ip, provider) ?? null) !== null;
  }

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

  async function journalAttempt(
    ctx: AttemptContext,
    outcomes: ReadonlyMap<string, RecipientOutcome>,
    timing?: { acceptedAtMs: number; startedAtMs: number },
  ): Promise<void> {
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
  }

  /** An attempt's answer to the workflow: each recipient's verdict, from the IP that sent. */
  function settledResult(
    ip: string | null,
    provider: string | null,
    outcomes: ReadonlyMap<string, RecipientOutcome>,
  ): DeliverResult {
    return {
      ip,
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

  async function finish(
    ctx: AttemptContext,
    outcomes: ReadonlyMap<string, RecipientOutcome>,
    provider: string | null,
  ): Promise<DeliverResult> {
    await journalAttempt(ctx, outcomes);
    return settledResult(ctx.mxAddress ? ctx.ip : null, provider, outcomes);
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
    const timing = { acceptedAtMs: message.acceptedAtMs, startedAtMs: started };
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
    const hosts = mx.hosts;
    const provider = detectProvider(hosts);
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

    // One message's routes this attempt: the IP chosen, and another at once when that IP
    // refused it for reasons of its own (docs/architecture.md, "The reroute path").
    const refusedBy = new Set<string>();
    const choose = () =>
      deps.chooseIp({
        tenantId: message.tenantId,
        messageType: message.messageType,
        provider,
        preferredIp: input.preferredIp,
        exclude: [...refusedBy],
      });
    // Only for a message whose first route was refused: the refusals, not yet written, kept
    // as the outcome when no other IP may take it now.
    let refused: { ctx: AttemptContext; outcomes: Map<string, RecipientOutcome> } | null = null;
    const final = new Map<string, RecipientOutcome>();
    let lastIp: string | null = null;
    let recipients = input.recipients;
    for (let route = 0; route < MAX_ROUTES_PER_ATTEMPT; route++) {
      let pick: IpPick | null = await choose();
      if (refused) {
        if (pick?.kind !== 'ip' || refusedBy.has(pick.ip)) break;
        // Another IP takes over: the refusal goes to the log as what it was for the message,
        // a deferral on the way, with no delivery_delayed notice and no state change.
        await deps.journal.append(rerouteEvents(refused.ctx, refused.outcomes));
        refused = null;
      }
      if (pick?.kind === 'wait') {
        // Held until the pool's route state changes (an IP resumed, a suspension expired): the
        // IP workflow's publish releases it. Held first, chosen again after, so a change that
        // lands in between is not missed.
        const hold = { scope: 'route' as const, value: pick.pool };
        await deps.routeHold.hold(message.id, input.domain, hold);
        await deps.routeHold.refresh();
        pick = await choose();
        if (pick?.kind === 'wait') {
          await noteWaiting(context(message, input, { provider }), recipients, `no IP: ${pick.reason}`);
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
      const attempted = await attemptFrom(ip, recipients);
      if ('throttled' in attempted) {
        // Recipients an earlier route settled are in the journal; a retry skips them.
        return waiting('throttled', attempted.throttled.retryAfterMs, attempted.throttled.reason, provider);
      }
      if ('suspended' in attempted) {
        // Nothing was tried: the node suspended the IP for this provider meanwhile.
        refusedBy.add(attempted.suspended.ip);
        continue;
      }
      span?.setAttributes({
        'posthorn.mx_host': attempted.mxHost ?? '',
        'posthorn.mx_address': attempted.mxAddress ?? '',
      });
      if (attempted.mxAddress) lastIp = ip;
      // Only a pool's IP has an IP workflow to feed (docs/architecture.md, "The routing wing").
      if (attempted.mxAddress && ip !== null) {
        // A suspension this node made and has not reported yet: its reply must reach the IP
        // workflow, which owns the IP's state, with the next summary.
        const unreported = deps.suspensions?.active(ip, provider)?.reportedAtMs === null;
        for (const o of attempted.outcomes.values()) {
          const reply = o.kind === 'delivered' ? null : o.reply;
          const suspends =
            unreported && o.kind !== 'delivered' && o.reply !== null
              ? replyEffects(o.reply, o.phase, provider).suspend !== null
              : false;
          deps.feed.record({ ip, provider, verdict: o.kind, reply, suspends });
        }
      }
      const ctx = context(message, input, {
        provider,
        pool: pick?.pool ?? null,
        ip,
        mxHost: attempted.mxHost,
        mxAddress: attempted.mxAddress,
        tls: attempted.tls,
        durationMs: deps.now() - started,
      });
      const again = new Map<string, RecipientOutcome>();
      const settledHere = new Map<string, RecipientOutcome>();
      for (const [r, o] of attempted.outcomes) {
        if (ip !== null && refusedForIp(o, provider, ip)) again.set(r, o);
        else settledHere.set(r, o);
      }
      if (settledHere.size > 0) await journalAttempt(ctx, settledHere, timing);
      for (const [r, o] of settledHere) final.set(r, o);
      if (again.size === 0 || ip === null) break;
      refusedBy.add(ip);
      refused = { ctx, outcomes: again };
      recipients = [...again.keys()];
    }
    if (final.size === 0 && !refused) {
      // Every IP tried was suspended under our feet (a safety bound, not a path in practice).
      return waiting('throttled', MIN_ROUTE_WAIT_MS, 'every IP chosen was suspended meanwhile', provider);
    }
    if (refused) {
      // No other IP may take it now: the refusal stands, and the retry schedule or the
      // route hold takes it from here.
      await journalAttempt(refused.ctx, refused.outcomes, timing);
      for (const [r, o] of refused.outcomes) final.set(r, o);
      if (refused.ctx.mxAddress) lastIp = refused.ctx.ip;
    }
    return settledResult(lastIp, provider, final);

    /** One SMTP attempt from `ip` for `to`. */
    async function attemptFrom(ip: string | null, to: readonly string[]) {
      // One recipient: its own index, so an asynchronous bounce names it even when the
      // report does not; several: index 0, and the report's Final-Recipient says which.
      const only = to.length === 1 ? (message.recipientIndex[to[0]!] ?? 0) : 0;
      const mailFrom = deps.returnPath(message.id, only, message.sendingDomain);
      // Signed per attempt, not at accept: a key rotation applies to mail still queued, and
      // the stored body stays the customer's message as accepted.
      const signed = await deps.sign(message.sendingDomain, message.mime);
      // Liveness only, on a timer: most attempts end within a second and send no heartbeat
      // at all (each one is a server round trip); the 15 s heartbeat timeout needs one in 5 s.
      let lastPhase: SmtpPhase = 'connect';
      const beat = setInterval(() => activity.heartbeat(lastPhase), HEARTBEAT_EVERY_MS);
      try {
        return await smtpAttempt(deps, {
          domain: input.domain,
          provider,
          hosts,
          recipients: to,
          ip,
          mailFrom,
          message: signed,
          heartbeat: (p) => {
            lastPhase = p;
          },
          signal: activity.signal,
          requireTls: message.requireTls,
          trace: { tenantId: message.tenantId, messageId: message.id },
        });
      } finally {
        clearInterval(beat);
      }
    }
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
