/**
 * End-to-end benchmark: N messages through the HTTP API to local SMTP receivers, on the
 * same real parts as the integration tests (Temporal dev server, PostgreSQL, DNS, SMTP on
 * loopback). Prints figures; asserts nothing.
 *
 *   npm run bench                       # both scenarios, 2,000 messages each, 5 KB
 *   BENCH_MESSAGES=500 BENCH_SCENARIOS=single-site npm run bench
 *   BENCH_EMBEDDED=1 npm run bench      # on `posthorn dev`'s embedded defaults
 *
 * Scenarios: `spread` sends to 10 domains, each with its own receiver; `single-site` sends
 * everything to one domain served by one receiver, where the egress dispatcher's per-site
 * limits and connection reuse decide the pace.
 *
 * By default the node is `posthorn serve` against the PostgreSQL server of TEST_DATABASE_URL
 * and a separate Temporal dev server; with BENCH_EMBEDDED=1 it is `posthorn dev` as `npm
 * start` runs it (embedded PostgreSQL and Temporal dev server as its children).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import type { QueueStats } from '../egress/dispatcher.js';
import { startDevStack } from '../test/support/dev-stack.js';
import { type StackOptions, startStack } from '../test/support/stack.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2000);
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'spread,single-site').split(',');
const ADMIN_TOKEN = 'bench-operator-token-0123456789';
const BODY_BYTES = Number(process.env.BENCH_BODY_BYTES ?? 5 * 1024);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
// describeWorkflowExecution per message is itself load; a sample gives the mean (count).
const TRANSITION_SAMPLE = 200;

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

function peakRssMb(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

async function egressStats(apiUrl: string): Promise<QueueStats[]> {
  const r = await fetch(`${apiUrl}/admin/egress`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  return ((await r.json()) as { data: QueueStats[] }).data;
}

const EMBEDDED = process.env.BENCH_EMBEDDED === '1';

/** The node under test with a pool on its database: `posthorn serve` or `posthorn dev`. */
async function benchStack(options: StackOptions) {
  if (!EMBEDDED) return startStack(options);
  const dev = await startDevStack(options);
  const db = new pg.Pool({ connectionString: dev.databaseUrl, max: 2 });
  return {
    ...dev,
    db,
    async stop() {
      await db.end();
      await dev.stop();
    },
  };
}

