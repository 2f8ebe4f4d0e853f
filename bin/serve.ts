import { randomInt } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { createActivities } from '../activities/index.js';
import { activityHeartbeat, createWebhookDelivery, WEBHOOK_TIMEOUT_MS } from '../activities/webhooks.js';
import { createAttachmentFetcher } from '../adapters/attachment-fetch.js';
import { type CpuPool, createCpuPool, defaultCpuWorkers } from '../adapters/cpu-pool.js';
import { cachingResolver, createDnsResolver } from '../adapters/dns.js';
import { tracedResolver } from '../adapters/dns-tracing.js';
import { createGuardedHttp } from '../adapters/guarded-http.js';
import { verpKeysFromMaster } from '../adapters/hmac.js';
import { createSmtpTraceBus } from '../adapters/live-smtp-trace.js';
import { parseMail } from '../adapters/mail-parser.js';
import { createMtaStsResolver, stsLookupsOver, trustAnchors } from '../adapters/mta-sts.js';
import { createDb } from '../adapters/postgres/db.js';
import { deliveryHealth } from '../adapters/postgres/delivery-health.js';
import { dkimKeyStore } from '../adapters/postgres/dkim-keys.js';
import { queryEvents } from '../adapters/postgres/events-query.js';
import { groupCommit } from '../adapters/postgres/group-commit.js';
import { idempotencyStore } from '../adapters/postgres/idempotency.js';
import { createJournal } from '../adapters/postgres/journal.js';
import { listen } from '../adapters/postgres/listen.js';
import { messageTimeline } from '../adapters/postgres/message-timeline.js';
import { messageStore } from '../adapters/postgres/messages.js';
import { migrate } from '../adapters/postgres/migrate.js';
import { retentionStore } from '../adapters/postgres/retention.js';
import { routingStore } from '../adapters/postgres/routing.js';
import { suppressionStore } from '../adapters/postgres/suppressions.js';
import { tenantStore } from '../adapters/postgres/tenants.js';
import { webhookStore } from '../adapters/postgres/webhooks.js';
import { temporalScheduleControl } from '../adapters/schedule-control.js';
import { readSubmittedMail } from '../adapters/submitted-mail.js';
import {
  connectTemporal,
  egressTaskQueue,
  ensureSearchAttributes,
  installTemporalRuntime,
  MESSAGE_TASK_QUEUE,
  temporalMessageStarter,
  temporalWaveStarter,
} from '../adapters/temporal.js';
import { setUpTracing } from '../adapters/tracing-setup.js';
import { newSigningSecret } from '../adapters/webhook-signing.js';
import { createWebhookWaker, startWebhookSweeper } from '../adapters/webhook-wake.js';
import { watchWorkerSlots } from '../adapters/worker-slots.js';
import { bundleWorkflows } from '../adapters/workflow-bundle.js';
import { createAccept } from '../api/accept.js';
import { DEFAULT_ATTACHMENT_LIMITS, resolveAttachments } from '../api/remote-attachments.js';
import { buildApi } from '../api/server.js';
import { createStartMessages, startSweeper } from '../api/start-messages.js';
import { createSubmissionDesk, MAX_SUBMITTED_MESSAGE_BYTES } from '../api/submission.js';
import { cachedTenantLookups } from '../api/tenant-cache.js';
import {
  stampTraces,
  traceAccept,
  traceCommit,
  traceMessageStarts,
  traceWaveStarts,
  tracingPlugin,
} from '../api/tracing-hooks.js';
import type { EmailDraft } from '../api/validate.js';
import { createWaveFormer } from '../api/wave-former.js';
import type { Config } from '../config/schema.js';
import { parseReport } from '../core/bounce/report/index.js';
import type { RetrySchedule } from '../core/delivery/retry-schedule.js';
import { withSuppressed } from '../core/events.js';
import { createClientLimits, DEFAULT_CLIENT_LIMITS } from '../core/submission/client-limits.js';
import { decodeVerpAddress } from '../core/verp.js';
import { createDispatcher } from '../egress/dispatcher.js';
import { createDkimSigner } from '../egress/dkim-signer.js';
import { createSessionOpener } from '../egress/open-session.js';
import { createReturnPath } from '../egress/return-path.js';
import { createLimitsFor } from '../egress/smtp-attempt.js';
import { createTlsMemory } from '../egress/tls-memory.js';
import { startBounceListener } from '../inbound/bounce-listener.js';
import { createIntake } from '../inbound/intake.js';
import { startSubmissionListener } from '../inbound/submission-listener.js';
import { SHARED_EGRESS_TASK_QUEUE } from '../workflows/contract.js';
import { startDomains } from './domains-runtime.js';
import { createObservability } from './observability.js';
import { startRetention } from './retention-runtime.js';
import { startRouting } from './routing-runtime.js';
import type { SubmissionSettings } from './submission-settings.js';
import { tenantLimitsRuntime, trustSafetyRuntime } from './tenant-limits-runtime.js';

