import { condition, continueAsNew, setHandler, workflowInfo } from '@temporalio/workflow';
import { afterCheck, recordStatus, summarize } from '../core/domains/lifecycle.js';
import { domainActivities } from './activity-options.js';
import { workflowNow } from './clock.js';
import { checkDomainSignal, type DomainWorkflowInput } from './contract.js';

/** Checks per run before the actor starts afresh (bounded history: a check is ~10 events). */
const CHECKS_PER_RUN = 100;

/**
 * The domain actor: one per sending domain being verified. It looks up the domain's
 * records (an activity), applies the lifecycle (core/domains/lifecycle.ts) and stores the
 * result, then sleeps on a durable timer: the check interval while pending or flagged, the
 * recheck interval while verified. It ends when the domain fails or is deleted; a verify
 * request starts it again. The status lives in PostgreSQL, so the actor carries no state
 * of its own across runs.
 */
export async function domainWorkflow(input: DomainWorkflowInput): Promise<void> {
  let requested = false;
  setHandler(checkDomainSignal, () => {
    requested = true;
  });
  for (let checks = 1; ; checks++) {
    requested = false;
    const checked = await domainActivities.checkDomain({ domainId: input.domainId });
    if (checked.kind === 'gone') return;
    const now = workflowNow();
    const t = afterCheck(
      { status: checked.status, sinceMs: checked.statusSinceMs },
      summarize(checked.records),
      now,
      { giveUpMs: input.giveUpMs },
    );
    const stored = await domainActivities.recordDomainCheck({
      domainId: input.domainId,
      expected: { status: checked.status, sinceMs: checked.statusSinceMs },
      status: t.state.status,
      sinceMs: t.state.sinceMs,
      records: Object.fromEntries(
        checked.records.map((r) => [r.key, recordStatus(r.finding, t.state.status)]),
      ),
      checkedAtMs: now,
    });
    // A verify request changed the status while we looked: look again with it.
    if (stored) {
      if (t.next === 'stop') return;
      await condition(() => requested, t.next === 'soon' ? input.checkIntervalMs : input.recheckIntervalMs);
    }
    if (checks >= CHECKS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof domainWorkflow>(input);
    }
  }
}
