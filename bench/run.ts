/**
 * End-to-end benchmark: messages through the HTTP API to SMTP receivers on loopback, on the
 * same real parts as the integration tests (Temporal dev server, PostgreSQL, DNS, SMTP).
 * Prints figures; asserts nothing.
 *
 *   npm run bench                        # every scenario
 *   BENCH_SCENARIOS=peer BENCH_MESSAGES=20000 npm run bench
 *   BENCH_EMBEDDED=1 npm run bench       # on `posthorn dev`'s embedded defaults
 *   POSTHORN_WAVE_WINDOW=100ms npm run bench  # POSTHORN_* settings are passed to the node
 *
 * Scenarios:
 * - `spread`: 10 domains, each with its own receiver in this process, 32 clients.
 * - `single-site`: one domain and one receiver: the dispatcher's per-site limits and
 *   connection reuse decide the pace.
 * - `peer`: the Postfix baseline's shape: 5 KB messages to 10 domains whose MX is
 *   Postfix's `smtp-sink`, found through a real DNS server, single sends from 64 clients;
 *   then Postfix itself relaying the same number (smtp-source → postfix → smtp-sink, 20
 *   sessions), and the ratio. Needs Debian's `postfix` package. BENCH_ROUNDS=3 alternates
 *   three rounds of each (a fresh node per round) and prints the median ratio.
 * - `open-loop`: requests at a fixed rate (BENCH_RATE, 500/s, for BENCH_SECONDS, 20 s),
 *   whatever the answers' latency: API and accept → delivered latency at that rate.
 * - `webhooks`: the `spread` shape twice on one node, first without webhooks, then with one
 *   webhook subscribed to every event type (a receiver in this process answering 200):
 *   delivered/s with and without, webhook requests/s, and the lag from a delivery's record
 *   to its `email.delivered` webhook's arrival (p50/p99).
 * - `observability`: the `spread` run four times, on a fresh node each: metrics off
 *   (POSTHORN_METRICS=off), metrics on (the default), and metrics with tracing exported over
 *   OTLP to a receiver in this process that counts and drops the spans, with workflow spans
 *   and with POSTHORN_TRACE_WORKFLOWS=context; then what each costs in delivered/s and node
 *   CPU per message. Not in the default list.
 *
 * Each measured phase, Postfix's included, follows a warm-up of BENCH_WARMUP messages
 * (3,000) on the same node or Postfix instance, which is not measured.
 *
 * For each: delivered/s, API and accept → delivered latency, CPU ms per delivered message
 * of every process (node, Temporal server, PostgreSQL, receivers, load generator), Temporal
 * state transitions per delivered message, wave sizes, peak RSS.
 *
 * By default the node is `posthorn serve` against the PostgreSQL server of
 * TEST_DATABASE_URL and a separate Temporal dev server; with BENCH_EMBEDDED=1 it is
 * `posthorn dev` as `npm start` runs it (embedded PostgreSQL and Temporal dev server).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { Pool } from 'undici';
import { pidFromFile } from '../adapters/child-process-guard.js';
import { WEBHOOK_EVENT_TYPES } from '../core/webhooks/events.js';
import type { QueueStats } from '../egress/dispatcher.js';
import { startDevStack } from '../test/support/dev-stack.js';
import { freePort } from '../test/support/ports.js';
import type { PosthornProcess } from '../test/support/posthorn-process.js';
import { type StackOptions, startStack } from '../test/support/stack.js';
import { startWebhookReceiver } from '../test/support/webhook-receiver.js';
import { MESSAGE_IDS } from '../workflows/contract.js';
import { postfixInstalled, runPostfix, type Sinks, sinksCpu, startSmtpSinks } from './postfix.js';
import { findPid, ownCpuMs, peakRssMb, treeCpuMs } from './proc.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 2000);
const SCENARIOS = (process.env.BENCH_SCENARIOS ?? 'spread,single-site,peer,open-loop,webhooks').split(',');
const ADMIN_TOKEN = 'bench-operator-token-0123456789';
const BODY_BYTES = Number(process.env.BENCH_BODY_BYTES ?? 5 * 1024);
const EMBEDDED = process.env.BENCH_EMBEDDED === '1';
const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
/** Peer scenario: Posthorn and Postfix runs, alternating; the median ratio is printed. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
/**
 * Messages sent and delivered before a measured phase, on both sides of a comparison: the
 * figures are a running server's, not its first seconds' (JIT compilation, worker threads
 * and pools starting, caches filling).
 */
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3000);
// describeWorkflowExecution per workflow is itself load; a sample gives the mean (count).
const TRANSITION_SAMPLE = 300;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

