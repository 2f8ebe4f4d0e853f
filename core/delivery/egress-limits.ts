import { z } from 'zod';
import { durationSchema, formatDuration } from '../duration.js';
import type { SiteKey } from './site.js';
import { formatThrottleSpec, optionalThrottleSpecSchema, type ThrottleSpec } from './throttle-spec.js';

/**
 * What one ready queue, one (source IP × site), may do to the receiver. Enforced by the
 * node's egress dispatcher (egress/dispatcher.ts).
 */
export interface EgressLimits {
  /** SMTP connections open at once, in use or idle. */
  readonly maxConnections: number;
  /** Messages (transactions) over one connection before it is closed and a fresh one opened. */
  readonly maxMessagesPerConnection: number;
  /** Messages started per unit of time (GCRA), or null for no rate limit. */
  readonly messageRate: ThrottleSpec | null;
  /** New connections opened per unit of time (GCRA), or null for no rate limit. */
  readonly connectionRate: ThrottleSpec | null;
  /** How long an idle connection is kept for reuse, ms. */
  readonly idleTimeoutMs: number;
  /** Deliveries waiting in the ready queue before new ones are answered "throttled", count. */
  readonly maxQueueDepth: number;
}

/** A layer sets some fields; an absent field inherits, a null rate means "no rate limit". */
export type EgressLimitsLayer = Partial<EgressLimits>;

export interface EgressLimitsLayers {
  readonly default: EgressLimits;
  readonly provider?: EgressLimitsLayer | undefined;
  readonly site?: EgressLimitsLayer | undefined;
  readonly domain?: EgressLimitsLayer | undefined;
}

/**
 * Built-in defaults. Postfix allows 20 connections per destination
 * (default_destination_concurrency_limit) and KumoMTA 32 (connection_limit); we start lower
 * because a new IP is judged by its first days. The idle timeout stays well under the 5 min
 * a server waits for the next command (RFC 5321 §4.5.3.2.7), so we, not the server, end the
 * idle connection and never send into one the server is closing.
 */
export const DEFAULT_EGRESS_LIMITS: EgressLimits = Object.freeze({
  maxConnections: 10,
  maxMessagesPerConnection: 100,
  messageRate: null,
  connectionRate: null,
  idleTimeoutMs: 30_000,
  maxQueueDepth: 200,
});

const FIELDS = [
  'maxConnections',
  'maxMessagesPerConnection',
  'messageRate',
  'connectionRate',
  'idleTimeoutMs',
  'maxQueueDepth',
] as const satisfies readonly (keyof EgressLimits)[];

/** default → provider → site → domain; a later layer wins field by field. */
export function resolveLimits(layers: EgressLimitsLayers): EgressLimits {
  const out: Record<string, unknown> = { ...layers.default };
  for (const layer of [layers.provider, layers.site, layers.domain]) {
    if (!layer) continue;
    for (const field of FIELDS) {
      if (layer[field] !== undefined) out[field] = layer[field];
    }
  }
  return out as unknown as EgressLimits;
}

// ---- configuration (JSON: rates and durations as strings) ----

const rate = optionalThrottleSpecSchema;
const duration = durationSchema;

const count = z.number().int().min(1);

/** One layer as written in config, e.g. `{ "maxConnections": 5, "messageRate": "100/min,burst=10" }`. */
const layerSchema = z
  .strictObject({
    maxConnections: count.optional(),
    maxMessagesPerConnection: count.optional(),
    messageRate: rate.optional(),
    connectionRate: rate.optional(),
    idleTimeout: duration.optional(),
    maxQueueDepth: count.optional(),
  })
  .transform((l): EgressLimitsLayer => {
    const out: { -readonly [K in keyof EgressLimits]?: EgressLimits[K] } = {};
    if (l.maxConnections !== undefined) out.maxConnections = l.maxConnections;
    if (l.maxMessagesPerConnection !== undefined) out.maxMessagesPerConnection = l.maxMessagesPerConnection;
    if (l.messageRate !== undefined) out.messageRate = l.messageRate;
    if (l.connectionRate !== undefined) out.connectionRate = l.connectionRate;
    if (l.idleTimeout !== undefined) out.idleTimeoutMs = l.idleTimeout;
    if (l.maxQueueDepth !== undefined) out.maxQueueDepth = l.maxQueueDepth;
    return out;
  });

