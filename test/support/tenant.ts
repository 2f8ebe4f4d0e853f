import { Resend } from 'resend';
import type { Stack } from './stack.js';
import { waitFor } from './wait.js';

/** Creates a tenant with a verified domain through the CLI and returns its SDK client. */
export async function tenantClient(
  stack: Stack,
  tenant: string,
  domain: string,
): Promise<{ key: string; resend: Resend }> {
  const key = (
    await stack.node.cli(['keys', 'create', '--tenant', tenant, '--domain', domain, '--verified'])
  ).trim();
  return { key, resend: new Resend(key, { baseUrl: stack.node.apiUrl }) };
}

export interface RecipientRow {
  address: string;
  state: string;
  attempts: number;
}

export async function recipientsOf(stack: Stack, messageId: string): Promise<RecipientRow[]> {
  const r = await stack.db.query<RecipientRow>(
    'SELECT address, state, attempts FROM recipients WHERE message_id = $1 ORDER BY idx',
    [messageId],
  );
  return r.rows;
}

/** Waits until no recipient of the message is queued or deferred; returns their rows. */
export async function settled(stack: Stack, messageId: string, timeoutMs = 30_000): Promise<RecipientRow[]> {
  return waitFor(
    `message ${messageId} to settle`,
    async () => {
      const rows = await recipientsOf(stack, messageId);
      return rows.length > 0 && rows.every((r) => r.state !== 'queued' && r.state !== 'deferred')
        ? rows
        : undefined;
    },
    timeoutMs,
  );
}

/** Sends a short text email through the SDK and returns its id; fails the test on an API error. */
export async function sendText(
  resend: Resend,
  to: string | string[],
  from = 'hello@acme.test',
): Promise<string> {
  const { data, error } = await resend.emails.send({ from, to, subject: 's', text: 't' });
  if (error) throw new Error(`send to ${to}: ${error.name}: ${error.message}`);
  return data!.id;
}
