import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { QueueStats } from '../egress/dispatcher.js';
import { ApiError } from './errors.js';

export interface AdminRoutesDeps {
  /** The operator token (POSTHORN_ADMIN_TOKEN); admin routes do not exist without one. */
  readonly adminToken: string | null;
  readonly egressStats: () => QueueStats[];
}

const digest = (s: string) => createHash('sha256').update(s).digest();

function requireOperator(req: FastifyRequest, token: string): void {
  const given = req.headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (!given) throw new ApiError(401, 'missing_api_key', 'Missing API key in the authorization header.');
  // Compare digests: equal length whatever was sent, so the comparison time says nothing.
  if (!timingSafeEqual(digest(given), digest(token)))
    throw new ApiError(403, 'invalid_api_key', 'API key is invalid.');
}

/** Operator routes: the node's view of its own egress, for debugging delivery by IP and site. */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminRoutesDeps): void {
  const token = deps.adminToken;
  if (!token) return;
  app.get('/admin/egress', async (req) => {
    requireOperator(req, token);
    return { object: 'list', data: deps.egressStats() };
  });
}
