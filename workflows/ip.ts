import { condition, continueAsNew, log, patched, setHandler, workflowInfo } from '@temporalio/workflow';
import {
  applyControl,
  applyOutcomes,
  type IpState,
  initialIpState,
  nextWakeMs,
  reconfigure,
  routeStateOf,
  tick,
} from '../core/routing/ip-actor.js';
import type { IpControl, IpRouteState, OutcomeSummary } from '../core/routing/ip-actor-types.js';
import type { WarmupPlan } from '../core/routing/warmup.js';
import { control } from './activity-options.js';
import { workflowNow } from './clock.js';
import {
  type IpWorkflowInput,
  ipControlSignal,
  ipReconfigureSignal,
  ipStateQuery,
  outcomesSignal,
} from './contract.js';

/**
 * Reputation reads the bounce classification's action for replies no reputation row names
 * (core/routing/reputation.ts, ACTION_EFFECTS). Histories recorded before it replay without it
 * (docs/reliability.md, "Classifier changes and running workflows").
 */
const REPUTATION_BY_ACTION = 'reputation-by-action';

/** Signals handled before the workflow starts afresh with its state (bounded history). */
const SIGNALS_PER_RUN = 1000;

type IpEvent =
  | { kind: 'outcomes'; summary: OutcomeSummary }
  | { kind: 'control'; control: IpControl }
  | { kind: 'reconfigure'; weight: number; plan: WarmupPlan | null };

/** Route state without its timestamp, to tell whether anything routing reads changed. */
function routingContent(r: IpRouteState): string {
  const { asOfMs: _asOf, ...rest } = r;
  return JSON.stringify(rest);
}

/**
 * One sending IP as a long-lived actor (workflow id `ip-<address>`): it owns the IP's
 * warmup and its reputation with each mailbox provider. The node's dispatcher signals
 * outcome summaries every few seconds; operators signal pauses; the actor applies its
 * rules (core/routing/ip-actor.ts), publishes the route state every node routes by, and sleeps
 * until the next expiry or warmup day.
 */
export async function ipWorkflow(input: IpWorkflowInput): Promise<void> {
  let state: IpState =
    (input.state as IpState | undefined) ??
    initialIpState(input.ip, {
      warm: input.warm,
      nowMs: workflowNow(),
      dayMs: input.dayMs,
      weight: input.weight,
      effectScale: input.effectScale,
      plan: input.plan,
    });
  const pending: IpEvent[] = [];
  setHandler(outcomesSignal, (summary) => {
    pending.push({ kind: 'outcomes', summary });
  });
  setHandler(ipControlSignal, (c) => {
    pending.push({ kind: 'control', control: c });
  });
  setHandler(ipReconfigureSignal, (c) => {
    pending.push({ kind: 'reconfigure', ...c });
  });
  let published: string | null = null;
  setHandler(ipStateQuery, () => ({ state, route: routeStateOf(state, workflowNow()) }));

  let handled = 0;
  for (;;) {
    const now = workflowNow();
    state = tick(state, now);
    const route = routeStateOf(state, now);
    const content = routingContent(route);
    if (content !== published) {
      await control.publishRouteState(route);
      published = content;
    }
    if (
      pending.length === 0 &&
      (handled >= (input.signalsPerRun ?? SIGNALS_PER_RUN) || workflowInfo().continueAsNewSuggested)
    ) {
      await continueAsNew<typeof ipWorkflow>({ ...input, state });
    }
    const wake = nextWakeMs(state, workflowNow());
    if (wake === null) await condition(() => pending.length > 0);
    else await condition(() => pending.length > 0, Math.max(1, wake - workflowNow()));

    for (const event of pending.splice(0)) {
      handled++;
      switch (event.kind) {
        case 'outcomes': {
          const r = applyOutcomes(state, event.summary, workflowNow(), {
            byAction: patched(REPUTATION_BY_ACTION),
          });
          state = r.state;
          for (const f of r.fired) log.info('reputation rule fired', { ip: input.ip, ...f });
          break;
        }
        case 'control':
          state = applyControl(state, event.control, workflowNow());
          log.info('operator control', { ip: input.ip, ...event.control });
          break;
        case 'reconfigure':
          state = reconfigure(state, { weight: event.weight, plan: event.plan ?? undefined }, workflowNow());
          break;
      }
    }
  }
}
