import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ControlClient, PauseTarget } from '../adapters/control-client.js';
import type { SmtpTraceBus } from '../adapters/live-smtp-trace.js';
import type { DeliveryHealth, HealthDimension } from '../adapters/postgres/delivery-health.js';
import type { EventFilter, EventRow } from '../adapters/postgres/events-query.js';
import type { MessageTimeline } from '../adapters/postgres/message-timeline.js';
import type { IpRow, RoutingStore } from '../adapters/postgres/routing.js';
import type { IpRouteState } from '../core/routing/ip-actor-types.js';
import type { LocalSuspensions } from '../core/routing/local-suspensions.js';
import type { Pause } from '../core/routing/pauses.js';
import type { PoolDef } from '../core/routing/pools.js';
import { parseWarmupPlan } from '../core/routing/warmup-plan.js';
import type { QueueStats } from '../egress/dispatcher.js';
import { ApiError } from './errors.js';
import { eventFilterSchema, toEventFilter } from './event-filter.js';
import { requireOperator } from './operator-auth.js';

export interface AdminRoutesDeps {
  /** The operator token (POSTHORN_ADMIN_TOKEN); admin routes do not exist without one. */
  readonly adminToken: string | null;
  readonly egressStats: () => QueueStats[];
  /** This node's own IP × provider suspensions, not yet replaced by the IP workflows' state. */
  readonly localSuspensions?: () => LocalSuspensions;
  readonly control: Pick<ControlClient, 'pause' | 'resume' | 'pauses'>;
  readonly routing: Pick<RoutingStore, 'pools' | 'ips' | 'addPool' | 'addIp' | 'routeStates'>;
  readonly events: (filter: EventFilter) => Promise<EventRow[]>;
  readonly tenantIdByName: (name: string) => Promise<string | null>;
  readonly timeline: (messageId: string) => Promise<MessageTimeline | null>;
  readonly deliveryHealth: (q: {
    by: HealthDimension;
    sinceMs: number;
    untilMs: number;
    bucketMs: number;
    key?: string;
  }) => Promise<DeliveryHealth>;
  /** This node's live SMTP trace. */
  readonly smtpTrace: Pick<SmtpTraceBus, 'subscribe'>;
  /** Where the Temporal Web UI is (null: unknown, e.g. an external server without a URL set). */
  readonly temporalUi: { readonly url: string; readonly namespace: string } | null;
  readonly nodeId: string;
  readonly hostname: string;
  readonly now: () => number;
}

const targetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('ip'), ip: z.string().min(1), provider: z.string().nullish() }),
  z.object({ kind: z.enum(['domain', 'provider', 'tenant', 'sending_domain']), value: z.string().min(1) }),
]);
const pauseSchema = z.object({
  target: targetSchema,
  /** Seconds until the pause lifts by itself; absent: until resumed. */
  for_seconds: z.number().int().positive().optional(),
  reason: z.string().min(1).max(500),
  actor: z.string().max(200).optional(),
});
const resumeSchema = pauseSchema.omit({ for_seconds: true });
const poolSchema = z.object({
  name: z.string().regex(/^[a-z0-9-]{1,64}$/),
  tenant: z.string().nullish(),
  message_type: z.enum(['transactional', 'marketing']).nullish(),
});
// The EHLO argument is a domain (RFC 5321 §4.1.1.1, §2.3.5): LDH labels of at most 63
// octets, 253 in all; never anything that could end the command line.
const EHLO_NAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
const ipSchema = z.object({
  address: z.union([z.ipv4(), z.ipv6()], { error: 'not an IPv4 or IPv6 address' }),
  pool: z.string().min(1),
  ehlo_name: z.string().regex(EHLO_NAME, 'not a host name (RFC 5321 §2.3.5)').optional(),
  node_id: z.string().optional(),
  weight: z.number().int().min(0).default(100),
  warmup: z.boolean().default(false),
  /** The IP's own warmup plan (core/routing/warmup.ts WarmupPlan); absent: the default plan. */
  warmup_plan: z.unknown().optional(),
});