/**
 * The `egressLimits` config block:
 * ```json
 * { "default":   { "maxConnections": 10, "idleTimeout": "30s" },
 *   "providers": { "yahoo": { "maxConnections": 5, "messageRate": "300/min,burst=20" } },
 *   "sites":     { "mx1.example.net|mx2.example.net": { "connectionRate": "10/min" } },
 *   "domains":   { "example.org": { "maxConnections": 1 } } }
 * ```
 * Site keys are core/delivery/site.ts keys (sorted MX host set joined by "|"); provider names are
 * those of provider detection. The default layer is laid over DEFAULT_EGRESS_LIMITS.
 */
export const egressLimitsConfigSchema = z
  .strictObject({
    default: layerSchema.optional(),
    providers: z.record(z.string(), layerSchema).optional(),
    sites: z.record(z.string(), layerSchema).optional(),
    domains: z.record(z.string(), layerSchema).optional(),
  })
  .transform(
    (c): EgressLimitsConfig => ({
      default: resolveLimits({ default: DEFAULT_EGRESS_LIMITS, provider: c.default }),
      providers: c.providers ?? {},
      sites: c.sites ?? {},
      domains: lowerKeys(c.domains ?? {}),
    }),
  );

export interface EgressLimitsConfig {
  readonly default: EgressLimits;
  readonly providers: Readonly<Record<string, EgressLimitsLayer>>;
  readonly sites: Readonly<Record<SiteKey, EgressLimitsLayer>>;
  readonly domains: Readonly<Record<string, EgressLimitsLayer>>;
}

function lowerKeys<T>(r: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toLowerCase(), v]));
}

function own<T>(r: Readonly<Record<string, T>>, key: string | null): T | undefined {
  return key !== null && Object.hasOwn(r, key) ? r[key] : undefined;
}

/** The limits for one delivery: config layers picked by provider, site and domain. */
export function limitsFromConfig(
  config: EgressLimitsConfig,
  at: { provider: string | null; site: SiteKey; domain: string },
): EgressLimits {
  return resolveLimits({
    default: config.default,
    provider: own(config.providers, at.provider),
    site: own(config.sites, at.site),
    domain: own(config.domains, at.domain.toLowerCase()),
  });
}

/**
 * The ready-queue name for a delivery. Domains of one site share the queue and its budget,
 * except a domain with its own config layer: it gets a queue of its own (`domain:<name>`),
 * or its limits would depend on which domain happened to open the shared queue. KumoMTA does
 * the same (domain-specific settings need `mx_rollup = false`). Its connections then count
 * against that queue, not the site's.
 */
export function readyQueueSite(config: EgressLimitsConfig, site: SiteKey, domain: string): SiteKey {
  const d = domain.toLowerCase();
  return own(config.domains, d) ? `domain:${d}` : site;
}

/** The limits printed back in config form (rates and durations as strings), for logs and the CLI. */
export function describeLimits(l: EgressLimits): Record<string, string | number> {
  return {
    maxConnections: l.maxConnections,
    maxMessagesPerConnection: l.maxMessagesPerConnection,
    messageRate: l.messageRate ? formatThrottleSpec(l.messageRate) : 'unlimited',
    connectionRate: l.connectionRate ? formatThrottleSpec(l.connectionRate) : 'unlimited',
    idleTimeout: formatDuration(l.idleTimeoutMs),
    maxQueueDepth: l.maxQueueDepth,
  };
}
