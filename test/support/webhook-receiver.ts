import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  /** The raw body, as signed. */
  readonly body: string;
  readonly json: { type: string; created_at: string; data: Record<string, unknown> };
  /** When the body had arrived, ms since the epoch. */
  readonly at: number;
}

/** What to answer a request with; `hold` keeps the request open without an answer. */
export type ReceiverReply = { status: number; body?: string; headers?: Record<string, string> } | 'hold';

/**
 * A webhook endpoint on loopback: records every request by path and answers by script
 * (200 unless a path's script says otherwise).
 */
export interface WebhookReceiver {
  readonly url: (path: string) => string;
  readonly received: ReceivedWebhook[];
  script(path: string, reply: (req: ReceivedWebhook, nth: number) => ReceiverReply): void;
  on(path: string): ReceivedWebhook[];
  close(): Promise<void>;
}

export async function startWebhookReceiver(host = '127.0.0.1'): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const scripts = new Map<string, (req: ReceivedWebhook, nth: number) => ReceiverReply>();
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = (req.url ?? '/').split('?')[0]!;
      let json: ReceivedWebhook['json'];
      try {
        json = JSON.parse(body);
      } catch {
        json = { type: 'unparsable', created_at: '', data: {} };
      }
      const hook: ReceivedWebhook = { path, headers: req.headers, body, json, at: Date.now() };
      received.push(hook);
      const nth = (counts.get(path) ?? 0) + 1;
      counts.set(path, nth);
      const reply = scripts.get(path)?.(hook, nth) ?? { status: 200, body: 'ok' };
      if (reply === 'hold') return;
      res.writeHead(reply.status, { 'content-type': 'text/plain', ...reply.headers });
      res.end(reply.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (path) => `http://${host}:${port}${path}`,
    received,
    script: (path, reply) => void scripts.set(path, reply),
    on: (path) => received.filter((r) => r.path === path),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
