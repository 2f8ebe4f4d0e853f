import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ControlClient, PauseTarget } from '../adapters/control-client.js';
import type { EventFilter, EventRow } from '../adapters/postgres/events-query.js';
import type { IpRow, RoutingStore } from '../adapters/postgres/routing.js';
import type { IpRouteState } from '../core/routing/ip-actor-types.js';
import type { Pause } from '../core/routing/pauses.js';
import type { PoolDef } from '../core/routing/pools.js';
import { parseWarmupPlan } from '../core/routing/warmup-plan.js';
import type { QueueStats } from '../egress/dispatcher.js';
import { ApiError } from './errors.js';
import { eventFilterSchema, toEventFilter } from './event-filter.js';

export interface AdminRoutesDeps {
  /** The operator token (POSTHORN_ADMIN_TOKEN); admin routes do not exist without one. */
  readonly adminToken: string | null;
  readonly egressStats: () => QueueStats[];
  readonly control: Pick<ControlClient, 'pause' | 'resume' | 'pauses'>;
  readonly routing: Pick<RoutingStore, 'pools' | 'ips' | 'addPool' | 'addIp' | 'routeStates'>;
  readonly events: (filter: EventFilter) => Promise<EventRow[]>;
  readonly tenantIdByName: (name: string) => Promise<string | null>;
  readonly nodeId: string;
  readonly hostname: string;
  readonly now: () => number;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export function requireOperator(req: FastifyRequest, token: string): string {
  const given = req.headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (!given) throw new ApiError(401, 'missing_api_key', 'Missing API key in the authorization header.');
  // Compare digests: equal length whatever was sent, so the comparison time says nothing.
  if (!timingSafeEqual(digest(given), digest(token)))
    throw new ApiError(403, 'invalid_api_key', 'API key is invalid.');
  return `api:${req.ip}`;
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

  app.get('/admin/egress', async (req) => {
    requireOperator(req, token);
    return { object: 'list', data: deps.egressStats() };
  });

  app.get('/admin/events', async (req) => {
    requireOperator(req, token);
    const f = parsed(eventFilterSchema, req.query);
    return { object: 'list', data: await deps.events(toEventFilter(f, deps.now())) };
  });

  app.get('/admin/pauses', async (req) => {
    requireOperator(req, token);
    const routes: IpRouteState[] = await deps.routing.routeStates();
    const pauses: Pause[] = await deps.control.pauses().catch(() => []);
    return {
      object: 'pauses',
      scopes: pauses,
      ips: routes.filter((r) => r.paused || Object.keys(r.suspended).length > 0),
    };
  });

  app.post('/admin/pauses', async (req) => {
    const actor = requireOperator(req, token);
    const b = parsed(pauseSchema, req.body);
    const untilMs = b.for_seconds === undefined ? null : deps.now() + b.for_seconds * 1000;
    await deps.control.pause(toTarget(b.target), untilMs, b.reason, b.actor ?? actor);
    return { object: 'pause', target: b.target, until_ms: untilMs };
  });

  app.post('/admin/resumes', async (req) => {
    const actor = requireOperator(req, token);
    const b = parsed(resumeSchema, req.body);
    await deps.control.resume(toTarget(b.target), b.reason, b.actor ?? actor);
    return { object: 'resume', target: b.target };
  });

  app.get('/admin/ips', async (req) => {
    requireOperator(req, token);
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
    requireOperator(req, token);
    const b = parsed(poolSchema, req.body);
    const tenantId = b.tenant ? await deps.tenantIdByName(b.tenant) : null;
    if (b.tenant && !tenantId) throw new ApiError(422, 'validation_error', `No tenant named ${b.tenant}.`);
    await deps.routing.addPool({ name: b.name, tenantId, messageType: b.message_type ?? null });
    return { object: 'pool', name: b.name };
  });

  app.post('/admin/ips', async (req) => {
    requireOperator(req, token);
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
