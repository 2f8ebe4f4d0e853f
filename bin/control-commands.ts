import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { type ControlClient, controlClient, type PauseTarget } from '../adapters/control-client.js';
import type { Db } from '../adapters/postgres/db.js';
import { routingStore } from '../adapters/postgres/routing.js';
import type { Config } from '../config/schema.js';
import { parseDuration } from '../core/duration.js';
import type { WarmupPlan } from '../core/routing/warmup.js';
import { parseWarmupPlan } from '../core/routing/warmup-plan.js';

const SCOPES = {
  ip: 'ip',
  domain: 'domain',
  provider: 'provider',
  tenant: 'tenant',
  'sending-domain': 'sending_domain',
} as const;

/** Connects to the node's Temporal (TEMPORAL_ADDRESS, or the embedded dev server's port). */
export async function withControl<T>(
  config: Config,
  db: Db,
  fn: (c: ControlClient) => Promise<T>,
): Promise<T> {
  const connection = await Connection.connect({
    address: config.temporalAddress ?? `127.0.0.1:${config.temporalPort}`,
  });
  try {
    const ips = new Map((await routingStore(db).ips()).map((r) => [r.address, r]));
    const client = new Client({ connection, namespace: config.temporalNamespace });
    return await fn(
      controlClient(client, (ip) => ({
        warm: ips.get(ip)?.warm ?? true,
        dayMs: config.warmupDay,
        weight: ips.get(ip)?.weight ?? 100,
        plan: ips.get(ip)?.warmupPlan ?? undefined,
        effectScale: config.reputationScale,
      })),
    );
  } finally {
    await connection.close();
  }
}

/**
 * `posthorn pause|resume ip ADDR [--provider P] | domain D | provider P | tenant T |
 * sending-domain D [--for 2h] --reason "…"`: a signal to the IP's workflow or to the
 * control workflow, so the history says who paused what, when and why.
 */
export function parsePauseArgs(
  args: string[],
  resume: boolean,
): { target: PauseTarget; untilMs: number | null; reason: string; actor: string } | string {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      provider: { type: 'string' },
      for: { type: 'string' },
      reason: { type: 'string' },
      actor: { type: 'string' },
    },
  });
  const [kind, value] = positionals;
  const scope = SCOPES[kind as keyof typeof SCOPES];
  if (!scope || !value)
    return `usage: posthorn ${resume ? 'resume' : 'pause'} ip|domain|provider|tenant|sending-domain VALUE [--provider P] [--for 2h] --reason "…"`;
  if (!values.reason) return '--reason is required: the workflow history keeps it';
  if (values.provider && scope !== 'ip') return '--provider goes with `ip`';
  let untilMs: number | null = null;
  if (values.for) {
    if (resume) return '--for goes with pause';
    const d = parseDuration(values.for);
    if (!d.ok) return `--for: ${d.error}`;
    untilMs = Date.now() + d.ms;
  }
  const target: PauseTarget =
    scope === 'ip' ? { kind: 'ip', ip: value, provider: values.provider ?? null } : { kind: scope, value };
  return { target, untilMs, reason: values.reason, actor: values.actor ?? `cli:${userInfo().username}` };
}

/** A warmup plan from a JSON file, validated (core/routing/warmup.ts), or an error naming every problem. */
function readPlan(path: string): WarmupPlan {
  const parsed = parseWarmupPlan(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.ok) throw new Error(`--warmup-plan ${path}: ${parsed.problems.join('; ')}`);
  return parsed.plan;
}

/** `posthorn pools add NAME [--tenant NAME] [--type transactional|marketing]` and `posthorn ips add|list`. */
export async function poolsAndIps(
  args: string[],
  db: Db,
  config: Config,
  tenantIdByName: (n: string) => Promise<string | null>,
): Promise<string> {
  const [what, action, ...rest] = args;
  const store = routingStore(db);
  const { values, positionals } = parseArgs({
    args: rest,
    allowPositionals: true,
    options: {
      tenant: { type: 'string' },
      type: { type: 'string' },
      pool: { type: 'string' },
      ehlo: { type: 'string' },
      node: { type: 'string' },
      weight: { type: 'string' },
      warmup: { type: 'boolean', default: false },
      'warmup-plan': { type: 'string' },
    },
  });
  if (what === 'pools' && action === 'add' && positionals[0]) {
    const tenantId = values.tenant ? await tenantIdByName(values.tenant) : null;
    if (values.tenant && !tenantId) throw new Error(`no tenant named ${values.tenant}`);
    if (values.type && values.type !== 'transactional' && values.type !== 'marketing')
      throw new Error('--type is transactional or marketing');
    await store.addPool({
      name: positionals[0],
      tenantId,
      messageType: (values.type as 'transactional' | 'marketing' | undefined) ?? null,
    });
    return `pool ${positionals[0]} saved`;
  }
  if (what === 'pools' && action === 'list')
    return (await store.pools()).map((p) => JSON.stringify(p)).join('\n');
  if (what === 'ips' && action === 'add' && positionals[0]) {
    if (!values.pool) throw new Error('--pool is required');
    const weight = values.weight === undefined ? 100 : Number(values.weight);
    if (!Number.isInteger(weight) || weight < 0) throw new Error('--weight is a whole number ≥ 0');
    await store.addIp({
      address: positionals[0],
      pool: values.pool,
      ehloName: values.ehlo ?? config.hostname,
      nodeId: values.node ?? config.nodeId,
      weight,
      warm: !values.warmup,
      warmupPlan: values['warmup-plan'] ? readPlan(values['warmup-plan']) : null,
    });
    return `ip ${positionals[0]} saved`;
  }
  if (what === 'ips' && action === 'list') {
    const routes = new Map((await store.routeStates()).map((r) => [r.ip, r]));
    return (await store.ips())
      .map((ip) => JSON.stringify({ ...ip, route: routes.get(ip.address) ?? null }))
      .join('\n');
  }
  throw new Error(
    'usage: posthorn pools add NAME [--tenant T] [--type …] | pools list | ips add ADDR --pool P [--ehlo N] [--node ID] [--weight W] [--warmup] | ips list',
  );
}
