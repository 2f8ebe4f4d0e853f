import type { RecordFinding } from './records.js';

/**
 * A sending domain's verification status (Resend's names; Resend API reference,
 * resend.com/docs/dashboard/domains/introduction):
 * - not_started: created, verification never asked for;
 * - pending: asked for, the records not all seen yet; checked again until the give-up;
 * - verified: every required record seen; rechecked periodically;
 * - temporary_failure: was verified, but a recheck no longer sees every record; checked
 *   again like pending, back to verified when they return, failed after the give-up;
 * - failed: the records were not seen within the give-up (72 h by default). Asking for
 *   verification again starts over.
 */
export type DomainStatus = 'not_started' | 'pending' | 'verified' | 'failed' | 'temporary_failure';

/** A record's own status, in Resend's names. */
export type RecordStatus = 'not_started' | 'pending' | 'verified' | 'failed' | 'temporary_failure';

/**
 * Whether mail may be sent from a domain in this status. temporary_failure still sends:
 * the domain was verified, and a DNS provider's hiccup must not stop a customer's mail;
 * it becomes failed, and refuses, when the records stay away past the give-up.
 */
export function domainMaySend(status: string): boolean {
  return status === 'verified' || status === 'temporary_failure';
}

/** What one check of all records found, from the required records' findings. */
export type CheckSummary = 'all_found' | 'missing' | 'dns_error';

export function summarize(findings: readonly { required: boolean; finding: RecordFinding }[]): CheckSummary {
  const required = findings.filter((f) => f.required);
  if (required.some((f) => f.finding === 'missing')) return 'missing';
  if (required.some((f) => f.finding === 'dns_error')) return 'dns_error';
  return 'all_found';
}

/** When the domain actor looks again: soon (pending, flagged), later (verified), never. */
export type NextCheck = 'soon' | 'later' | 'stop';

export interface DomainState {
  readonly status: DomainStatus;
  /** When the status began, ms since the epoch: the give-up counts from here. */
  readonly sinceMs: number;
}

export interface Transition {
  readonly state: DomainState;
  readonly next: NextCheck;
}

/**
 * The status after a check. A DNS error (SERVFAIL, time-out) proves nothing: a verified
 * domain stays verified and is looked at again soon; a pending or flagged one waits on,
 * within the same give-up.
 */
export function afterCheck(
  current: DomainState,
  summary: CheckSummary,
  nowMs: number,
  o: { readonly giveUpMs: number },
): Transition {
  const expired = nowMs - current.sinceMs >= o.giveUpMs;
  const become = (status: DomainStatus): DomainState => ({ status, sinceMs: nowMs });
  switch (current.status) {
    case 'not_started':
    case 'pending':
    case 'temporary_failure': {
      if (summary === 'all_found') return { state: become('verified'), next: 'later' };
      if (expired) return { state: become('failed'), next: 'stop' };
      // not_started only reaches the actor through a verify request, which makes it pending.
      const status = current.status === 'not_started' ? 'pending' : current.status;
      return { state: status === current.status ? current : become(status), next: 'soon' };
    }
    case 'verified':
      switch (summary) {
        case 'all_found':
          return { state: current, next: 'later' };
        case 'missing':
          return { state: become('temporary_failure'), next: 'soon' };
        case 'dns_error':
          return { state: current, next: 'soon' };
      }
      break;
    case 'failed':
      return { state: current, next: 'stop' };
  }
  throw new Error(`unknown domain status ${String(current.status)}`);
}

/** The status shown for each record after a check, given the domain's new status. */
export function recordStatus(finding: RecordFinding, domain: DomainStatus): RecordStatus {
  switch (finding) {
    case 'found':
      return 'verified';
    case 'dns_error':
      return 'temporary_failure';
    case 'missing':
      switch (domain) {
        case 'failed':
          return 'failed';
        case 'temporary_failure':
        case 'verified':
          return 'temporary_failure';
        case 'pending':
        case 'not_started':
          return 'pending';
      }
  }
  throw new Error(`unknown finding ${String(finding)}`);
}

/**
 * What a verify request does to the status now: a domain never verified, or failed, starts
 * pending afresh; one already pending, verified or flagged keeps its status (and its
 * give-up clock) and is simply checked again at once.
 */
export function onVerifyRequest(status: DomainStatus): 'start_pending' | 'check_now' {
  switch (status) {
    case 'not_started':
    case 'failed':
      return 'start_pending';
    case 'pending':
    case 'verified':
    case 'temporary_failure':
      return 'check_now';
  }
}
