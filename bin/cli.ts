import { parseArgs } from 'node:util';
import { createDb } from '../adapters/postgres/db.js';
import { migrate } from '../adapters/postgres/migrate.js';
import { suppressionStore } from '../adapters/postgres/suppressions.js';
import { tenantStore } from '../adapters/postgres/tenants.js';
import { generateApiKey } from '../api/api-keys.js';
import { parseAddress } from '../core/address.js';
import { backupCommand, restoreCommand } from './backup-commands.js';
import { parsePauseArgs, poolsAndIps, withControl } from './control-commands.js';
import { domainRecords, ensureDkimKeys } from './domains.js';
import { egressCommand } from './egress-command.js';
import { eventsCommand } from './events-command.js';
import { adminTokenFile } from './node-api.js';
import {
  adminTokenFor,
  configOrExit,
  loggerFor,
  masterKeyFor,
  openDatabase,
  openTemporal,
} from './runtime.js';
import { serve } from './serve.js';
import { submissionSettings } from './submission-settings.js';
import { parseTenantsArgs, runTenantsCommand } from './tenant-commands.js';
import { traceCommand } from './trace-command.js';
import { webhooksCommand } from './webhooks-command.js';

const USAGE = `usage: posthorn <command>

  dev                    run a node with embedded defaults (Temporal dev server, embedded PostgreSQL)
  serve                  run a node against DATABASE_URL and TEMPORAL_ADDRESS
  migrate                apply database migrations
  keys create --tenant NAME --domain DOMAIN [--verified] [--name NAME] [--sending-only]
                         create an API key (and the tenant and domain when missing)
  keys list --tenant NAME | keys revoke KEY_ID
                         a tenant's keys (never their tokens); revoke one, on every node at once
  domains show DOMAIN    the DNS records to publish (DKIM keys, return path)
  suppressions list|add|remove --tenant NAME [EMAIL] [--reason TEXT]
                         show or change a tenant's suppression list
  tenants set NAME --require-tls true|false | tenants show NAME
                         a tenant's delivery TLS policy (require-TLS: STARTTLS, never plaintext)
  tenants set NAME [--daily-quota N|unlimited|default] [--monthly-quota …] [--ramp N|off]
                         a tenant's quotas (recipients per UTC day, month) and sending ramp
  pause|resume ip ADDR [--provider P] | domain D | provider P | tenant T | sending-domain D
        [--for 2h] --reason TEXT
                         stop or restart traffic; carried as a Temporal signal
  events [--tenant T] [--message ID] [--domain D] [--provider P] [--ip IP] [--event E]
        [--category C] [--type T] [--since 2h|ISO] [--until 2h|ISO] [--limit N] [--json]
                         the delivery log cut by customer, domain, provider, IP, type, event
  backup FILE | restore FILE
                         a consistent backup of the node's PostgreSQL data (while it runs);
                         restore loads one into an empty database and upgrades it
  trace [--domain D] [--ip A] [--tenant T] [--url URL] [--json]
                         stream this node's SMTP conversations as they happen
  egress [--url URL] [--json]
                         the running node's ready queues: load, adaptive connection limit and rate,
                         IP suspensions made on the node (needs POSTHORN_ADMIN_TOKEN)
  pools add NAME [--tenant T] [--type transactional|marketing] | pools list
  ips add ADDR --pool P [--ehlo NAME] [--node ID] [--weight W] [--warmup [--warmup-plan FILE]] | ips list
  webhooks list --tenant NAME | create --tenant NAME --endpoint URL [--events a,b] | test ID | replay ID EVENT_ID
                         a tenant's webhook endpoints; test POSTs a signed sample event; replay sends an event again
  classify --reply "550 5.1.1 …" | --jsonl | FILE.eml …
                         classify SMTP replies or bounce messages
`;