export interface Running {
  readonly apiUrl: string;
  stop(): Promise<void>;
  /** Settles when a worker stops by itself (a fatal error); rejects with that error. */
  readonly done: Promise<void>;
}

/** DNS answers are kept at most their TTL and never longer than this, ms. */
const DNS_MAX_TTL_MS = 300_000;
/** A cached API key or sending domain is read again after this, ms (changes are pushed sooner). */
const TENANT_CACHE_MS = 60_000;
/** How often the node looks for committed messages whose workflow start failed, ms. */
const START_SWEEP_INTERVAL_MS = 2_000;
/** The accepting request's own start normally lands well within this, s. */
const START_SWEEP_GRACE_S = 5;
/** Another node's message this old was left by a node that is gone (or cut off); this node's own wait this long while its former is busy, s. */
const START_SWEEP_OTHER_NODE_GRACE_S = 120;
/** Wave starts in flight at once: while they are, the next wave gathers messages. */
const WAVE_STARTS_IN_FLIGHT = 2;
/**
 * Messages per wave unless POSTHORN_WAVE_MAX says: what Temporal's default search attribute
 * limit holds, and more on the dev server started here (config/schema.ts, waveMax).
 */
const WAVE_MAX = { default: 50, ownDevServer: 100 } as const;
/**
 * In-flow control (api/wave-former.ts, admit): new requests pause once the oldest message
 * waiting for a wave has waited INFLOW_BACKLOG_MS, for at most INFLOW_DELAY_MS each (Postfix's
 * in_flow_delay default). A burst whose surplus the node delivers within a minute passes at
 * the API's pace; a sustained overload is slowed before the backlog in memory grows without
 * end, and before its oldest messages reach the grace after which every node's start
 * sweeper takes them (START_SWEEP_OTHER_NODE_GRACE_S; the claim still sends each once).
 */
const INFLOW_BACKLOG_MS = 60_000;
const INFLOW_DELAY_MS = 1_000;

const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
/**
 * Pure modules the workflows use, initialised once per worker rather than once per
 * workflow (docs/architecture.md, "Workflow bundle"): the IP actor pulls in the bounce
 * classifier's rule tables, which cost each workflow start most of a millisecond.
 */
const PRELOADED_WORKFLOW_MODULES = [
  '../core/routing/ip-actor.ts',
  '../core/bounce/classify.ts',
  '../core/delivery/retry-schedule.ts',
  '../core/address.ts',
  '../core/routing/pauses.ts',
].map((p) => fileURLToPath(new URL(p, import.meta.url)));

/** Each webhook endpoint's actor is signalled at most this often by a node, ms. */
const WEBHOOK_WAKE_INTERVAL_MS = 1_000;
/** How often the node looks for webhook events due and not taken, and how late they must be, ms. */
const WEBHOOK_SWEEP_INTERVAL_MS = 10_000;
const WEBHOOK_SWEEP_GRACE_MS = 10_000;

