import type { IpRouteState } from '../../core/routing/ip-actor-types.js';
import type { Pause } from '../../core/routing/pauses.js';
import type { PoolDef } from '../../core/routing/pools.js';
import type { WarmupPlan } from '../../core/routing/warmup.js';
import type { Db } from './db.js';

export interface IpRow {
  address: string;
  pool: string;
  ehloName: string;
  nodeId: string;
  weight: number;
  warm: boolean;
  /** The IP's own warmup plan (core/routing/warmup.ts), or null for the default. */
  warmupPlan: WarmupPlan | null;
}

export type PauseRow = Pause;

/** Channel on which route-state and pause changes are announced to every node. */
export const ROUTE_CHANNEL = 'posthorn_route';

/** Pools, IPs, published route state, warmup usage and pauses. */
export function routingStore(db: Db) {
  return {
    async pools(): Promise<PoolDef[]> {
      return (
        await db.query<PoolDef>(
          `SELECT name, tenant_id AS "tenantId", message_type AS "messageType" FROM pools ORDER BY name`,
        )
      ).rows;
    },

    async ips(): Promise<IpRow[]> {
      return (
        await db.query<IpRow>(
          `SELECT address, pool, ehlo_name AS "ehloName", node_id AS "nodeId", weight, warm, warmup_plan AS "warmupPlan"
           FROM ips ORDER BY address`,
        )
      ).rows;
    },

    async addPool(p: PoolDef): Promise<void> {
      await db.query(
        `INSERT INTO pools (name, tenant_id, message_type) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET tenant_id = EXCLUDED.tenant_id, message_type = EXCLUDED.message_type`,
        [p.name, p.tenantId, p.messageType],
      );
    },

    async addIp(ip: IpRow): Promise<void> {
      await db.query(
        `INSERT INTO ips (address, pool, ehlo_name, node_id, weight, warm, warmup_plan) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (address) DO UPDATE SET pool = EXCLUDED.pool, ehlo_name = EXCLUDED.ehlo_name,
           node_id = EXCLUDED.node_id, weight = EXCLUDED.weight, warmup_plan = EXCLUDED.warmup_plan`,
        [
          ip.address,
          ip.pool,
          ip.ehloName,
          ip.nodeId,
          ip.weight,
          ip.warm,
          ip.warmupPlan === null ? null : JSON.stringify(ip.warmupPlan),
        ],
      );
      await db.query(`SELECT pg_notify($1, 'ips')`, [ROUTE_CHANNEL]);
    },

    async routeStates(): Promise<IpRouteState[]> {
      return (await db.query<{ state: IpRouteState }>('SELECT state FROM route_state')).rows.map(
        (r) => r.state,
      );
    },

    async publishRouteState(state: IpRouteState): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO route_state (ip, state, updated_at) VALUES ($1, $2, now())
           ON CONFLICT (ip) DO UPDATE SET state = EXCLUDED.state, updated_at = now()`,
          [state.ip, JSON.stringify(state)],
        );
        await tx.query(`SELECT pg_notify($1, $2)`, [ROUTE_CHANNEL, `ip:${state.ip}`]);
      });
    },

    async pauses(): Promise<PauseRow[]> {
      return (
        await db.query<PauseRow>(
          `SELECT scope, value, until_ms::float8 AS "untilMs", reason, actor FROM pauses`,
        )
      ).rows;
    },

    /** Replaces the published pauses with the control workflow's current set. */
    async publishPauses(pauses: readonly PauseRow[]): Promise<void> {
      await db.transaction(async (tx) => {
        await tx.query('DELETE FROM pauses');
        for (const p of pauses) {
          await tx.query(
            `INSERT INTO pauses (scope, value, until_ms, reason, actor) VALUES ($1, $2, $3, $4, $5)`,
            [p.scope, p.value, p.untilMs, p.reason, p.actor],
          );
        }
        await tx.query(`SELECT pg_notify($1, 'pauses')`, [ROUTE_CHANNEL]);
      });
    },

    /**
     * Takes one message from the IP's warmup caps for the provider, for the day and the hour
     * that contain `nowMs`; false (and nothing taken) when either is used up. Periods are
     * numbered by `dayMs` so tests can run a day in seconds.
     */
    async reserve(
      ip: string,
      provider: string,
      caps: { daily: number; hourly: number },
      nowMs: number,
      dayMs: number,
    ): Promise<boolean> {
      const hourMs = dayMs / 24;
      return db
        .transaction(async (tx) => {
          for (const [period, size, cap] of [
            ['day', dayMs, caps.daily],
            ['hour', hourMs, caps.hourly],
          ] as const) {
            const start = Math.floor(nowMs / size);
            const r = await tx.query(
              `INSERT INTO ip_usage (ip, provider, period, period_start, count) VALUES ($1, $2, $3, $4, 1)
             ON CONFLICT (ip, provider, period, period_start) DO UPDATE SET count = ip_usage.count + 1
             WHERE ip_usage.count < $5 RETURNING count`,
              [ip, provider, period, start, cap],
            );
            if (r.rowCount === 0 || cap < 1) throw new CapReached();
          }
          return true;
        })
        .catch((err) => {
          if (err instanceof CapReached) return false;
          throw err;
        });
    },

    /** Messages taken from the caps in the current day and hour, per (IP, provider). */
    async usage(
      nowMs: number,
      dayMs: number,
    ): Promise<{ ip: string; provider: string; period: 'day' | 'hour'; count: number }[]> {
      const r = await db.query<{ ip: string; provider: string; period: 'day' | 'hour'; count: number }>(
        `SELECT ip, provider, period, count FROM ip_usage
         WHERE (period = 'day' AND period_start = $1) OR (period = 'hour' AND period_start = $2)`,
        [Math.floor(nowMs / dayMs), Math.floor(nowMs / (dayMs / 24))],
      );
      return r.rows;
    },
  };
}

/** Rolls back a reservation when one of its periods is full. */
class CapReached extends Error {}

export type RoutingStore = ReturnType<typeof routingStore>;