interface Bench {
  readonly node: PosthornProcess;
  readonly db: pg.Pool;
  readonly temporalAddress: string;
  /** Process roots to measure besides the node: Temporal server, PostgreSQL. */
  readonly temporalPid: number | undefined;
  readonly postgresPid: number | undefined;
  stop(): Promise<void>;
}

/** The node under test with a pool on its database: `posthorn serve` or `posthorn dev`. */
async function benchStack(options: StackOptions): Promise<Bench> {
  if (!EMBEDDED) {
    const stack = await startStack(options);
    const port = stack.temporalAddress.split(':')[1];
    return {
      ...stack,
      temporalPid: findPid('start-dev', `--port ${port} `),
      // The PostgreSQL server of TEST_DATABASE_URL (the machine's own cluster).
      postgresPid: findPid('postgres', '-D', 'config_file'),
    };
  }
  const dev = await startDevStack(options);
  const db = new pg.Pool({ connectionString: dev.databaseUrl, max: 2 });
  return {
    ...dev,
    db,
    temporalPid: pidFromFile(join(dev.dataDir, 'temporal.pid')) ?? undefined,
    postgresPid: pidFromFile(join(dev.dataDir, 'postgres', 'postmaster.pid')) ?? undefined,
    async stop() {
      await db.end();
      await dev.stop();
    },
  };
}

function zonesFor(domains: number, hostOf: (d: number) => string) {
  const zones: Record<string, { mx?: { exchange: string; priority: number }[]; a?: string[] }> = {};
  for (let d = 0; d < domains; d++) {
    zones[`d${d}.bench.test`] = { mx: [{ exchange: `mx.d${d}.bench.test`, priority: 10 }] };
    zones[`mx.d${d}.bench.test`] = { a: [hostOf(d)] };
  }
  return zones;
}

function nodeArgs(): string[] {
  // BENCH_PROFILE_DIR=dir writes a V8 CPU profile of the posthorn process there (Chrome
  // DevTools); BENCH_NODE_ARGS adds node flags (e.g. --max-old-space-size=256).
  return [
    ...(process.env.BENCH_PROFILE_DIR
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
      : []),
    ...(process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
  ];
}

const TEXT = 'x'
  .repeat(76)
  .concat('\n')
  .repeat(Math.ceil(BODY_BYTES / 77))
  .slice(0, BODY_BYTES);

// The load generator should cost as little as Postfix's smtp-source: undici's request on
// kept-alive connections is a fraction of fetch()'s CPU per request.
const senders = new Map<string, Pool>();

async function sendOne(apiUrl: string, key: string, i: number, domains: number): Promise<number> {
  const pool = senders.get(apiUrl) ?? new Pool(apiUrl, { connections: 128 });
  senders.set(apiUrl, pool);
  const s = performance.now();
  const res = await pool.request({
    path: '/emails',
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      from: 'Bench <bench@bench.test>',
      to: `r${i}@d${i % domains}.bench.test`,
      subject: `bench ${i}`,
      text: TEXT,
    }),
  });
  await res.body.dump();
  if (res.statusCode !== 200) throw new Error(`send ${i}: HTTP ${res.statusCode}`);
  return performance.now() - s;
}

/**
 * Resolves once `count` recipients are delivered, seen within 100 ms of it. The count scans
 * every recipient row, and that PostgreSQL CPU is charged to Posthorn's figures and taken
 * from its delivery: while the end is far off it counts again after a third of the
 * expected remaining time (at most 2 s), and every 100 ms only near the end.
 */
async function waitDelivered(db: pg.Pool, count: number): Promise<void> {
  let last: { delivered: number; at: number } | null = null;
  for (;;) {
    const r = await db.query<{ delivered: number; failed: number }>(
      `SELECT count(*) FILTER (WHERE state = 'delivered')::int AS delivered,
              count(*) FILTER (WHERE state IN ('bounced', 'failed'))::int AS failed FROM recipients`,
    );
    const { delivered, failed } = r.rows[0]!;
    if (failed > 0) throw new Error(`${failed} recipients did not deliver`);
    if (delivered >= count) return;
    const at = performance.now();
    const perMs = last && delivered > last.delivered ? (delivered - last.delivered) / (at - last.at) : 0;
    last = { delivered, at };
    await delay(perMs > 0 ? Math.min(2_000, Math.max(100, (count - delivered) / perMs / 3)) : 100);
  }
}