/** A journal write waiting longer than this makes /health answer 503 (ms). */
const JOURNAL_HEALTHY_LAG_MS = 5_000;
/** Deliveries at once: a node's waves (local activities), its retries, a dead node's retries. */
const WAVE_DELIVERY_SLOTS = 200;
const EGRESS_SLOTS = 200;
const SHARED_EGRESS_SLOTS = 50;

export function retryScheduleOf(config: Config): RetrySchedule {
  return {
    initialMs: config.retryInitial,
    factor: config.retryFactor,
    maxDelayMs: config.retryMax,
    maxAgeMs: config.retryMaxAge,
    greylistMs: config.retryGreylist,
    pickupMs: config.egressPickupTimeout,
  };
}

function composeDraft(
  compose: CpuPool['compose'],
  draft: EmailDraft,
  messageIdHeader: string,
  date: Date,
): Promise<Buffer> {
  const list = (ms: EmailDraft['to']) =>
    ms.map((m) => (m.name ? `"${m.name.replace(/["\\]/g, '\\$&')}" <${m.address}>` : m.address));
  return compose({
    from: draft.from,
    to: list(draft.to),
    cc: draft.cc.length ? list(draft.cc) : null,
    replyTo: draft.replyTo.length ? list(draft.replyTo) : null,
    subject: draft.subject,
    html: draft.html,
    text: draft.text,
    headers: draft.headers,
    attachments: draft.attachments,
    messageId: messageIdHeader,
    date,
  });
}

const temporalUiOf = (url: string | null, namespace: string) => (url ? { url, namespace } : null);

/**
 * The composition root of a Posthorn node: database, Temporal workers (message workflows
 * and this node's egress activities) and the HTTP API in one process.
 */