const traceSchema = z
  .object({
    domain: z.string().min(1).max(253).optional(),
    ip: z.union([z.ipv4(), z.ipv6()], { error: 'not an IPv4 or IPv6 address' }).optional(),
    tenant: z.string().min(1).optional(),
  })
  .strict();

/** A quiet trace stream still writes a newline this often, ms, so proxies keep it open. */
const TRACE_KEEPALIVE_MS = 15_000;

const healthSchema = z
  .object({
    by: z.enum(['provider', 'ip']).default('provider'),
    key: z.string().min(1).optional(),
    /** Hours back from now, 1 to 30 days. */
    hours: z.coerce.number().int().min(1).max(720).default(24),
  })
  .strict();

/**
 * The Temporal Web UI's list of the workflows that carried a message: its own (id = message
 * id) and the delivery wave that made its first attempt (docs/architecture.md, "Delivery waves").
 */
export function temporalUiLink(ui: { url: string; namespace: string }, messageId: string): string {
  const query = `WorkflowId="${messageId}" OR PosthornMessageIds="${messageId}"`;
  return `${ui.url.replace(/\/$/, '')}/namespaces/${encodeURIComponent(ui.namespace)}/workflows?query=${encodeURIComponent(query)}`;
}

function parsed<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (!r.success) {
    const i = r.error.issues[0];
    throw new ApiError(
      422,
      'validation_error',
      i ? `Invalid \`${i.path.join('.')}\`: ${i.message}` : 'Invalid body.',
    );
  }
  return r.data;
}

function toTarget(t: z.infer<typeof targetSchema>): PauseTarget {
  return t.kind === 'ip'
    ? { kind: 'ip', ip: t.ip, provider: t.provider ?? null }
    : { kind: t.kind, value: t.value };
}