/** Runs until SIGINT/SIGTERM or a fatal worker error; returns the exit code. */
async function runNode(embedded: boolean): Promise<number> {
  const config = configOrExit();
  const log = loggerFor(config);
  if (!embedded && (!config.databaseUrl || !config.temporalAddress)) {
    process.stderr.write('posthorn serve needs DATABASE_URL and TEMPORAL_ADDRESS (or use `posthorn dev`)\n');
    return 2;
  }
  const masterKey = masterKeyFor(config, { generate: embedded });
  const adminToken = adminTokenFor(config, { generate: embedded });
  const submission = submissionSettings(config, embedded ? 'dev' : 'serve', new Date());
  if (!submission.on) log.info({ event: 'submission.off', why: submission.why }, 'SMTP submission off');
  const temporal = await openTemporal(config, log);
  const database = await openDatabase(config, { share: true }).catch(async (err) => {
    await temporal.stop();
    throw err;
  });
  const node = await serve(adminToken ? { ...config, adminToken } : config, {
    submission: submission.on ? submission.settings : null,
    databaseUrl: database.url,
    databaseMaxConnections: database.maxConnections,
    temporalAddress: temporal.address,
    temporalUiUrl: temporal.uiUrl,
    ownDevServer: temporal.ownDevServer,
    masterKey,
    logger: log,
  });
  log.info(
    { event: 'node.ready', api: node.apiUrl, temporalUi: temporal.uiUrl, temporal: temporal.address },
    `Posthorn is up: API ${node.apiUrl}${temporal.uiUrl ? `, Temporal Web UI ${temporal.uiUrl}` : ''}`,
  );
  if (adminToken && !config.adminToken) {
    log.info(
      { event: 'node.console', console: `${node.apiUrl}/console` },
      `Delivery console: ${node.apiUrl}/console (operator token in ${adminTokenFile(config)})`,
    );
  }
  const signal = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  let code = 0;
  const why = await Promise.race([
    signal,
    node.done.then(
      () => 'workers stopped',
      (err: Error) => `worker failed: ${err.message}`,
    ),
  ]);
  if (why.startsWith('worker failed')) code = 1;
  log.info({ event: 'node.stopping', why }, 'shutting down');
  await node.stop();
  await temporal.stop();
  await database.stop();
  return code;
}

async function withDatabase<T>(fn: (db: ReturnType<typeof createDb>) => Promise<T>): Promise<T> {
  const config = configOrExit();
  const database = await openDatabase(config, { share: false });
  const db = createDb({ connectionString: database.url, maxConnections: database.maxConnections });
  try {
    await migrate(db);
    return await fn(db);
  } finally {
    await db.close();
    await database.stop();
  }
}

async function keysList(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { tenant: { type: 'string' } } });
  if (!values.tenant) {
    process.stderr.write('posthorn keys list: --tenant is required\n');
    return 2;
  }
  return withDatabase(async (db) => {
    const tenants = tenantStore(db);
    const tenantId = await tenants.tenantIdByName(values.tenant!);
    if (!tenantId) {
      process.stderr.write(`posthorn keys list: no tenant "${values.tenant}"\n`);
      return 1;
    }
    for (const k of await tenants.listKeys(tenantId)) {
      const state = k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active';
      process.stdout.write(
        `${k.id}  ${k.tokenPrefix}…  ${k.permission}  ${k.name}  created ${k.createdAt.toISOString()}  ${state}\n`,
      );
    }
    return 0;
  });
}

async function keysRevoke(args: string[]): Promise<number> {
  const id = args[0];
  if (!id || !/^[0-9a-f-]{36}$/i.test(id)) {
    process.stderr.write('posthorn keys revoke: give the key id (posthorn keys list --tenant NAME)\n');
    return 2;
  }
  return withDatabase(async (db) => {
    if (await tenantStore(db).revokeKey(id)) {
      process.stdout.write(`revoked ${id}\n`);
      return 0;
    }
    process.stderr.write(`posthorn keys revoke: no active key ${id}\n`);
    return 1;
  });
}

