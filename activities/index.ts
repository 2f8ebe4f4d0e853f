import { createDeliver, type DeliverDeps } from './deliver.js';
import { createExpire } from './expire.js';
import type { MessageActivities } from './types.js';

export type ActivityDeps = DeliverDeps;

/** Every activity, bound to its adapters. The worker registers what this returns. */
export function createActivities(deps: ActivityDeps): MessageActivities {
  return {
    deliver: createDeliver(deps),
    expire: createExpire(deps),
  };
}
