import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { type AdminRoutesDeps, registerAdminRoutes } from './admin.js';
import { type ApiKeyRoutesDeps, registerApiKeyRoutes } from './api-key-routes.js';
import { answerClientError } from './client-error.js';
import { registerConsole } from './console.js';
import { type DomainRoutesDeps, registerDomainRoutes } from './domains.js';
import { type EmailRoutesDeps, registerEmailRoutes } from './emails.js';
import { ApiError } from './errors.js';
import { inputProblem } from './input-guard.js';
import { registerScheduleRoutes, type ScheduleRoutesDeps } from './scheduled-emails.js';
import { registerSuppressionRoutes, type SuppressionRoutesDeps } from './suppressions.js';
import { isDependencyUnavailable } from './unavailable.js';
import { registerWebhookRoutes, type WebhookRoutesDeps } from './webhooks.js';

/** Name of each part (database, temporal, worker) → whether it is up. */
export type HealthCheck = () => Promise<Record<string, boolean>>;

export type ApiDeps = EmailRoutesDeps &
  ScheduleRoutesDeps &
  SuppressionRoutesDeps &
  AdminRoutesDeps &
  DomainRoutesDeps &
  ApiKeyRoutesDeps &
  WebhookRoutesDeps & {
    readonly health: HealthCheck;
    readonly logger: FastifyBaseLogger;
    /** Registered before the routes (hooks apply to them): metrics, tracing. */
    readonly plugins?: readonly ((app: FastifyInstance) => void)[];
  };

// Resend accepts 40 MB of email after base64 (Resend API reference,
// resend.com/docs/api-reference/emails/send-email: attachments); JSON adds a little.
const BODY_LIMIT_BYTES = 45 * 1024 * 1024;

const KNOWN_PATHS = [
  /^\/emails$/,
  /^\/emails\/batch$/,
  /^\/emails\/[^/]+$/,
  /^\/emails\/[^/]+\/cancel$/,
  /^\/suppressions(\/[^/]+|\/batch\/(add|remove))?$/,
  /^\/domains(\/[^/]+(\/verify)?)?$/,
  /^\/api-keys(\/[^/]+)?$/,
  /^\/health$/,
  /^\/console(\/(login|logout))?$/,
  /^\/webhooks(\/[^/]+(\/signing-secret\/rotate|\/events(\/[^/]+(\/attempts|\/replay)?)?)?)?$/,
];

export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger,
    disableRequestLogging: true,
    bodyLimit: BODY_LIMIT_BYTES,
    // Fastify's own handler closes at once, which can reset the answer away (api/client-error.ts).
    clientErrorHandler: answerClientError,
    // The router's own refusals (a path segment over its 100-character limit, a malformed
    // percent-escape) in Resend's shape, without echoing the path back.
    frameworkErrors: (err: FastifyError, _req: FastifyRequest, reply: FastifyReply) => {
      const status = err.statusCode ?? 400;
      const message =
        err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? 'A path segment is longer than 100 characters.'
          : 'The URL is not valid.';
      return reply.code(status).send({ statusCode: status, name: 'validation_error', message });
    },
    // The resend SDK concatenates base URL and path (`${baseUrl}${path}`), so a base URL
    // with a trailing slash sends "//emails".
    rewriteUrl: (req) => (req.url ?? '/').replace(/^\/{2,}/, '/'),
  });

  // The SDK sends Content-Type: application/json with an empty body on body-less calls
  // (the header is among its defaults for every request); that is "no body", not a syntax error.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return done(new ApiError(400, 'validation_error', 'The request body is not valid JSON.'), undefined);
    }
    const problem = inputProblem(parsed, 'body');
    if (problem) return done(new ApiError(422, 'validation_error', problem), undefined);
    done(null, parsed);
  });
  // The query string and path parameters, decoded, get the body's checks (a `%00` in a path
  // reaches a handler as NUL).
  app.addHook('preValidation', async (req) => {
    const problem = inputProblem(req.query, 'query') ?? inputProblem(req.params, 'path');
    if (problem) throw new ApiError(422, 'validation_error', problem);
  });

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    if (err instanceof ApiError) return reply.code(err.statusCode).send(err.toBody());
    const status = err.statusCode;
    if (status === 413) {
      return reply
        .code(413)
        .send({ statusCode: 413, name: 'validation_error', message: 'The request body is too large.' });
    }
    if (status === 415) {
      return reply
        .code(415)
        .send({ statusCode: 415, name: 'validation_error', message: 'Send the body as application/json.' });
    }
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send({ statusCode: status, name: 'validation_error', message: err.message });
    }
    if (isDependencyUnavailable(err)) {
      req.log.warn(
        { err, event: 'api.dependency_unavailable', url: req.url },
        'database or Temporal unavailable',
      );
      // Seconds; the dependency usually returns within a few.
      return reply.code(503).header('retry-after', '5').send({
        statusCode: 503,
        name: 'application_error',
        message: 'Temporarily unavailable, please retry shortly.',
      });
    }
    req.log.error({ err, event: 'api.unhandled_error', url: req.url }, 'request failed');
    return reply
      .code(500)
      .send({ statusCode: 500, name: 'application_error', message: 'An unexpected error occurred.' });
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    if (KNOWN_PATHS.some((p) => p.test(path))) {
      return reply.code(405).send({
        statusCode: 405,
        name: 'method_not_allowed',
        message: 'Method is not allowed for the requested path.',
      });
    }
    return reply
      .code(404)
      .send({ statusCode: 404, name: 'not_found', message: 'The requested endpoint does not exist.' });
  });

  for (const plugin of deps.plugins ?? []) plugin(app);

  app.get('/health', async (_req, reply) => {
    const parts = await deps.health();
    const ok = Object.values(parts).every(Boolean);
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', ...parts });
  });

  registerEmailRoutes(app, deps);
  registerScheduleRoutes(app, deps);
  registerSuppressionRoutes(app, deps);
  registerDomainRoutes(app, deps);
  registerApiKeyRoutes(app, deps);
  registerAdminRoutes(app, deps);
  registerConsole(app, deps);
  registerWebhookRoutes(app, deps);
  return app;
}
