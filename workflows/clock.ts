/**
 * The workflow's notion of now, ms since the epoch. Inside the workflow sandbox Temporal
 * replaces Date with the time of the current workflow task, recorded in history, so this
 * is deterministic on replay; it is the only place workflows read a clock.
 */
export function workflowNow(): number {
  return Date.now();
}
