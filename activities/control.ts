import type { Client } from '@temporalio/client';
import type { HeldStore } from '../adapters/postgres/held.js';
import type { RoutingStore } from '../adapters/postgres/routing.js';
import { type ControlActivities, releaseSignal } from '../workflows/contract.js';

/** Publishing for the IP and control workflows, and releasing held messages. */
export function createControlActivities(deps: {
  routing: Pick<RoutingStore, 'publishRouteState' | 'publishPauses' | 'ips'>;
  held: Pick<HeldStore, 'heldBy' | 'clear'>;
  client: Client;
}): ControlActivities {
  const activities: ControlActivities = {
    async publishRouteState(state) {
      await deps.routing.publishRouteState(state);
      // A change of this IP may let messages its pool could not place go now.
      const pool = (await deps.routing.ips()).find((r) => r.address === state.ip)?.pool;
      if (pool) await activities.releaseHeld({ scope: 'route', value: pool });
    },
    publishPauses: (pauses) => deps.routing.publishPauses(pauses),
    async releaseHeld(key) {
      const ids = await deps.held.heldBy(key);
      // Signal first, forget after: if this activity dies half-way, a retry signals again
      // (a second release is harmless) rather than leaving messages held.
      // A message that finished meanwhile has nothing to release: its signal fails harmlessly.
      await Promise.all(
        ids.map((id) =>
          deps.client.workflow
            .getHandle(id)
            .signal(releaseSignal)
            .catch(() => {}),
        ),
      );
      await deps.held.clear(key, ids);
      return ids.length;
    },
  };
  return activities;
}
