import { randomInt } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { createControlActivities } from '../activities/control.js';
import { controlClient } from '../adapters/control-client.js';
import type { Db } from '../adapters/postgres/db.js';
import { heldStore } from '../adapters/postgres/held.js';
import { listen } from '../adapters/postgres/listen.js';
import { ROUTE_CHANNEL, routingStore } from '../adapters/postgres/routing.js';
import type { Config } from '../config/schema.js';
import { createIpChooser } from '../egress/routing/choose-ip.js';
import { createLocalSuspensionTable } from '../egress/routing/local-suspensions.js';
import { createOutcomeFeed } from '../egress/routing/outcome-feed.js';
import { createPauseGate } from '../egress/routing/pause-gate.js';
import { createRouteCache } from '../egress/routing/route-cache.js';

/** How often the node re-reads route state even without a NOTIFY, ms (a missed notification). */
const ROUTE_REFRESH_MS = 5_000;
/** The pool config IPs go into on first start. */
const BOOTSTRAP_POOL = 'shared';

/**
 * Everything routing needs on a node: pools and IPs (seeded from POSTHORN_EGRESS_IPS on a
 * fresh database), the route-state cache kept fresh by LISTEN/NOTIFY, the IP and control
 * workflows (started if not running), and the outcome feed to the IP workflows.
 */
export async function startRouting(args: {
  db: Db;
  databaseUrl: string;
  client: Client;
  config: Config;
  log: Logger;
}) {
  const { db, config, log } = args;
  const store = routingStore(db);
  if ((await store.pools()).length === 0 && config.egressIps.length > 0) {
    await store.addPool({ name: BOOTSTRAP_POOL, tenantId: null, messageType: null });
    for (const ip of config.egressIps) {
      await store.addIp({
        address: ip.address,
        pool: BOOTSTRAP_POOL,
        ehloName: ip.ehloName ?? config.hostname,
        nodeId: config.nodeId,
        weight: 100,
        warm: true,
        warmupPlan: null,
      });
    }
    log.info(
      { event: 'routing.bootstrapped', pool: BOOTSTRAP_POOL, ips: config.egressIps.map((i) => i.address) },
      'shared pool created from POSTHORN_EGRESS_IPS',
    );
  }
  const cache = createRouteCache(store, ROUTE_REFRESH_MS);
  // The node's own IP × provider suspensions: the IP workflows' published state replaces
  // them at every reload once the workflows have heard of the refusals behind them.
  const suspensions = createLocalSuspensionTable({ now: Date.now, durationScale: config.reputationScale });
  cache.onLoad(async (snap) => suspensions.reconcile(snap.routes));
  const rowOf = (ip: string) => cache.current().ips.find((r) => r.address === ip);
  const control = controlClient(args.client, (ip) => ({
    warm: rowOf(ip)?.warm ?? true,
    dayMs: config.warmupDay,
    weight: rowOf(ip)?.weight ?? 100,
    plan: rowOf(ip)?.warmupPlan ?? undefined,
    effectScale: config.reputationScale,
  }));
  // IPs of this node get their actor when they appear (config at the first start, `posthorn
  // ips add` later, seen at the next reload by NOTIFY or timer), and hear of changes to
  // their weight or warmup plan.
  const known = new Map<string, string>();
  cache.onLoad(async (snap) => {
    for (const r of snap.ips.filter((x) => x.nodeId === config.nodeId)) {
      const settings = JSON.stringify([r.weight, r.warmupPlan]);
      const before = known.get(r.address);
      if (before === settings) continue;
      if (before === undefined) await control.ensureRunning([r.address]);
      else await control.reconfigure(r.address, r.weight, r.warmupPlan);
      known.set(r.address, settings);
    }
  });
  await cache.refresh();
  const listener = listen(
    args.databaseUrl,
    ROUTE_CHANNEL,
    () =>
      void cache
        .refresh()
        .catch((err) => log.warn({ err, event: 'routing.refresh_failed' }, 'route refresh failed')),
    (err) => log.warn({ err, event: 'routing.listen_error' }, 'route-state LISTEN connection lost'),
  );

  const feed = createOutcomeFeed({
    send: (summary) => control.sendOutcomes(summary),
    now: Date.now,
    windowMs: config.feedbackWindow,
    onReported: (ip, provider, atMs) => suspensions.reported(ip, provider, atMs),
    onError: (err, ip) =>
      log.warn(
        { err, event: 'feedback.signal_failed', ip },
        'outcome summary not delivered; kept for the next window',
      ),
  });
  const held = heldStore(db);
  return {
    cache,
    control,
    feed,
    suspensions,
    chooseIp: createIpChooser({
      cache,
      suspensions,
      routing: store,
      nodeId: config.nodeId,
      dayMs: config.warmupDay,
      random: () => randomInt(0, 2 ** 32) / 2 ** 32,
      now: Date.now,
    }),
    pauseGate: createPauseGate({ cache, held, now: Date.now }),
    routeHold: { hold: held.hold, unhold: held.unhold, refresh: () => cache.refresh() },
    activities: createControlActivities({ routing: store, held, client: args.client }),
    ehloNameOf: (ip: string) => rowOf(ip)?.ehloName ?? null,
    async close(): Promise<void> {
      await feed.close();
      cache.close();
      await listener.close();
    },
  };
}
