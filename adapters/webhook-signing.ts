import { createHmac, randomBytes } from 'node:crypto';

/**
 * Webhook signatures as Svix and Standard Webhooks define them, which Resend's SDK verifies
 * (`resend.webhooks.verify`, the `standardwebhooks` package): the secret is `whsec_` +
 * base64 of random bytes, and each signature is `v1,` + base64 of HMAC-SHA256 over
 * `${id}.${timestamp}.${body}`, keyed with the secret's decoded bytes
 * (standardwebhooks.com, "Signature scheme"). Several signatures go space-separated in one
 * header, which is how a receiver holding either secret verifies during a rotation.
 */

const PREFIX = 'whsec_';
/** 24 random bytes, as Svix's secrets have (32 base64 characters). */
const SECRET_BYTES = 24;

export function newSigningSecret(): string {
  return PREFIX + randomBytes(SECRET_BYTES).toString('base64');
}

function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
}

/** One `v1,<base64>` signature of a delivery. `timestampSec` is Unix seconds. */
export function signWebhook(secret: string, id: string, timestampSec: number, body: string): string {
  const mac = createHmac('sha256', secretKey(secret))
    .update(`${id}.${timestampSec}.${body}`)
    .digest('base64');
  return `v1,${mac}`;
}

/**
 * The headers of one delivery attempt: Svix's names (what Resend sends and its SDK's users
 * read) and the Standard Webhooks aliases, signed with every secret in `secrets`.
 */
export function webhookHeaders(
  secrets: readonly string[],
  id: string,
  timestampSec: number,
  body: string,
): Record<string, string> {
  const signature = secrets.map((s) => signWebhook(s, id, timestampSec, body)).join(' ');
  const ts = String(timestampSec);
  return {
    'content-type': 'application/json',
    'svix-id': id,
    'svix-timestamp': ts,
    'svix-signature': signature,
    'webhook-id': id,
    'webhook-timestamp': ts,
    'webhook-signature': signature,
  };
}
