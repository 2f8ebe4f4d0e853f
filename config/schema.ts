import { isIP } from 'node:net';
import { z } from 'zod';
import { egressLimitsConfigSchema } from '../core/delivery/egress-limits.js';
import { optionalThrottleSpecSchema } from '../core/delivery/throttle-spec.js';
import { durationSchema } from '../core/duration.js';
import { tenantLimitsConfig } from './tenant-limits.js';

const duration = durationSchema;

const port = z.coerce.number().int().min(1).max(65535);

/** "127.0.0.2=mta1.example.com" or "127.0.0.2"; the EHLO name defaults to the node's hostname. */
const egressIp = z.string().transform((text, ctx) => {
  const [address, ehloName] = text.split('=').map((s) => s.trim());
  if (!address || isIP(address) === 0) {
    ctx.addIssue({ code: 'custom', message: `"${text}" is not an IP address (optionally =ehlo.name)` });
    return z.NEVER;
  }
  return { address, ehloName: ehloName || null };
});

/** "127.0.0.1:5353" or "127.0.0.1" (port 53). */
const dnsServer = z.string().regex(/^[0-9a-fA-F.:[\]]+$/, 'must be an address, optionally with :port');

export const configSchema = z.object({
  apiPort: port.default(3000),
  apiHost: z.string().default('127.0.0.1'),
  dataDir: z.string().default('.posthorn'),
  dnsServers: z.array(dnsServer).default([]),
  dnsTimeout: duration.prefault('5s'),
  /**
   * How long MX and TXT answers (Node's resolver does not report their TTL) and negative
   * answers are cached in-process; A and AAAA answers live for their TTL (at most 5 min).
   */
  dnsShortTtl: duration.prefault('10s'),
  smtpPort: port.default(25),
  egressIps: z.array(egressIp).default([]),
  hostname: z.string().min(1),
  nodeId: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and dashes')
    .default('local'),
  databaseUrl: z.string().url().optional(),
  temporalAddress: z.string().optional(),
  temporalNamespace: z.string().default('default'),
  temporalUiPort: port.default(8233),
  /** The Temporal Web UI operators open (the console links messages to it); `posthorn dev` knows its own. */
  temporalUiUrl: z.url({ protocol: /^https?$/ }).optional(),
  temporalPort: port.default(7233),
  // Postfix smtp_connect_timeout is 30 s; RFC 5321 §4.5.3.2 asks for 5 min on the greeting
  // and on each command; we keep the greeting shorter because a silent server ties up a slot.
  smtpConnectTimeout: duration.prefault('30s'),
  smtpGreetingTimeout: duration.prefault('2m'),
  smtpCommandTimeout: duration.prefault('5m'),
  retryInitial: duration.prefault('5m'),
  retryFactor: z.coerce.number().min(1).max(10).default(2),
  retryMax: duration.prefault('4h'),
  retryMaxAge: duration.prefault('3d'),
  /** A delivery not picked up by its node within this long goes to any node (core/delivery/retry-schedule.ts). */
  egressPickupTimeout: duration.prefault('2m'),
  retryGreylist: duration.prefault('5m'),
  /** Base64 of 32 random bytes; HKDF derives the VERP and key-encryption keys from it. */
  secretKey: z.string().optional(),
  /** MAIL FROM is bounces+<token>@<this>.<sending domain> (SPF-aligned with the From domain). */
  returnPathSubdomain: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'a single DNS label')
    .default('send'),
  /** How often the domain actor looks at a pending or flagged domain's records. */
  domainCheckInterval: duration.prefault('5m'),
  /** How often a verified domain's records are checked again. */
  domainRecheckInterval: duration.prefault('6h'),
  /** A domain pending (or flagged) this long without its records fails (Resend: 72 h). */
  domainVerifyTimeout: duration.prefault('72h'),
  /** Port of the SMTP listener for DSNs and complaints; 0 turns it off. */
  inboundPort: z.coerce.number().int().min(0).max(65535).default(2525),
  inboundHost: z.string().default('127.0.0.1'),
  /**
   * SMTP submission ports (docs/operations.md, "SMTP submission"): STARTTLS (RFC 6409, 587)
   * and implicit TLS (RFC 8314, 465). Unset: `serve` uses 587 and 465 when it has a
   * certificate, `dev` uses 2587 and 2465; 0 turns a port off.
   */
  submissionPort: z.coerce.number().int().min(0).max(65535).optional(),
  submissionsPort: z.coerce.number().int().min(0).max(65535).optional(),
  submissionHost: z.string().default('127.0.0.1'),
  /** PEM certificate chain and private key of the submission listeners (file paths). */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /**
   * Sending requests per tenant across all nodes, as a rate spec ("50/s,burst=100"), or
   * "off". Resend allows 5/s per team by default; a self-hosted platform sets its own.
   */
  apiRate: optionalThrottleSpecSchema.prefault('50/s,burst=100'),
  /** Quotas, the sending ramp and trust and safety (config/tenant-limits.ts). */
  ...tenantLimitsConfig,
  /** Length of a warmup day (a day, except in tests that run warmups in seconds). */
  warmupDay: duration.prefault('1d'),
  /** Multiplies reputation effect durations (tests only: 0.001 turns 2 h into 7.2 s). */
  reputationScale: z.coerce.number().positive().max(1).default(1),
  /**
   * Most messages one delivery wave carries (docs/architecture.md, "The path of a message");
   * 1 gives every message its own message workflow from the start, as operators who prefer
   * that over throughput may. A wave lists its message ids in one search attribute, and
   * Temporal's default limit on one search attribute value (frontend.searchAttributesSizeOfValueLimit)
   * is 2 KB, which holds 52 UUIDs as a JSON list: unset, 50 against a server of your own
   * (raise that limit first to go higher) and 100 on the dev server Posthorn starts itself,
   * which allows 8 KB (adapters/temporal-dev-server.ts). A wave the server refuses for its
   * size is not lost: its messages start workflows of their own.
   */
  waveMax: z.coerce.number().int().min(1).max(200).optional(),
  /**
   * Worker threads for DKIM signing and MIME composition (adapters/cpu-pool.ts); 0 does
   * both on the main thread. Unset: one per core but the main thread's, at most 4.
   */
  cpuWorkers: z.coerce.number().int().min(0).max(64).optional(),
  /**
   * Waves leave at most this often unless full: the first message after a quiet spell
   * leaves at once; under load a wave carries what came in meanwhile. A wave's fixed cost
   * falls mostly on the Temporal server, so fuller waves keep it from saturating. In the
   * open-loop bench at 110 requests/s, 100 ms against 50 ms doubled the mean wave (6 → 11
   * messages), cut Temporal's CPU per message by a third and lowered API p99 370 → 166 ms
   * and accept → delivered p99 621 → 397 ms.
   */
  waveWindow: duration.prefault('100ms'),
  /** The delivery log keeps whole UTC days until all of a day is older than this (docs/operations.md, "Retention"). */
  eventRetention: duration.prefault('30d'),
  /** Message bodies (MIME, html, text) of settled messages are emptied once older than this. */
  bodyRetention: duration.prefault('30d'),
  /** /health reports delivery stuck when every delivery slot was busy and none finished for this long. */
  healthStuckAfter: duration.prefault('60s'),
  /** How often the node sends each IP workflow its outcome summary. */
  feedbackWindow: duration.prefault('5s'),
  /** Bearer token for the operator routes (/admin/…); without it they are off. */
  adminToken: z.string().min(24, 'at least 24 characters').optional(),
  /** Per provider / site / domain limits of the egress dispatcher (core/delivery/egress-limits.ts). */
  egressLimits: egressLimitsConfigSchema.prefault({}),
  /**
   * Tests only: let MX hosts, webhook endpoints and fetched URLs be loopback addresses
   * (private and link-local ones stay refused). Real routing never needs it.
   */
  allowLoopback: z
    .union([z.boolean(), z.enum(['true', 'false'])])
    .transform((v) => v === true || v === 'true')
    .default(false),
  /** MTA-STS (RFC 8461): look up recipient domains' policies and enforce them; "off" skips it. */
  mtaSts: z
    .union([z.boolean(), z.enum(['on', 'off'])], { error: 'on or off' })
    .transform((v) => v === true || v === 'on')
    .default(true),
  /** PEM CA bundle trusted in addition to the default CAs for MTA-STS (policy fetch, MX certificates). */
  mtaStsCa: z.string().min(1).optional(),
  /** HTTPS port of MTA-STS policy hosts. RFC 8461 §3.3 fixes 443; tests only. */
  mtaStsPort: port.default(443),
  /** Prometheus metrics (docs/operations.md, "Metrics"); "off" leaves the delivery path uncounted. */
  metrics: z
    .union([z.boolean(), z.enum(['on', 'off'])], { error: 'on or off' })
    .transform((v) => v === true || v === 'on')
    .default(true),
  /** Port of the operator listener that serves only /metrics; 0: /metrics on the API port only. */
  metricsPort: z.coerce.number().int().min(0).max(65535).default(0),
  metricsHost: z.string().default('127.0.0.1'),
  /** Tenants and sending domains that get their own label value; the rest are "other". */
  metricsTopN: z.coerce.number().int().min(1).max(1000).default(20),
  /** host:port where the Temporal SDK serves its own Prometheus metrics; absent: off. */
  temporalMetrics: z
    .string()
    .regex(/^[0-9a-fA-F.:[\]]+:\d+$/, 'must be address:port')
    .optional(),
  /** host:port of a DogStatsD agent to push the metrics to every 10 s; absent: off. */
  dogstatsd: z
    .string()
    .regex(/^[^:\s]+:\d+$/, 'must be host:port')
    .optional(),
  /**
   * With tracing on: "spans" traces workflows with Temporal's OpenTelemetry interceptors;
   * "context" only passes the trace on to their activities (docs/operations.md, "Traces").
   */
  traceWorkflows: z.enum(['spans', 'context']).default('spans'),
  /** Multiplies the webhook retry schedule (5 s, 5 min, 30 min, …); tests only: 0.001 turns 5 min into 300 ms. */
  webhookRetryScale: z.coerce.number().positive().max(1).default(1),
  /** Webhook requests in flight at once per endpoint. */
  webhookConcurrency: z.coerce.number().int().min(1).max(64).default(8),
  /** An endpoint whose every attempt failed for this long is disabled (Svix: 5 days). */
  webhookDisableAfter: duration.prefault('5d'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type Config = Readonly<z.output<typeof configSchema>>;
export type ConfigInput = z.input<typeof configSchema>;
