import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The operator listener (POSTHORN_METRICS_PORT): `GET /metrics` and nothing else, so a
 * scraper can reach the metrics on an address the API is not served on. With an operator
 * token configured it asks for it, as the API port does; without one it answers anyone who
 * can reach the address (bind it to a private interface).
 */
export async function startMetricsServer(opts: {
  host: string;
  port: number;
  metrics: Metrics;
  token: string | null;
}): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if ((req.url ?? '').split('?')[0] !== '/metrics' || req.method !== 'GET') {
      res.writeHead(404).end();
      return;
    }
    if (opts.token) {
      const given = req.headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
      if (!given) return void res.writeHead(401).end();
      if (!timingSafeEqual(digest(given), digest(opts.token))) return void res.writeHead(403).end();
    }
    opts.metrics.text().then(
      (text) => res.writeHead(200, { 'content-type': opts.metrics.registry.contentType }).end(text),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
