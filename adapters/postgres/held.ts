import type { HoldKey } from '../../core/routing/pauses.js';
import type { Db } from './db.js';

/** Messages held by a pause or by a pool without an eligible IP, so a change releases exactly those. */
export function heldStore(db: Db) {
  return {
    async hold(messageId: string, domain: string, key: HoldKey): Promise<void> {
      await db.query(
        `INSERT INTO held_messages (message_id, domain, scope, value) VALUES ($1, $2, $3, $4)
         ON CONFLICT (message_id, domain) DO UPDATE SET scope = EXCLUDED.scope, value = EXCLUDED.value, held_at = now()`,
        [messageId, domain, key.scope, key.value.toLowerCase()],
      );
    },

    async unhold(messageId: string, domain: string): Promise<void> {
      await db.query('DELETE FROM held_messages WHERE message_id = $1 AND domain = $2', [messageId, domain]);
    },

    /** The messages a pause holds (a message may be held for several of its domains). */
    async heldBy(key: HoldKey): Promise<string[]> {
      const r = await db.query<{ message_id: string }>(
        'SELECT DISTINCT message_id FROM held_messages WHERE scope = $1 AND value = $2',
        [key.scope, key.value.toLowerCase()],
      );
      return r.rows.map((x) => x.message_id);
    },

    /** Forgets the holds of a pause for these messages, once they have been released. */
    async clear(key: HoldKey, messageIds: readonly string[]): Promise<void> {
      await db.query(
        'DELETE FROM held_messages WHERE scope = $1 AND value = $2 AND message_id = ANY($3::uuid[])',
        [key.scope, key.value.toLowerCase(), messageIds],
      );
    },
  };
}

export type HeldStore = ReturnType<typeof heldStore>;