export async function serve(
  config: Config,
  deps: {
    databaseUrl: string;
    databaseMaxConnections: number;
    temporalAddress: string;
    /** The Temporal Web UI of the dev server; POSTHORN_TEMPORAL_UI_URL names another one. */
    temporalUiUrl?: string | null;
    /** Temporal is the dev server this process started, whose limits it set. */
    ownDevServer?: boolean;
    masterKey: Buffer;
    logger: Logger;
    /** SMTP submission (bin/submission-settings.ts); null: off. */
    submission?: SubmissionSettings | null;
  },
): Promise<Running> {
  const log = deps.logger;
  const db = createDb({ connectionString: deps.databaseUrl, maxConnections: deps.databaseMaxConnections });
  const applied = await migrate(db);
  if (applied.length > 0) log.info({ event: 'db.migrated', applied }, 'database migrated');

  installTemporalRuntime(log, { metricsAddress: config.temporalMetrics });
  const tracing = await setUpTracing(process.env, log, config.traceWorkflows);
  const { connection, client } = await connectTemporal(
    deps.temporalAddress,
    config.temporalNamespace,
    tracing.clientInterceptors,
  );
  await ensureSearchAttributes(client, config.temporalNamespace);

  const observability = createObservability(config, {
    db,
    log,
    egressStats: () => dispatcher.stats(),
    journalLagMs: () => journal.lagMs(),
    now: Date.now,
  });
  const webhookWaker = createWebhookWaker({
    client,
    log,
    now: Date.now,
    minIntervalMs: WEBHOOK_WAKE_INTERVAL_MS,
  });
  const webhooks = webhookStore(db);
  const journal = createJournal(db, {
    observer: observability.journal,
    onWebhookEvents: (ids) => webhookWaker.wake(ids),
  });
  const verp = verpKeysFromMaster([deps.masterKey]);
  const messages = messageStore(db);
  const tenantRows = tenantStore(db);
  const lookups = cachedTenantLookups(tenantRows, {
    ttlMs: TENANT_CACHE_MS,
    now: Date.now,
    maxEntries: 10_000,
  });
  const cpu = createCpuPool({ size: config.cpuWorkers ?? defaultCpuWorkers(), log });
  const dkimSigner = createDkimSigner({
    keys: dkimKeyStore(db),
    masterKey: deps.masterKey,
    now: Date.now,
    signatureFields: cpu.signatureFields,
  });
  const domainsApi = startDomains({
    db,
    client,
    config,
    masterKey: deps.masterKey,
    log,
    forgetCached: () => {
      lookups.invalidate();
      dkimSigner.forget();
    },
  });
  const tenants = {
    ...tenantRows,
    async principalByTokenHash(tokenHash: Buffer) {
      const principal = await lookups.principalByTokenHash(tokenHash);
      if (principal) domainsApi.keyUsage.used(principal.keyId);
      return principal;
    },
    domainByName: lookups.domainByName,
  };
  const tenantLimits = tenantLimitsRuntime(db, config, () => routing.cache.current().pauses);
  // A sending domain deleted and created again has new keys at once, not after the cache's 5 min.
  const forgetCachedAuth = () => {
    lookups.invalidate();
    tenantLimits.invalidate();
    dkimSigner.forget();
  };
  const authChanges = listen(deps.databaseUrl, 'posthorn_auth', forgetCachedAuth, (err) => {
    // Changes may have been missed while disconnected.
    forgetCachedAuth();
    log.warn({ err, event: 'auth_listen.error' }, 'lost the auth change notifications; reconnecting');
  });
  const suppressions = suppressionStore(db);
  const routing = await startRouting({ db, databaseUrl: deps.databaseUrl, client, config, log });
  const retention = await startRetention({
    store: retentionStore(db),
    eventRetentionMs: config.eventRetention,
    bodyRetentionMs: config.bodyRetention,
    log,
    now: Date.now,
  });
  const safety = trustSafetyRuntime(
    db,
    config,
    { control: routing.control, pauses: () => routing.cache.current().pauses },
    log,
  );
  const cachedDns = cachingResolver(
    createDnsResolver({ servers: config.dnsServers, timeoutMs: config.dnsTimeout, tries: 2 }),
    { now: Date.now, maxTtlMs: DNS_MAX_TTL_MS, shortTtlMs: config.dnsShortTtl, maxEntries: 50_000 },
  );
  const dns = tracing.enabled ? tracedResolver(cachedDns) : cachedDns;
  // Node's CAs plus POSTHORN_MTA_STS_CA: for policy fetches and MX certificates under MTA-STS.
  const trusted = trustAnchors(config.mtaStsCa);
  // One MTA-STS resolver per node: policies are cached per recipient domain (RFC 8461 §3.3).
  const mtaSts = config.mtaSts
    ? createMtaStsResolver({
        ...stsLookupsOver(dns),
        ca: trusted,
        port: config.mtaStsPort,
        allowLoopback: config.allowLoopback,
      })
    : null;
  // Attachment URLs (attachments[].path), fetched once at accept. The same trust anchors
  // as MTA-STS: Node's CAs plus POSTHORN_MTA_STS_CA.
  const attachmentHttp = createGuardedHttp({
    addresses: stsLookupsOver(dns).addresses,
    timeoutMs: DEFAULT_ATTACHMENT_LIMITS.fetchTimeoutMs,
    ca: trusted,
    allowLoopback: config.allowLoopback,
  });
  const attachmentFetcher = createAttachmentFetcher({
    http: attachmentHttp,
    allowLoopback: config.allowLoopback,
  });
  const smtpTrace = createSmtpTraceBus();
  const dispatcher = createDispatcher({
    openSession: createSessionOpener({
      port: config.smtpPort,
      timeouts: {
        connectMs: config.smtpConnectTimeout,
        greetingMs: config.smtpGreetingTimeout,
        socketMs: config.smtpCommandTimeout,
      },
      ehloNameOf: routing.ehloNameOf,
      hostname: config.hostname,
      ca: trusted,
      trace: smtpTrace,
    }),
    suspensions: routing.suspensions,
  });
  const webhookHttp = createGuardedHttp({
    addresses: stsLookupsOver(dns).addresses,
    timeoutMs: WEBHOOK_TIMEOUT_MS,
    allowLoopback: config.allowLoopback,
    keepAlive: true,
  });
  const webhookDelivery = createWebhookDelivery({
    store: webhooks,
    http: webhookHttp,
    concurrency: config.webhookConcurrency,
    retryScale: config.webhookRetryScale,
    disableAfterMs: config.webhookDisableAfter,
    now: Date.now,
    heartbeat: activityHeartbeat,
  });
  const webhookSweeper = startWebhookSweeper({
    store: webhooks,
    waker: webhookWaker,
    log,
    intervalMs: WEBHOOK_SWEEP_INTERVAL_MS,
    graceMs: WEBHOOK_SWEEP_GRACE_MS,
  });
  const starter = traceMessageStarts(temporalMessageStarter(client));
  const activities = createActivities({
    messages,
    journal,
    dns,
    dispatcher,
    limitsFor: createLimitsFor(config.egressLimits),
    allowLoopbackMx: config.allowLoopback,
    mtaSts,
    tlsMemory: createTlsMemory(),
    chooseIp: routing.chooseIp,
    pauseGate: routing.pauseGate,
    routeHold: routing.routeHold,
    feed: routing.feed,
    suspensions: routing.suspensions,
    sign: dkimSigner.sign,
    returnPath: createReturnPath({ subdomain: config.returnPathSubdomain, mac: verp.mac }),
    random: () => randomInt(0, 2 ** 32) / 2 ** 32,
    now: Date.now,
    starter,
    waveLoad: (delta) => former.load(delta),
    metrics: observability.metrics ?? undefined,
  });

  const former = createWaveFormer({
    maxWave: config.waveMax ?? (deps.ownDevServer ? WAVE_MAX.ownDevServer : WAVE_MAX.default),
    windowMs: config.waveWindow,
    maxInFlight: WAVE_STARTS_IN_FLIGHT,
    // Messages in waves this node delivers at once; more wait in the former as ids. As many
    // as one destination's ready queue holds: when every message goes to one site, the
    // waves fill its queue and no more, so none is turned away (and continued in a
    // workflow of its own) for a full queue.
    maxDelivering: config.egressLimits.default.maxQueueDepth,
    backlogMs: INFLOW_BACKLOG_MS,
    maxInflowDelayMs: INFLOW_DELAY_MS,
    waves: traceWaveStarts(temporalWaveStarter(client)),
    startMessages: createStartMessages({ starter, messages, log }),
    log,
    now: Date.now,
  });
  const sweeper = startSweeper({
    messages,
    former,
    node: config.nodeId,
    retry: retryScheduleOf(config),
    egressTaskQueue: egressTaskQueue(config.nodeId),
    now: Date.now,
    log,
    intervalMs: START_SWEEP_INTERVAL_MS,
    ownGraceSec: START_SWEEP_GRACE_S,
    anyGraceSec: START_SWEEP_OTHER_NODE_GRACE_S,
  });

  const common = { connection, namespace: config.temporalNamespace, ...tracing.worker };
  const messageWorker = await Worker.create({
    ...common,
    taskQueue: MESSAGE_TASK_QUEUE,
    workflowBundle: await bundleWorkflows(
      WORKFLOWS_PATH,
      PRELOADED_WORKFLOW_MODULES,
      tracing.workflowInterceptorModules,
    ),
    activities: {
      expire: activities.expire,
      deliverWave: activities.deliverWave,
      reschedule: activities.reschedule,
      cancelScheduled: activities.cancelScheduled,
      releaseScheduled: activities.releaseScheduled,
      ...routing.activities,
      ...domainsApi.activities,
      drainWebhook: webhookDelivery.drainWebhook,
    },
    // A wave holds its workflow task slot while its local activity delivers, so slots bound
    // the waves in progress. With the SDK's 40 slots most eager starts were refused (the
    // task then goes through matching); 200 took them all (docs/architecture.md, "Cost per
    // message").
    maxConcurrentWorkflowTaskExecutions: 200,
    maxConcurrentLocalActivityExecutions: WAVE_DELIVERY_SLOTS,
    maxCachedWorkflows: 1_000,
  });
  const egressWorker = await Worker.create({
    ...common,
    taskQueue: egressTaskQueue(config.nodeId),
    activities: { deliver: activities.deliver },
    // Delivery activities mostly wait on sockets; the dispatcher's per-site limits, not
    // this number, bound how hard we push a destination.
    maxConcurrentActivityTaskExecutions: EGRESS_SLOTS,
  });
  // Deliveries whose own node did not pick them up in time (a dead node's): any node takes them.
  const sharedEgressWorker = await Worker.create({
    ...common,
    taskQueue: SHARED_EGRESS_TASK_QUEUE,
    activities: { deliver: activities.deliver },
    maxConcurrentActivityTaskExecutions: SHARED_EGRESS_SLOTS,
  });
  const slotsStuck = [
    watchWorkerSlots(
      messageWorker,
      'local',
      WAVE_DELIVERY_SLOTS,
      config.healthStuckAfter,
      Date.now,
      journal.committedEvents,
    ),
    watchWorkerSlots(
      egressWorker,
      'remote',
      EGRESS_SLOTS,
      config.healthStuckAfter,
      Date.now,
      journal.committedEvents,
    ),
    watchWorkerSlots(
      sharedEgressWorker,
      'remote',
      SHARED_EGRESS_SLOTS,
      config.healthStuckAfter,
      Date.now,
      journal.committedEvents,
    ),
  ];
  const done = Promise.all([messageWorker.run(), egressWorker.run(), sharedEgressWorker.run()]).then(
    () => undefined,
  );
  done.catch((err) => log.fatal({ err, event: 'worker.failed' }, 'a Temporal worker stopped'));
  void domainsApi
    .ensureActors()
    .catch((err) => log.warn({ err, event: 'domains.ensure_actors_failed' }, 'domain actors not checked'));

  // Concurrent requests share their insert, suppression check included (group commit): one
  // round trip and one WAL flush for many requests under load. SMTP submission's check at
  // RCPT shares its lookups the same way.
  const suppressedGrouped = groupCommit((qs: readonly { tenantId: string; addresses: readonly string[] }[]) =>
    suppressions.suppressedAmongMany(qs),
  );
  const insertGrouped = groupCommit(async (batches: readonly Parameters<typeof messages.insert>[0][]) => {
    const inserted = await messages.insert(batches.flat());
    observability.accepted(
      withSuppressed(
        batches.flatMap((b) => b.flatMap((m) => m.events)),
        inserted.suppressed,
      ),
    );
    // The webhooks the shared statement queued events for, woken once for all callers.
    webhookWaker.wake(inserted.webhooks);
    return batches.map(() => inserted);
  });
  // One budget per tenant for both front doors, the HTTP API and SMTP submission.
  const accept = traceAccept(
    createAccept({
      tenants,
      messages: { insert: traceCommit(insertGrouped) },
      dispatch: (pending) => former.add(stampTraces(pending)),
      admit: () => former.admit(),
      node: config.nodeId,
      compose: (draft, messageIdHeader, date) => composeDraft(cpu.compose, draft, messageIdHeader, date),
      retry: retryScheduleOf(config),
      egressTaskQueue: egressTaskQueue(config.nodeId),
      now: Date.now,
      limits: tenantLimits.limits,
    }),
  );
  const api = buildApi({
    logger: log,
    plugins: [...observability.apiPlugins, tracingPlugin()],
    adminToken: config.adminToken ?? null,
    egressStats: () => dispatcher.stats(),
    localSuspensions: () => routing.suspensions.current(),
    control: routing.control,
    routing: routingStore(db),
    events: (filter) => queryEvents(db, filter),
    tenantIdByName: (name) => tenants.tenantIdByName(name),
    timeline: (id) => messageTimeline(db, id),
    deliveryHealth: (q) => deliveryHealth(db, q),
    smtpTrace,
    temporalUi: temporalUiOf(config.temporalUiUrl ?? deps.temporalUiUrl ?? null, config.temporalNamespace),
    nodeId: config.nodeId,
    hostname: config.hostname,
    tenants,
    messages,
    suppressions,
    domains: domainsApi.service,
    apiKeys: domainsApi.apiKeys,
    keyDomains: domainsApi.service.store,
    forgetCachedKeys: domainsApi.service.forgetCached,
    idempotency: idempotencyStore(db),
    webhooks,
    wakeWebhook: (id) => webhookWaker.wake([id]),
    newSigningSecret,
    allowLoopbackWebhooks: config.allowLoopback,
    now: Date.now,
    rateLimit: tenantLimits.rateLimit,
    resolveAttachments: (emails) =>
      resolveAttachments(emails, {
        fetcher: attachmentFetcher,
        now: Date.now,
        limits: DEFAULT_ATTACHMENT_LIMITS,
      }),
    schedules: temporalScheduleControl(client),
    accept,
    health: async () => ({
      database: await db.query('SELECT 1').then(
        () => true,
        () => false,
      ),
      temporal: await client.workflowService.getSystemInfo({}).then(
        () => true,
        () => false,
      ),
      worker: [messageWorker, egressWorker, sharedEgressWorker].every((w) => w.getState() === 'RUNNING'),
      // Every delivery slot busy and none finished for POSTHORN_HEALTH_STUCK_AFTER: nothing moves.
      delivery: !slotsStuck.some((stuck) => stuck()),
      // A write waits behind a stuck statement or lock, or through an outage: deliveries
      // cannot record their outcomes, so the node is not healthy even if SELECT 1 passes.
      journal: journal.lagMs() < JOURNAL_HEALTHY_LAG_MS,
    }),
  });
  const apiUrl = await api.listen({ port: config.apiPort, host: config.apiHost });
  log.info({ event: 'api.listening', url: apiUrl }, 'HTTP API listening');
  await observability.start();

  const inbound =
    config.inboundPort === 0
      ? null
      : await startBounceListener({
          host: config.inboundHost,
          port: config.inboundPort,
          hostname: config.hostname,
          logger: log,
          decodeReturnPath: (address) => {
            const d = decodeVerpAddress(address, verp.verify);
            return d.ok ? { messageId: d.messageId, recipientIndex: d.recipientIndex } : null;
          },
          intake: createIntake({
            messages,
            journal,
            parse: async (raw) => parseReport(await parseMail(raw)),
          }),
        });
  if (inbound) log.info({ event: 'inbound.listening', port: inbound.port }, 'bounce intake listening');

  const submission = deps.submission
    ? await startSubmissionListener({
        host: deps.submission.host,
        port: deps.submission.port,
        tlsPort: deps.submission.tlsPort,
        hostname: config.hostname,
        tls: deps.submission.tls,
        maxMessageBytes: MAX_SUBMITTED_MESSAGE_BYTES,
        limits: createClientLimits(DEFAULT_CLIENT_LIMITS),
        logger: log,
        now: Date.now,
        desk: createSubmissionDesk({
          tenants,
          accept,
          suppressedAmong: (tenantId, addresses) => suppressedGrouped({ tenantId, addresses }),
          rateBudget: tenantLimits.rateBudget,
          readMail: readSubmittedMail,
          log,
        }),
      })
    : null;
  if (submission) {
    log.info(
      { event: 'submission.listening', ...submission.ports, certificate: deps.submission?.certificate },
      'SMTP submission listening',
    );
  }

  let stopping: Promise<void> | null = null;
  return {
    apiUrl,
    done,
    stop() {
      stopping ??= (async () => {
        await api.close();
        await submission?.close();
        await observability.close();
        await inbound?.close();
        await sweeper.close();
        await safety?.close();
        await retention.close();
        await webhookSweeper.close();
        await authChanges.close();
        await former.close();
        for (const w of [messageWorker, egressWorker, sharedEgressWorker])
          if (w.getState() === 'RUNNING') w.shutdown();
        await done.catch(() => {});
        await routing.close();
        await dispatcher.close();
        await mtaSts?.close();
        await attachmentHttp.close();
        await journal.close();
        await webhookWaker.close();
        await webhookHttp.close();
        await connection.close();
        await tracing.shutdown();
        await cpu.close();
        await db.close();
      })();
      return stopping;
    },
  };
}
