/** A webhook's secrets as stored: the current one, and the one a rotation replaced. */
export interface WebhookSecrets {
  readonly signingSecret: string;
  readonly previousSecret: string | null;
  /** Until when the replaced secret still signs (24 h after the rotation). */
  readonly previousSecretUntil: Date | null;
}

/**
 * The secrets that sign a delivery at `nowMs`: the current one, and during a rotation's
 * grace period the replaced one too, so a receiver still holding it keeps verifying
 * (space-separated signatures, Standard Webhooks).
 */
export function signingSecrets(w: WebhookSecrets, nowMs: number): string[] {
  return w.previousSecret && w.previousSecretUntil && w.previousSecretUntil.getTime() > nowMs
    ? [w.signingSecret, w.previousSecret]
    : [w.signingSecret];
}
