/**
 * An SMTP reply the submission listener sends for a refusal: the code (RFC 5321 §4.2) and
 * text that starts with the enhanced status code (RFC 3463).
 */
export interface SubmissionReply {
  readonly code: number;
  readonly text: string;
}

export const reply = (code: number, text: string): SubmissionReply => ({ code, text });

/** Infrastructure trouble (the database, Temporal): the client keeps the message and retries. */
export const TRY_LATER = reply(451, '4.3.0 Temporarily unable to accept mail, try again later');

export const isSubmissionReply = (v: unknown): v is SubmissionReply =>
  typeof v === 'object' && v !== null && 'code' in v && 'text' in v;
