import { condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  addPause,
  expirePauses,
  nextPauseExpiry,
  type Pause,
  type PauseKey,
  removePause,
} from '../core/routing/pauses.js';
import { control } from './activity-options.js';
import { workflowNow } from './clock.js';
import { pauseSignal, pausesQuery, resumeSignal } from './contract.js';

/** Signals handled before the workflow starts afresh with its state (bounded history). */
const SIGNALS_PER_RUN = 500;

type ControlEvent = { kind: 'pause'; pause: Pause } | { kind: 'resume'; key: PauseKey };

/**
 * The one control workflow: it holds operator pauses of destination domains, providers,
 * tenants and sending domains. Every pause and resume is a signal, so its history says who
 * paused what, when and why; the current set is published for every node's routing, and
 * messages a lifted pause held are released at once.
 */
export async function controlWorkflow(input: { pauses?: Pause[] } = {}): Promise<void> {
  let pauses: Pause[] = input.pauses ?? [];
  const pending: ControlEvent[] = [];
  setHandler(pauseSignal, (pause) => {
    pending.push({ kind: 'pause', pause });
  });
  setHandler(resumeSignal, (r) => {
    pending.push({ kind: 'resume', key: { scope: r.scope, value: r.value } });
  });
  setHandler(pausesQuery, () => pauses);

  let handled = 0;
  for (;;) {
    const next = nextPauseExpiry(pauses);
    const now = workflowNow();
    if (next === null) await condition(() => pending.length > 0);
    else await condition(() => pending.length > 0, Math.max(1, next - now));

    const released: PauseKey[] = [];
    for (const event of pending.splice(0)) {
      handled++;
      switch (event.kind) {
        case 'pause':
          pauses = addPause(pauses, event.pause);
          break;
        case 'resume': {
          const r = removePause(pauses, event.key);
          pauses = r.pauses;
          released.push(event.key);
          break;
        }
      }
    }
    const expired = expirePauses(pauses, workflowNow());
    pauses = expired.pauses;
    released.push(...expired.expired);
    await control.publishPauses(pauses);
    for (const key of released) await control.releaseHeld({ scope: key.scope, value: key.value });

    if (pending.length === 0 && (handled >= SIGNALS_PER_RUN || workflowInfo().continueAsNewSuggested)) {
      await continueAsNew<typeof controlWorkflow>({ pauses });
    }
  }
}