/** Temporal's cost: state transitions of every workflow started in the run, and wave sizes. */
async function temporalCost(address: string, since: Date) {
  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection });
    const query = `StartTime >= "${since.toISOString()}" AND (WorkflowType = "waveWorkflow" OR WorkflowType = "messageWorkflow")`;
    const ids: string[] = [];
    const waveSizes: number[] = [];
    for await (const wf of client.workflow.list({ query })) {
      ids.push(wf.workflowId);
      if (wf.type === 'waveWorkflow')
        waveSizes.push((wf.typedSearchAttributes.get(MESSAGE_IDS) ?? []).length);
    }
    const sample = [...ids].sort(() => Math.random() - 0.5).slice(0, TRANSITION_SAMPLE);
    let transitions = 0;
    for (const id of sample) {
      const d = await client.workflow.getHandle(id).describe();
      transitions += Number(d.raw.workflowExecutionInfo?.stateTransitionCount ?? 0);
    }
    const total = sample.length ? (transitions / sample.length) * ids.length : 0;
    return { workflows: ids.length, transitions: total, waves: waveSizes.length, waveSizes };
  } finally {
    await connection.close();
  }
}

function waveHistogram(sizes: readonly number[]): string {
  if (sizes.length === 0) return 'no waves (one workflow per message)';
  const buckets: [string, (n: number) => boolean][] = [
    ['1', (n) => n === 1],
    ['2-9', (n) => n >= 2 && n <= 9],
    ['10-29', (n) => n >= 10 && n <= 29],
    ['30-50', (n) => n >= 30 && n <= 50],
    ['51-100', (n) => n >= 51 && n <= 100],
    ['101-200', (n) => n > 100],
  ];
  const mean = sizes.reduce((a, b) => a + b, 0) / sizes.length;
  return `${buckets.map(([name, f]) => `${name}: ${sizes.filter(f).length}`).join(', ')} (mean ${fmt(mean)})`;
}

interface Processes {
  node: number;
  temporal: number;
  postgres: number;
  receivers: number;
  /** This process: HTTP clients, DNS server, and the receivers when they run in it. */
  generator: number;
}

function cpuNow(b: Bench, sinks: Sinks | null): Processes {
  return {
    node: ownCpuMs(b.node.pid()),
    temporal: treeCpuMs(b.temporalPid),
    postgres: treeCpuMs(b.postgresPid),
    receivers: sinks ? sinksCpu(sinks) : 0,
    generator: ownCpuMs(process.pid),
  };
}

function cpuLine(before: Processes, after: Processes, delivered: number, sinksInProcess: boolean): string {
  const per = (k: keyof Processes) => fmt((after[k] - before[k]) / delivered, 2);
  const total = (Object.keys(after) as (keyof Processes)[]).reduce((s, k) => s + (after[k] - before[k]), 0);
  return [
    `CPU ms / delivered message   node ${per('node')}, Temporal ${per('temporal')}, PostgreSQL ${per('postgres')},`,
    `                             receivers ${sinksInProcess ? '(in generator)' : per('receivers')}, generator ${per('generator')}; all ${fmt(total / delivered, 2)}`,
  ].join('\n');
}

