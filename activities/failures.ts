import { ApplicationFailure } from '@temporalio/activity';

/**
 * The message's row is gone (deleted by hand, or a database restored from before it was
 * accepted): no retry can bring it back, so the activity fails for good and so does the
 * message's workflow, with this reason in the Temporal Web UI.
 */
export function messageMissing(messageId: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(`message ${messageId} is not in the database`, 'MessageMissing');
}
