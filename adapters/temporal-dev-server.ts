import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { pidFromFile, stopChild, stopLeftover } from './child-process-guard.js';

export interface DevServerOptions {
  readonly cliPath: string;
  readonly dataDir: string;
  readonly port: number;
  readonly uiPort: number;
  readonly namespace: string;
  /** name → type, e.g. PosthornTenant → Keyword. */
  readonly searchAttributes: Readonly<Record<string, string>>;
}

export interface DevServer {
  readonly address: string;
  stop(): Promise<void>;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

const pidFileIn = (dataDir: string) => join(dataDir, 'temporal.pid');

/** Stops a dev server a killed node left running on `dataDir`, if there is one. */
export async function stopLeftoverDevServer(dataDir: string): Promise<void> {
  const leftover = pidFromFile(pidFileIn(dataDir));
  if (leftover) await stopLeftover(leftover, 'temporal', 'SIGTERM', 10_000);
}

/**
 * Starts `temporal server start-dev` with its SQLite file under the data directory
 * (WAL mode: concurrent readers do not block the single writer) and the Web UI, and
 * waits until the frontend port answers. A dev server left running by a node that was
 * killed (its pid is kept in the data directory) is stopped first: it holds the SQLite file.
 */
/** The dev server's limit on one search attribute value, bytes: 200 message ids as a JSON list. */
export const DEV_SEARCH_ATTRIBUTE_VALUE_BYTES = 8192;

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  await mkdir(options.dataDir, { recursive: true });
  const pidFile = pidFileIn(options.dataDir);
  await stopLeftoverDevServer(options.dataDir);
  if (await portOpen(options.port)) {
    throw new Error(
      `port ${options.port} is already in use; set TEMPORAL_ADDRESS to use that server, or POSTHORN_TEMPORAL_PORT`,
    );
  }
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--ui-port',
    String(options.uiPort),
    '--db-filename',
    join(options.dataDir, 'temporal.sqlite'),
    '--sqlite-pragma',
    'journal_mode=wal',
    // In WAL mode NORMAL syncs at checkpoints, not at every commit: a crash of the process
    // loses nothing, a power cut may lose the last transactions. Right for a one-machine
    // dev server; a production cluster runs on PostgreSQL or Cassandra.
    '--sqlite-pragma',
    'synchronous=NORMAL',
    '--namespace',
    options.namespace,
    '--log-level',
    'warn',
    // The server otherwise calls a version-check host on the internet at start and then
    // periodically; a node needs no network beyond its MX traffic.
    '--dynamic-config-value',
    'frontend.enableServerVersionCheck=false',
    // A delivery wave lists its message ids in one KeywordList search attribute; the default
    // limit (2 KB) holds 52 ids as a JSON list, this one up to 200 (config/schema.ts, waveMax).
    '--dynamic-config-value',
    `frontend.searchAttributesSizeOfValueLimit=${DEV_SEARCH_ATTRIBUTE_VALUE_BYTES}`,
    ...Object.entries(options.searchAttributes).flatMap(([k, v]) => ['--search-attribute', `${k}=${v}`]),
  ];
  const log = createWriteStream(join(options.dataDir, 'temporal.log'), { flags: 'a' });
  const child: ChildProcess = spawn(options.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  if (child.pid) await writeFile(pidFile, `${child.pid}\n`);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  // First start creates the SQLite schema; a slow disk can take a while (ms).
  const deadline = Date.now() + 60_000;
  while (!(await portOpen(options.port))) {
    if (exited)
      throw new Error(`temporal dev server exited early; see ${join(options.dataDir, 'temporal.log')}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('temporal dev server did not open its port within 60 s');
    }
    await delay(200);
  }
  return {
    address: `127.0.0.1:${options.port}`,
    async stop() {
      await stopChild(child, 'SIGTERM', 10_000);
      log.end();
      await rm(pidFile, { force: true });
    },
  };
}