async function report(
  name: string,
  b: Bench,
  o: {
    since: Date;
    delivered: number;
    acceptSeconds: number;
    deliverSeconds: number;
    latencies: number[];
    cpuBefore: Processes;
    cpuAfter: Processes;
    sinksInProcess: boolean;
  },
): Promise<void> {
  const e2e = await b.db.query<{ ms: number }>(
    `SELECT extract(epoch FROM (e.at - m.created_at)) * 1000 AS ms
     FROM delivery_events e JOIN messages m ON m.id = e.message_id
     WHERE e.event = 'delivered' AND m.created_at >= $1 ORDER BY 1`,
    [o.since],
  );
  const e2eMs = e2e.rows.map((r) => Number(r.ms));
  const cost = await temporalCost(b.temporalAddress, o.since);
  const queues = (await (
    await fetch(`${b.node.apiUrl}/admin/egress`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  ).json()) as { data: QueueStats[] };
  const latencies = [...o.latencies].sort((a, c) => a - c);
  const lines = [
    `== ${name}${EMBEDDED ? ' (embedded defaults: posthorn dev)' : ' (PostgreSQL server, posthorn serve)'}`,
    `messages                     ${o.delivered} (${BODY_BYTES} B body)`,
    `accepted/s                   ${fmt(o.delivered / o.acceptSeconds)}`,
    `delivered/s                  ${fmt(o.delivered / o.deliverSeconds)} (all delivered in ${fmt(o.deliverSeconds)} s)`,
    `API latency p50 / p99        ${fmt(percentile(latencies, 50))} / ${fmt(percentile(latencies, 99))} ms`,
    `accept → delivered p50 / p99 ${fmt(percentile(e2eMs, 50))} / ${fmt(percentile(e2eMs, 99))} ms`,
    cpuLine(o.cpuBefore, o.cpuAfter, o.delivered, o.sinksInProcess),
    `state transitions / message  ${fmt(cost.transitions / o.delivered, 2)} (${cost.workflows} workflows, ${cost.waves} of them waves)`,
    `wave sizes                   ${waveHistogram(cost.waveSizes)}`,
    `ready queue peak depth       ${Math.max(0, ...queues.data.map((q) => q.peakQueued))} (peak connections per IP × site: ${Math.max(0, ...queues.data.map((q) => q.peakConnections))})`,
    `peak RSS                     node ${fmt(peakRssMb(b.node.pid()), 0)} MB`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

// POSTHORN_* settings in the bench's own environment reach the node (e.g. POSTHORN_WAVE_WINDOW).
const NODE_ENV = {
  POSTHORN_LOG_LEVEL: 'error',
  POSTHORN_ADMIN_TOKEN: ADMIN_TOKEN,
  POSTHORN_API_RATE: 'off',
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('POSTHORN_'))),
};

async function benchKey(b: Bench): Promise<string> {
  return (
    await b.node.cli(['keys', 'create', '--tenant', 'bench', '--domain', 'bench.test', '--verified'])
  ).trim();
}

/** Sends WARMUP messages from 64 clients and waits until they are delivered. */
async function warmUp(b: Bench, key: string, domains: number, alreadyDelivered: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      // Recipients past the measured phase's, so that every message has its own.
      for (let i = next++; i < WARMUP; i = next++) await sendOne(b.node.apiUrl, key, MESSAGES + i, domains);
    }),
  );
  await waitDelivered(b.db, alreadyDelivered + WARMUP);
}

/**
 * Closed loop: `clients` senders, each sending its next message when the last is answered;
 * reports the run and returns delivered/s.
 */
async function closedLoopRun(
  title: string,
  b: Bench,
  o: {
    clients: number;
    domains: number;
    sinks: Sinks | null;
    /** Delivered on this node before; then the node is warm already and not warmed again. */
    alreadyDelivered?: number;
  },
): Promise<{ perSecond: number; nodeCpuMs: number }> {
  const key = await benchKey(b);
  if (o.alreadyDelivered === undefined) await warmUp(b, key, o.domains, 0);
  const alreadyDelivered = o.alreadyDelivered ?? WARMUP;
  const latencies: number[] = [];
  let next = 0;
  const since = new Date();
  const cpuBefore = cpuNow(b, o.sinks);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: o.clients }, async () => {
      for (let i = next++; i < MESSAGES; i = next++)
        latencies.push(await sendOne(b.node.apiUrl, key, i, o.domains));
    }),
  );
  const acceptSeconds = (performance.now() - t0) / 1000;
  await waitDelivered(b.db, MESSAGES + alreadyDelivered);
  const deliverSeconds = (performance.now() - t0) / 1000;
  const cpuAfter = cpuNow(b, o.sinks);
  await report(title, b, {
    since,
    delivered: MESSAGES,
    acceptSeconds,
    deliverSeconds,
    latencies,
    cpuBefore,
    cpuAfter,
    sinksInProcess: o.sinks === null,
  });
  return { perSecond: MESSAGES / deliverSeconds, nodeCpuMs: (cpuAfter.node - cpuBefore.node) / MESSAGES };
}