async function keysCreate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      tenant: { type: 'string' },
      domain: { type: 'string' },
      verified: { type: 'boolean', default: false },
      name: { type: 'string', default: 'default' },
      'sending-only': { type: 'boolean', default: false },
    },
  });
  if (!values.tenant || !values.domain) {
    process.stderr.write('posthorn keys create: --tenant and --domain are required\n');
    return 2;
  }
  const domainName = values.domain.toLowerCase();
  if (!parseAddress(`postmaster@${domainName}`).ok) {
    process.stderr.write(`posthorn keys create: "${values.domain}" is not a domain name\n`);
    return 2;
  }
  const config = configOrExit();
  return withDatabase(async (db) => {
    const tenants = tenantStore(db);
    const tenantId = await tenants.ensureTenant(values.tenant!);
    const domain = await tenants.ensureDomain(tenantId, domainName, values.verified!);
    if ('conflict' in domain) {
      process.stderr.write(`posthorn keys create: ${domainName} belongs to another tenant\n`);
      return 1;
    }
    await ensureDkimKeys(db, domain, masterKeyFor(config, { generate: true }));
    const key = generateApiKey();
    await tenants.createKey({
      tenantId,
      name: values.name!,
      tokenHash: key.hash,
      tokenPrefix: key.prefix,
      permission: values['sending-only'] ? 'sending_access' : 'full_access',
      domainId: values['sending-only'] ? domain.id : null,
    });
    process.stdout.write(`${key.token}\n`);
    if (domain.status !== 'verified') {
      process.stderr.write(
        `note: ${domainName} is not verified yet; sends from it are refused until it is (or use --verified for local use)\n`,
      );
    }
    return 0;
  });
}

async function domainsShow(args: string[]): Promise<number> {
  const { positionals } = parseArgs({ args, allowPositionals: true });
  const name = positionals[0]?.toLowerCase();
  if (!name) {
    process.stderr.write('usage: posthorn domains show DOMAIN\n');
    return 2;
  }
  const config = configOrExit();
  return withDatabase(async (db) => {
    const found = await db.query<{ status: string }>(
      'SELECT status FROM domains WHERE name = $1 AND deleted_at IS NULL',
      [name],
    );
    if (!found.rows[0]) {
      process.stderr.write(`posthorn domains show: no domain ${name}\n`);
      return 1;
    }
    const records = await domainRecords(db, name, {
      returnPathSubdomain: config.returnPathSubdomain,
      hostname: config.hostname,
      egressIps: config.egressIps.map((ip) => ip.address),
    });
    process.stdout.write(`${JSON.stringify({ name, status: found.rows[0].status, records }, null, 2)}\n`);
    return 0;
  });
}

