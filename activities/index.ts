import type { MessageStore } from '../adapters/postgres/messages.js';
import type { MessageActivities, MessageStarter, WaveActivities } from '../workflows/contract.js';
import { createDeliver, type DeliverDeps } from './deliver.js';
import { createExpire } from './expire.js';
import { createScheduleActivities } from './schedule.js';
import { createDeliverWave } from './wave.js';

export interface ActivityDeps extends DeliverDeps {
  /** Deliveries read messages one at a time; a wave claims and reads all of its own at once. */
  readonly messages: Pick<
    MessageStore,
    | 'forDelivery'
    | 'forDeliveryMany'
    | 'claimForWave'
    | 'envelopeOf'
    | 'setScheduledAt'
    | 'mimeOf'
    | 'replaceMime'
  >;
  /** Starts the message workflows of messages a wave hands on. */
  readonly starter: MessageStarter;
  /** Messages in waves this node is delivering: +n at a wave's start, -n at its end. */
  readonly waveLoad: (delta: number) => void;
}

/** Every activity, bound to its adapters. The workers register what this returns. */
export function createActivities(deps: ActivityDeps): MessageActivities & WaveActivities {
  const deliver = createDeliver(deps);
  return {
    deliver: deliver.deliver,
    expire: createExpire(deps),
    ...createScheduleActivities(deps),
    deliverWave: createDeliverWave({
      messages: deps.messages,
      deliver: deliver.deliverLoaded,
      starter: deps.starter,
      load: deps.waveLoad,
    }),
  };
}