/** Closed loop: `clients` senders, each sending its next message when the last is answered. */
async function closedLoop(
  name: string,
  domains: number,
  clients: number,
  env: NodeJS.ProcessEnv = {},
): Promise<{ perSecond: number; nodeCpuMs: number }> {
  const sinks: Record<string, object> = {};
  for (let d = 0; d < domains; d++) sinks[`127.0.1.${d + 1}`] = {};
  const b = await benchStack({
    zones: zonesFor(domains, (d) => `127.0.1.${d + 1}`),
    sinks,
    env: { ...NODE_ENV, ...env },
    nodeArgs: nodeArgs(),
  });
  try {
    return await closedLoopRun(
      `${name} (${domains} domain${domains > 1 ? 's' : ''}, ${clients} clients)`,
      b,
      { clients, domains, sinks: null },
    );
  } finally {
    await b.stop();
  }
}

/** An OTLP/HTTP endpoint that counts the spans it is sent and keeps none. */
async function spanCounter(): Promise<{ endpoint: string; spans(): number; close(): Promise<void> }> {
  let spans = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      spans += (
        Buffer.concat(chunks)
          .toString('utf8')
          .match(/"spanId"/g) ?? []
      ).length;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans: () => spans,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The cost of metrics and of tracing: the spread run with each off and on. */
async function observability(): Promise<void> {
  const otlp = await spanCounter();
  try {
    const runs: [string, { perSecond: number; nodeCpuMs: number }][] = [];
    runs.push([
      'metrics off, tracing off',
      await closedLoop('observability: metrics off', 10, 32, { POSTHORN_METRICS: 'off' }),
    ]);
    runs.push([
      'metrics on, tracing off',
      await closedLoop('observability: metrics on', 10, 32, { POSTHORN_METRICS: 'on' }),
    ]);
    runs.push([
      'metrics on, tracing on (OTLP)',
      await closedLoop('observability: metrics and tracing on', 10, 32, {
        POSTHORN_METRICS: 'on',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      }),
    ]);
    const withWorkflowSpans = otlp.spans();
    runs.push([
      'tracing on, workflows: context',
      await closedLoop('observability: metrics and tracing on, POSTHORN_TRACE_WORKFLOWS=context', 10, 32, {
        POSTHORN_METRICS: 'on',
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
        POSTHORN_TRACE_WORKFLOWS: 'context',
      }),
    ]);
    const base = runs[0]![1];
    process.stdout.write(
      [
        '== observability: cost (spread, 10 domains, 32 clients; one run each, noisy on a shared machine)',
        ...runs.map(
          ([name, r]) =>
            `${name.padEnd(30)} ${fmt(r.perSecond)} delivered/s (${fmt((r.perSecond / base.perSecond - 1) * 100)} %), node ${fmt(r.nodeCpuMs, 2)} ms CPU / message (${r.nodeCpuMs >= base.nodeCpuMs ? '+' : ''}${fmt(r.nodeCpuMs - base.nodeCpuMs, 2)})`,
        ),
        `spans per message            ${fmt(withWorkflowSpans / MESSAGES)} with workflow spans, ${fmt((otlp.spans() - withWorkflowSpans) / MESSAGES)} with context only`,
      ].join('\n') + '\n',
    );
  } finally {
    await otlp.close();
  }
}

const PEER_DOMAINS = 10;
const peerHost = (d: number) => `127.0.1.${d + 1}`;

/** Posthorn, then Postfix, relaying the same messages to smtp-sink MXs. */
async function peer(): Promise<void> {
  if (!postfixInstalled()) {
    process.stdout.write(
      '== peer: skipped (Debian package postfix not installed: apt-get install postfix)\n',
    );
    return;
  }
  const hosts = Array.from({ length: PEER_DOMAINS }, (_, d) => peerHost(d));
  const sinks = await startSmtpSinks(hosts, await freePort());
  const ratios: number[] = [];
  try {
    // Rounds alternate Posthorn and Postfix, so that a change in the machine's speed during
    // the run (a shared host) falls on both alike; the median ratio is the figure.
    for (let round = 1; round <= ROUNDS; round++) {
      const tag = ROUNDS > 1 ? ` [round ${round} of ${ROUNDS}]` : '';
      const b = await benchStack({
        zones: zonesFor(PEER_DOMAINS, peerHost),
        sinks: {},
        env: { ...NODE_ENV, POSTHORN_SMTP_PORT: String(sinks.port) },
        nodeArgs: nodeArgs(),
      });
      let posthornRate = Number.NaN;
      try {
        ({ perSecond: posthornRate } = await closedLoopRun(
          `peer: Posthorn → smtp-sink (10 domains, 64 clients)${tag}`,
          b,
          {
            clients: 64,
            domains: PEER_DOMAINS,
            sinks,
          },
        ));
      } finally {
        await b.stop();
      }
      const pf = await runPostfix({
        messages: MESSAGES,
        bytes: BODY_BYTES,
        sessions: 20,
        domains: Array.from({ length: PEER_DOMAINS }, (_, d) => `d${d}.bench.test`),
        hosts,
        sinks,
        smtpdPort: await freePort(),
        warmup: WARMUP,
      });
      const postfixRate = pf.messages / pf.seconds;
      ratios.push(posthornRate / postfixRate);
      process.stdout.write(
        [
          `== peer: Postfix → smtp-sink (smtp-source, 20 sessions, same machine, same run)${tag}`,
          `messages                     ${pf.messages}`,
          `delivered/s                  ${fmt(postfixRate)} (all relayed in ${fmt(pf.seconds)} s)`,
          `CPU ms / delivered message   postfix ${fmt(pf.postfixCpuMs / pf.messages, 2)}, receivers ${fmt(pf.sinkCpuMs / pf.messages, 2)}, smtp-source ${fmt(pf.sourceCpuMs / pf.messages, 2)}`,
          `Posthorn / Postfix           ${fmt(posthornRate / postfixRate, 2)}× delivered/s`,
        ].join('\n') + '\n',
      );
    }
    if (ROUNDS > 1) {
      const sorted = [...ratios].sort((x, y) => x - y);
      const mid = sorted.length / 2;
      // An even number of rounds has two middle values: their mean.
      const median = sorted.length % 2 ? sorted[Math.floor(mid)]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
      process.stdout.write(
        `== peer: Posthorn / Postfix over ${ROUNDS} rounds: median ${fmt(median, 2)}× (${ratios.map((r) => fmt(r, 2)).join(', ')})\n`,
      );
    }
  } finally {
    await sinks.stop();
  }
}

/** Requests at a fixed rate whatever their latency (an open loop), to smtp-sink MXs when available. */
async function openLoop(): Promise<void> {
  const usePostfixSinks = postfixInstalled();
  const hosts = Array.from({ length: PEER_DOMAINS }, (_, d) => peerHost(d));
  const sinks = usePostfixSinks ? await startSmtpSinks(hosts, await freePort()) : null;
  try {
    const b = await benchStack({
      zones: zonesFor(PEER_DOMAINS, peerHost),
      sinks: sinks ? {} : Object.fromEntries(hosts.map((h) => [h, {}])),
      env: { ...NODE_ENV, ...(sinks ? { POSTHORN_SMTP_PORT: String(sinks.port) } : {}) },
      nodeArgs: nodeArgs(),
    });
    try {
      const key = await benchKey(b);
      await warmUp(b, key, PEER_DOMAINS, 0);
      const total = RATE * SECONDS;
      const latencies: number[] = [];
      const since = new Date();
      const cpuBefore = cpuNow(b, sinks);
      const t0 = performance.now();
      const sends: Promise<void>[] = [];
      let failed = 0;
      // Every 10 ms, the requests due by then: the rate holds whatever the answers' latency.
      for (let sent = 0; sent < total; ) {
        const due = Math.min(total, Math.floor(((performance.now() - t0) / 1000) * RATE));
        for (; sent < due; sent++) {
          sends.push(
            sendOne(b.node.apiUrl, key, sent, PEER_DOMAINS).then(
              (ms) => void latencies.push(ms),
              // Past the node's maximum rate, requests time out or are refused: counted.
              () => void failed++,
            ),
          );
        }
        await delay(10);
      }
      await Promise.all(sends);
      const acceptSeconds = (performance.now() - t0) / 1000;
      if (failed > 0)
        process.stdout.write(`open loop: ${failed} of ${total} requests failed (over capacity)\n`);
      const accepted = total - failed;
      await waitDelivered(b.db, WARMUP + accepted);
      const deliverSeconds = (performance.now() - t0) / 1000;
      const cpuAfter = cpuNow(b, sinks);
      await report(
        `open loop: ${RATE} requests/s for ${SECONDS} s (10 domains${sinks ? ', smtp-sink MXs' : ''})`,
        b,
        {
          since,
          delivered: accepted,
          acceptSeconds,
          deliverSeconds,
          latencies,
          cpuBefore,
          cpuAfter,
          sinksInProcess: !sinks,
        },
      );
    } finally {
      await b.stop();
    }
  } finally {
    await sinks?.stop();
  }
}

/**
 * The spread shape without, then with, one webhook subscribed to every event type; prints
 * the webhook figures after the second run's report.
 */
async function webhooks(): Promise<void> {
  const domains = 10;
  const clients = 32;
  const sinks: Record<string, object> = {};
  for (let d = 0; d < domains; d++) sinks[`127.0.1.${d + 1}`] = {};
  const receiver = await startWebhookReceiver();
  const b = await benchStack({
    zones: zonesFor(domains, (d) => `127.0.1.${d + 1}`),
    sinks,
    env: NODE_ENV,
    nodeArgs: nodeArgs(),
  });
  try {
    // Warm the node first (JIT, connections, caches), so that neither run pays for it.
    await warmUp(b, await benchKey(b), domains, 0);
    const without = await closedLoopRun(`webhooks: without (${domains} domains, ${clients} clients)`, b, {
      clients,
      domains,
      sinks: null,
      alreadyDelivered: WARMUP,
    });
    const key = await benchKey(b);
    const created = await fetch(`${b.node.apiUrl}/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        endpoint: receiver.url('/bench'),
        events: WEBHOOK_EVENT_TYPES,
      }),
    });
    if (created.status !== 200) throw new Error(`webhook create: HTTP ${created.status}`);
    const t0 = Date.now();
    const withHooks = await closedLoopRun(
      `webhooks: with one webhook (${domains} domains, ${clients} clients)`,
      b,
      {
        clients,
        domains,
        sinks: null,
        alreadyDelivered: WARMUP + MESSAGES,
      },
    );
    // email.sent and email.delivered for every message.
    const expected = 2 * MESSAGES;
    while (receiver.on('/bench').length < expected) await delay(100);
    const hooks = receiver.on('/bench');
    const seconds = (Math.max(...hooks.map((h) => h.at)) - t0) / 1000;
    const recordedAt = await b.db.query<{ id: string; at: number }>(
      `SELECT we.id, (extract(epoch FROM de.at) * 1000)::float8 AS at
       FROM webhook_events we JOIN delivery_events de ON de.id = we.delivery_event_id WHERE we.type = 'email.delivered'`,
    );
    const at = new Map(recordedAt.rows.map((r) => [r.id, r.at]));
    const lags = hooks
      .filter((h) => h.json.type === 'email.delivered')
      .map((h) => h.at - at.get(String(h.headers['svix-id']))!)
      .sort((x, y) => x - y);
    const duplicates = hooks.length - new Set(hooks.map((h) => h.headers['svix-id'])).size;
    process.stdout.write(
      [
        `webhook requests             ${hooks.length} (${duplicates} repeated ids)`,
        `webhook requests/s           ${fmt(hooks.length / seconds)} (first send to last webhook: ${fmt(seconds)} s)`,
        `delivery → webhook p50 / p99 ${fmt(percentile(lags, 50))} / ${fmt(percentile(lags, 99))} ms`,
        `delivered/s with / without   ${fmt(withHooks.perSecond)} / ${fmt(without.perSecond)} (ratio ${fmt(withHooks.perSecond / without.perSecond, 2)})`,
      ].join('\n') + '\n',
    );
  } finally {
    await b.stop();
    await receiver.close();
  }
}

for (const name of SCENARIOS) {
  switch (name) {
    case 'spread':
      await closedLoop(name, 10, 32);
      break;
    case 'single-site':
      await closedLoop(name, 1, 32);
      break;
    case 'peer':
      await peer();
      break;
    case 'open-loop':
      await openLoop();
      break;
    case 'observability':
      await observability();
      break;
    case 'webhooks':
      await webhooks();
      break;
    default:
      throw new Error(
        `unknown scenario ${name} (spread, single-site, peer, open-loop, observability, webhooks)`,
      );
  }
}
await Promise.all([...senders.values()].map((pool) => pool.destroy()));
