import { type Client, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { cancelUpdate, rescheduleUpdate } from '../workflows/contract.js';

/**
 * What a message workflow did with a change to its schedule:
 * - done: moved or canceled, and recorded;
 * - refused: the workflow is past its wait (sending or sent, or canceled already), or
 *   never had one (the message was not scheduled);
 * - no_workflow: no running workflow has the message's id (it finished, or was never started).
 */
export type ScheduleChange = 'done' | 'refused' | 'no_workflow';

export interface ScheduleControl {
  reschedule(messageId: string, scheduledAtMs: number): Promise<ScheduleChange>;
  cancel(messageId: string): Promise<ScheduleChange>;
}

/** An update waits for its handler's database write; past this it is left to the caller's retry, ms. */
const UPDATE_DEADLINE_MS = 30_000;

/**
 * Changes go through the message workflow as Temporal updates (workflows/message.ts), so
 * the answer is the workflow's own: its validator refuses once the message has left its
 * wait, which no check of the database made before could promise.
 */
export function temporalScheduleControl(client: Client): ScheduleControl {
  async function run(messageId: string, update: (id: string) => Promise<unknown>): Promise<ScheduleChange> {
    try {
      const d = await client.workflow.getHandle(messageId).describe();
      if (d.status.name !== 'RUNNING') return 'no_workflow';
      // Started with a start delay (scheduled sends accepted before the workflow waited for
      // its time itself): no workflow code runs before then, so nothing could take the update.
      if (d.executionTime && d.executionTime.getTime() > Date.now()) return 'refused';
      await client.withDeadline(Date.now() + UPDATE_DEADLINE_MS, () => update(messageId));
      return 'done';
    } catch (err) {
      // Refused by the validator, or by a workflow without these updates (started before them).
      if (err instanceof WorkflowUpdateFailedError) return 'refused';
      if (err instanceof WorkflowNotFoundError) return 'no_workflow';
      throw err;
    }
  }
  return {
    reschedule: (messageId, scheduledAtMs) =>
      run(messageId, (id) =>
        client.workflow.getHandle(id).executeUpdate(rescheduleUpdate, { args: [{ scheduledAtMs }] }),
      ),
    cancel: (messageId) => run(messageId, (id) => client.workflow.getHandle(id).executeUpdate(cancelUpdate)),
  };
}
