import pg from 'pg';

/**
 * A dedicated connection that LISTENs on a channel (PostgreSQL NOTIFY) and calls `onNotify`
 * with each payload; it reconnects after errors. Notifications can be lost while it is
 * reconnecting, so callers also refresh on a timer.
 */
export function listen(
  connectionString: string,
  channel: string,
  onNotify: (payload: string) => void,
  onError: (err: unknown) => void,
) {
  let client: pg.Client | null = null;
  let stopped = false;
  let retry: NodeJS.Timeout | null = null;

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString });
    c.on('notification', (n) => {
      if (n.channel === channel) onNotify(n.payload ?? '');
    });
    c.on('error', (err) => {
      onError(err);
      scheduleReconnect();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      client = c;
    } catch (err) {
      onError(err);
      await c.end().catch(() => {});
      scheduleReconnect();
    }
  }

  function scheduleReconnect(): void {
    if (stopped || retry) return;
    client = null;
    // A second is short enough to miss little and long enough not to hammer a server that is down.
    retry = setTimeout(() => {
      retry = null;
      void connect();
    }, 1000);
  }

  void connect();
  return {
    async close(): Promise<void> {
      stopped = true;
      if (retry) clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}
