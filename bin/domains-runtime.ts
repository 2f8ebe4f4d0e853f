import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { createDomainActivities } from '../activities/domains.js';
import { encryptPrivateKey, generateDomainKeys } from '../adapters/dkim.js';
import { createDnsResolver } from '../adapters/dns.js';
import { domainActorClient } from '../adapters/domain-actor-client.js';
import { apiKeyStore } from '../adapters/postgres/api-keys.js';
import type { Db } from '../adapters/postgres/db.js';
import { domainStore } from '../adapters/postgres/domains.js';
import { routingStore } from '../adapters/postgres/routing.js';
import type { DomainService } from '../api/domains.js';
import { keyUsageRecorder } from '../api/key-usage.js';
import type { Config } from '../config/schema.js';
import type { RecordSettings } from '../core/domains/records.js';

/** A node writes a key's last use at most this often, ms. */
const KEY_USAGE_INTERVAL_MS = 60_000;

/**
 * The Domains and API keys APIs on a node: the domain service the routes use, the domain
 * actor's activities (registered on the message worker), and the API keys' usage recorder.
 */
export function startDomains(args: {
  db: Db;
  client: Client;
  config: Config;
  masterKey: Buffer;
  log: Logger;
  /** Drops the node's cached keys and domains (api/tenant-cache.ts). */
  forgetCached: () => void;
}) {
  const { db, config, log } = args;
  const store = domainStore(db);
  const routing = routingStore(db);
  // Every IP of the deployment may carry any tenant's mail (shared pool, other nodes), so
  // SPF on the return path lists them all; before any IP is configured, the node's own.
  const recordSettings = async (): Promise<RecordSettings> => {
    const ips = (await routing.ips()).map((r) => r.address);
    return {
      returnPathSubdomain: config.returnPathSubdomain,
      bounceHost: config.hostname,
      sendingIps: ips.length > 0 ? ips : config.egressIps.map((ip) => ip.address),
    };
  };
  const actor = domainActorClient(args.client, {
    checkIntervalMs: config.domainCheckInterval,
    recheckIntervalMs: config.domainRecheckInterval,
    giveUpMs: config.domainVerifyTimeout,
  });
  const service: DomainService = {
    store,
    async generateKeys(name) {
      return (await generateDomainKeys(new Date())).map((k) => ({
        algorithm: k.algorithm,
        selector: k.selector,
        publicKey: k.publicKey,
        privateKeyEnc: encryptPrivateKey(k.privateKeyPem, args.masterKey, `${name}/${k.selector}`),
      }));
    },
    recordSettings,
    checkNow: (d) => actor.checkNow(d),
    wake: (id) => actor.wake(id),
    forgetCached: args.forgetCached,
  };
  const keys = apiKeyStore(db);
  return {
    service,
    /**
     * Makes sure every pending or flagged domain has its actor. A verify request marks the
     * domain pending, then starts the actor; if Temporal was away in between (the request
     * got a 503), the domain would wait for ever without this look at each start.
     */
    async ensureActors(): Promise<void> {
      for (const d of await store.awaitingChecks()) await actor.ensureRunning(d);
    },
    apiKeys: keys,
    keyUsage: keyUsageRecorder({
      write: (uses) => keys.touch(uses),
      now: Date.now,
      intervalMs: KEY_USAGE_INTERVAL_MS,
      maxKeys: 100_000,
      onError: (err) => log.warn({ err, event: 'api_key.usage_write_failed' }, 'last_used_at not written'),
    }),
    activities: createDomainActivities({
      domains: store,
      // Uncached: verification asks DNS afresh each time (adapters/dns.ts caches for delivery).
      dns: createDnsResolver({ servers: config.dnsServers, timeoutMs: config.dnsTimeout, tries: 2 }),
      recordSettings,
    }),
  };
}
