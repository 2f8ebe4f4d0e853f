import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createDb, type Db } from '../adapters/postgres/db.js';
import { migrate } from '../adapters/postgres/migrate.js';
import { tenantLimitsStore } from '../adapters/postgres/tenant-limits.js';
import { createTestDatabase } from '../test/support/postgres.js';

/**
 * What the cluster-wide tenant rate costs the accept path: one take from the tenant's GCRA
 * row (adapters/postgres/tenant-limits.ts) against a `SELECT 1` round trip, one at a time
 * and with 32 in flight, on one hot tenant and spread over 100, and a quota reservation
 * (both periods, in a transaction). Prints figures; asserts
 * nothing. `node --import tsx bench/tenant-rate.ts` (PostgreSQL at TEST_DATABASE_URL).
 */
const N = Number(process.env.BENCH_TAKES ?? 5000);
const IN_FLIGHT = 32;

function summary(label: string, latencies: number[], wallMs: number): string {
  const s = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!.toFixed(3);
  return `${label.padEnd(44)} ${String(Math.round((latencies.length / wallMs) * 1000)).padStart(7)}/s  p50 ${at(0.5)} ms  p99 ${at(0.99)} ms`;
}

async function run(label: string, inFlight: number, op: (i: number) => Promise<unknown>): Promise<void> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < N; i = next++) {
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  console.log(summary(label, latencies, performance.now() - start));
}

async function tenants(db: Db, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, () => randomUUID());
  await db.query(`INSERT INTO tenants (id, name) SELECT id, id::text FROM unnest($1::uuid[]) AS id`, [ids]);
  return ids;
}

const database = await createTestDatabase();
const db = createDb({ connectionString: database.url, maxConnections: IN_FLIGHT });
try {
  await migrate(db);
  const store = tenantLimitsStore(db);
  const [hot] = await tenants(db, 1);
  const spread = await tenants(db, 100);
  // A rate no take reaches: every take is admitted and moves the row (the costly case).
  const take = (id: string) => store.takeRate(id, 0.001, 1e12);
  for (const inFlight of [1, IN_FLIGHT]) {
    await run(`SELECT 1, ${inFlight} in flight`, inFlight, () => db.query('SELECT 1'));
    await run(`take, one tenant, ${inFlight} in flight`, inFlight, () => take(hot!));
    await run(`take, 100 tenants, ${inFlight} in flight`, inFlight, (i) => take(spread[i % 100]!));
    await run(`quota reservation, 100 tenants, ${inFlight} in flight`, inFlight, (i) =>
      store.reserve(spread[i % 100]!, 1, { daily: 1e9, monthly: 1e9 }, 0, 0),
    );
  }
} finally {
  await db.close();
  await database.drop();
}