/**
 * Operator routes: the node's egress, pools and IPs with their route state, pauses (each a
 * Temporal signal, so the workflow history records who did what and why), and the
 * delivery log cut by customer, domain, provider, route, IP, message type and event.
 */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminRoutesDeps): void {
  const token = deps.adminToken;
  if (!token) return;
  // Open trace streams end when the node stops; they would hold the server open otherwise.
  const traces = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of traces) res.end();
  });

  app.get('/admin/egress', async (req) => {
    requireOperator(req, token, deps.now());
    const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
    return {
      object: 'list',
      data: deps.egressStats(),
      local_suspensions: (deps.localSuspensions?.() ?? []).map((s) => ({
        ip: s.ip,
        provider: s.provider,
        rule_id: s.ruleId,
        since: iso(s.sinceMs),
        until: iso(s.untilMs),
        reported_at: iso(s.reportedAtMs),
      })),
    };
  });

  app.get('/admin/events', async (req) => {
    requireOperator(req, token, deps.now());
    const f = parsed(eventFilterSchema, req.query);
    return { object: 'list', data: await deps.events(toEventFilter(f, deps.now())) };
  });

  app.get('/admin/messages/:id', async (req) => {
    requireOperator(req, token, deps.now());
    const { id } = parsed(z.object({ id: z.uuid() }), req.params);
    const found = await deps.timeline(id);
    if (!found) throw new ApiError(404, 'not_found', 'Email not found.');
    return {
      object: 'message_timeline',
      ...found,
      temporal_ui: deps.temporalUi ? temporalUiLink(deps.temporalUi, id) : null,
    };
  });

  app.get('/admin/health', async (req) => {
    requireOperator(req, token, deps.now());
    const q = parsed(healthSchema, req.query);
    const untilMs = deps.now();
    const health = await deps.deliveryHealth({
      by: q.by,
      key: q.key,
      sinceMs: untilMs - q.hours * 3_600_000,
      untilMs,
      // About 24 to 48 points per chart whatever the range.
      bucketMs: Math.max(1, Math.floor(q.hours / 24)) * 3_600_000,
    });
    return { object: 'delivery_health', by: q.by, ...health };
  });

  // The live SMTP trace of this node, one JSON line per SMTP line (NDJSON), until the
  // client goes away. Other nodes' sessions are on their own /admin/trace.
  app.get('/admin/trace', async (req, reply) => {
    requireOperator(req, token, deps.now());
    const q = parsed(traceSchema, req.query);
    const tenantId = q.tenant === undefined ? undefined : await deps.tenantIdByName(q.tenant);
    if (q.tenant !== undefined && !tenantId)
      throw new ApiError(422, 'validation_error', `No tenant named ${q.tenant}.`);
    reply.hijack();
    const res = reply.raw;
    traces.add(res);
    res.writeHead(200, {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    });
    res.write(`${JSON.stringify({ node: deps.nodeId, tracing: q })}\n`);
    const unsubscribe = deps.smtpTrace.subscribe(
      {
        ...(q.domain ? { domain: q.domain.toLowerCase() } : {}),
        ...(q.ip ? { ip: q.ip } : {}),
        ...(tenantId ? { tenantId } : {}),
      },
      // A reader that does not keep up loses lines rather than growing the node's memory.
      (line) => {
        if (res.writableLength < 1_000_000) res.write(`${JSON.stringify(line)}\n`);
      },
    );
    const keepalive = setInterval(() => res.write('\n'), TRACE_KEEPALIVE_MS);
    await new Promise<void>((resolve) => res.once('close', () => resolve()));
    clearInterval(keepalive);
    unsubscribe();
    traces.delete(res);
  });

  app.get('/admin/pauses', async (req) => {
    requireOperator(req, token, deps.now());
    const routes: IpRouteState[] = await deps.routing.routeStates();
    const pauses: Pause[] = await deps.control.pauses().catch(() => []);
    return {
      object: 'pauses',
      scopes: pauses,
      ips: routes.filter((r) => r.paused || Object.keys(r.suspended).length > 0),
    };
  });

  app.post('/admin/pauses', async (req) => {
    const actor = requireOperator(req, token, deps.now());
    const b = parsed(pauseSchema, req.body);
    const untilMs = b.for_seconds === undefined ? null : deps.now() + b.for_seconds * 1000;
    await deps.control.pause(toTarget(b.target), untilMs, b.reason, b.actor ?? actor);
    return { object: 'pause', target: b.target, until_ms: untilMs };
  });

  app.post('/admin/resumes', async (req) => {
    const actor = requireOperator(req, token, deps.now());
    const b = parsed(resumeSchema, req.body);
    await deps.control.resume(toTarget(b.target), b.reason, b.actor ?? actor);
    return { object: 'resume', target: b.target };
  });

  app.get('/admin/ips', async (req) => {
    requireOperator(req, token, deps.now());
    const routes = new Map((await deps.routing.routeStates()).map((r) => [r.ip, r]));
    const pools: PoolDef[] = await deps.routing.pools();
    const ips: IpRow[] = await deps.routing.ips();
    return {
      object: 'list',
      pools,
      data: ips.map((ip) => ({ ...ip, route: routes.get(ip.address) ?? null })),
    };
  });

  app.post('/admin/pools', async (req) => {
    requireOperator(req, token, deps.now());
    const b = parsed(poolSchema, req.body);
    const tenantId = b.tenant ? await deps.tenantIdByName(b.tenant) : null;
    if (b.tenant && !tenantId) throw new ApiError(422, 'validation_error', `No tenant named ${b.tenant}.`);
    await deps.routing.addPool({ name: b.name, tenantId, messageType: b.message_type ?? null });
    return { object: 'pool', name: b.name };
  });

  app.post('/admin/ips', async (req) => {
    requireOperator(req, token, deps.now());
    const b = parsed(ipSchema, req.body);
    const pools = await deps.routing.pools();
    if (!pools.some((p) => p.name === b.pool))
      throw new ApiError(422, 'validation_error', `No pool named ${b.pool}.`);
    const plan = b.warmup_plan === undefined ? null : parseWarmupPlan(b.warmup_plan);
    if (plan && !plan.ok)
      throw new ApiError(422, 'validation_error', `Invalid \`warmup_plan\`: ${plan.problems.join('; ')}`);
    await deps.routing.addIp({
      address: b.address,
      pool: b.pool,
      ehloName: b.ehlo_name ?? deps.hostname,
      nodeId: b.node_id ?? deps.nodeId,
      weight: b.weight,
      warm: !b.warmup,
      warmupPlan: plan?.ok ? plan.plan : null,
    });
    return { object: 'ip', address: b.address };
  });
}