async function scenario(name: string, DOMAINS: number): Promise<void> {
  const zones: Record<string, { mx?: { exchange: string; priority: number }[]; a?: string[] }> = {};
  const sinks: Record<string, object> = {};
  for (let d = 0; d < DOMAINS; d++) {
    const host = `127.0.1.${d + 1}`;
    zones[`d${d}.bench.test`] = { mx: [{ exchange: `mx.d${d}.bench.test`, priority: 10 }] };
    zones[`mx.d${d}.bench.test`] = { a: [host] };
    sinks[host] = {};
  }
  // BENCH_PROFILE_DIR=dir writes a V8 CPU profile of the posthorn process there (Chrome
  // DevTools); BENCH_NODE_ARGS adds node flags (e.g. --max-old-space-size=256).
  const nodeArgs = [
    ...(process.env.BENCH_PROFILE_DIR
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
      : []),
    ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
  ];
  const stack = await benchStack({
    zones,
    sinks,
    // The benchmark measures the node, not the per-tenant API limit.
    env: { POSTHORN_LOG_LEVEL: 'error', POSTHORN_ADMIN_TOKEN: ADMIN_TOKEN, POSTHORN_API_RATE: 'off' },
    nodeArgs,
  });
  try {
    const key = (
      await stack.node.cli(['keys', 'create', '--tenant', 'bench', '--domain', 'bench.test', '--verified'])
    ).trim();
    const text = 'x'
      .repeat(76)
      .concat('\n')
      .repeat(Math.ceil(BODY_BYTES / 77))
      .slice(0, BODY_BYTES);
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    async function sender(): Promise<void> {
      for (;;) {
        const i = next++;
        if (i >= MESSAGES) return;
        const body = JSON.stringify({
          from: 'Bench <bench@bench.test>',
          to: `r${i}@d${i % DOMAINS}.bench.test`,
          subject: `bench ${i}`,
          text,
        });
        const s = performance.now();
        const res = await fetch(`${stack.node.apiUrl}/emails`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body,
        });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`send ${i}: HTTP ${res.status}`);
        latencies.push(performance.now() - s);
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, sender));
    const acceptSeconds = (performance.now() - t0) / 1000;

    let delivered = 0;
    for (;;) {
      const r = await stack.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM recipients WHERE state = 'delivered'`,
      );
      delivered = r.rows[0]!.n;
      if (delivered >= MESSAGES) break;
      const stuck = await stack.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM recipients WHERE state IN ('bounced', 'failed')`,
      );
      if (stuck.rows[0]!.n > 0) throw new Error(`${stuck.rows[0]!.n} recipients did not deliver`);
      await delay(100);
    }
    const deliverSeconds = (performance.now() - t0) / 1000;
    const e2e = await stack.db.query<{ ms: number }>(
      `SELECT extract(epoch FROM (e.at - m.created_at)) * 1000 AS ms
       FROM delivery_events e JOIN messages m ON m.id = e.message_id WHERE e.event = 'delivered' ORDER BY 1`,
    );
    const e2eMs = e2e.rows.map((r) => Number(r.ms));
    const received = Object.values(stack.sinks).reduce((n, s) => n + s.received.length, 0);
    const connections = Object.values(stack.sinks).reduce((n, s) => n + s.connections.length, 0);
    const queues = await egressStats(stack.node.apiUrl);
    const peakDepth = Math.max(0, ...queues.map((q) => q.peakQueued));
    const peakConnections = Math.max(0, ...queues.map((q) => q.peakConnections));

    const connection = await Connection.connect({ address: stack.temporalAddress });
    const client = new Client({ connection });
    const ids = (
      await stack.db.query<{ id: string }>(
        `SELECT id FROM messages ORDER BY random() LIMIT ${TRANSITION_SAMPLE}`,
      )
    ).rows;
    let transitions = 0;
    for (const { id } of ids) {
      const d = await client.workflow.getHandle(id).describe();
      transitions += Number(d.raw.workflowExecutionInfo?.stateTransitionCount ?? 0);
    }
    await connection.close();

    latencies.sort((a, b) => a - b);
    const lines = [
      `== ${name}${EMBEDDED ? ' (embedded defaults: posthorn dev)' : ' (PostgreSQL server, posthorn serve)'}`,
      `messages                     ${MESSAGES} (${DOMAINS} domain${DOMAINS > 1 ? 's' : ''}, ${BODY_BYTES} B body, ${CONCURRENCY} concurrent API clients)`,
      `accepted/s                   ${fmt(MESSAGES / acceptSeconds)}`,
      `delivered/s                  ${fmt(delivered / deliverSeconds)} (all ${delivered} delivered in ${fmt(deliverSeconds)} s; receivers got ${received})`,
      `API latency p50 / p99        ${fmt(percentile(latencies, 50))} / ${fmt(percentile(latencies, 99))} ms`,
      `accept → delivered p50 / p99 ${fmt(percentile(e2eMs, 50))} / ${fmt(percentile(e2eMs, 99))} ms`,
      `state transitions / message  ${fmt(transitions / ids.length)} (mean of ${ids.length} workflows)`,
      `messages per SMTP connection ${fmt(received / connections)} (${connections} connections)`,
      `ready queue peak depth       ${peakDepth} (peak connections per IP × site: ${peakConnections})`,
      `posthorn peak RSS            ${fmt(peakRssMb(stack.node.pid()), 0)} MB`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await stack.stop();
  }
}

for (const name of SCENARIOS) {
  switch (name) {
    case 'spread':
      await scenario(name, 10);
      break;
    case 'single-site':
      await scenario(name, 1);
      break;
    default:
      throw new Error(`unknown scenario ${name} (spread, single-site)`);
  }
}
