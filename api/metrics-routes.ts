import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../adapters/metrics.js';
import { requireOperator } from './operator-auth.js';

/**
 * API request latency by route pattern and status (never the URL: ids would make a series
 * per message), and `GET /metrics` behind the operator token, like the /admin routes: the
 * route does not exist without POSTHORN_ADMIN_TOKEN.
 */
export function metricsPlugin(metrics: Metrics, adminToken: string | null): (app: FastifyInstance) => void {
  return (app) => {
    app.addHook('onResponse', async (req, reply) => {
      // Unmatched requests (404s) share one label value.
      const route = req.routeOptions.url ?? 'unmatched';
      metrics.requestServed(req.method, route, reply.statusCode, reply.elapsedTime / 1000);
    });
    if (!adminToken) return;
    app.get('/metrics', async (req, reply) => {
      requireOperator(req, adminToken, Date.now());
      const text = await metrics.text();
      return reply.header('content-type', metrics.registry.contentType).send(text);
    });
  };
}