async function suppressionsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { tenant: { type: 'string' }, reason: { type: 'string', default: 'added by an operator' } },
  });
  const [action, email] = positionals;
  if (!values.tenant || !['list', 'add', 'remove'].includes(action ?? '') || (action !== 'list' && !email)) {
    process.stderr.write('usage: posthorn suppressions list|add|remove --tenant NAME [EMAIL]\n');
    return 2;
  }
  return withDatabase(async (db) => {
    const tenantId = await tenantStore(db).tenantIdByName(values.tenant!);
    if (!tenantId) {
      process.stderr.write(`posthorn suppressions: no tenant named ${values.tenant}\n`);
      return 1;
    }
    const store = suppressionStore(db);
    switch (action) {
      case 'add':
        process.stdout.write(`${JSON.stringify(await store.add(tenantId, email!, values.reason!))}\n`);
        return 0;
      case 'remove': {
        const removed = await store.remove(tenantId, email!);
        process.stdout.write(removed ? `removed ${removed.email}\n` : `${email} was not suppressed\n`);
        return removed ? 0 : 1;
      }
      default: {
        // Pages through the whole list, newest first (rows of 100).
        let after: string | undefined;
        for (;;) {
          const rows = await store.list(tenantId, 100, { after });
          for (const r of rows.slice(0, 100)) process.stdout.write(`${JSON.stringify(r)}\n`);
          if (rows.length <= 100) return 0;
          after = rows[99]!.id;
        }
      }
    }
  });
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'dev':
        return await runNode(true);
      case 'serve':
        return await runNode(false);
      case 'migrate':
        return await withDatabase(async (db) => {
          process.stdout.write(`applied: ${(await migrate(db)).join(', ') || 'nothing (up to date)'}\n`);
          return 0;
        });
      case 'keys':
        if (rest[0] === 'create') return await keysCreate(rest.slice(1));
        if (rest[0] === 'list') return await keysList(rest.slice(1));
        if (rest[0] === 'revoke') return await keysRevoke(rest.slice(1));
        process.stderr.write(USAGE);
        return 2;
      case 'domains':
        if (rest[0] === 'show') return await domainsShow(rest.slice(1));
        process.stderr.write(USAGE);
        return 2;
      case 'suppressions':
        return await suppressionsCommand(rest);
      case 'pause':
      case 'resume': {
        const parsed = parsePauseArgs(rest, command === 'resume');
        if (typeof parsed === 'string') {
          process.stderr.write(`${parsed}\n`);
          return 2;
        }
        const config = configOrExit();
        return await withDatabase((db) =>
          withControl(config, db, async (control) => {
            if (command === 'pause')
              await control.pause(parsed.target, parsed.untilMs, parsed.reason, parsed.actor);
            else await control.resume(parsed.target, parsed.reason, parsed.actor);
            process.stdout.write(`${command}d ${JSON.stringify(parsed.target)}\n`);
            return 0;
          }),
        );
      }
      case 'tenants': {
        const parsed = parseTenantsArgs(rest);
        if (typeof parsed === 'string') {
          process.stderr.write(`${parsed}\n`);
          return 2;
        }
        return await withDatabase((db) => runTenantsCommand(parsed, db));
      }
      case 'webhooks': {
        const config = configOrExit();
        return await withDatabase((db) => webhooksCommand(rest, db, config));
      }
      case 'events':
        return await withDatabase(async (db) => {
          process.stdout.write(`${await eventsCommand(rest, db)}\n`);
          return 0;
        });
      case 'backup':
      case 'restore': {
        const file = rest[0];
        if (!file || rest.length > 1) {
          process.stderr.write(`usage: posthorn ${command} FILE\n`);
          return 2;
        }
        const run = command === 'backup' ? backupCommand : restoreCommand;
        return await run(file, configOrExit(), (line) => process.stdout.write(`${line}\n`));
      }
      case 'trace': {
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        return await traceCommand(
          rest,
          configOrExit(),
          (line) => process.stdout.write(`${line}\n`),
          stop.signal,
        );
      }
      case 'egress':
        process.stdout.write(`${await egressCommand(rest, configOrExit())}\n`);
        return 0;
      case 'pools':
      case 'ips': {
        const config = configOrExit();
        return await withDatabase(async (db) => {
          process.stdout.write(
            `${await poolsAndIps([command, ...rest], db, config, (n) => tenantStore(db).tenantIdByName(n))}\n`,
          );
          return 0;
        });
      }
      case 'classify': {
        const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
        if (rest.includes('--reply') || rest.includes('--jsonl')) {
          const { runClassifyReply } = await import('./classify-reply.js');
          return await runClassifyReply(rest, io);
        }
        const { runClassifyFiles } = await import('./classify-files.js');
        return await runClassifyFiles(rest, io);
      }
      default:
        process.stderr.write(USAGE);
        return command === undefined || command === 'help' || command === '--help' ? 0 : 2;
    }
  } catch (err) {
    process.stderr.write(`posthorn ${command}: ${(err as Error).message}\n`);
    return 1;
  }
}
