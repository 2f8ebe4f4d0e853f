import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import {
  CONSOLE_COOKIE,
  CONSOLE_SESSION_MS,
  consoleSession,
  cookieValue,
  sameSecret,
  validConsoleSession,
} from './operator-auth.js';

/**
 * The delivery console (docs/operations.md, "The delivery console"): a page served by the
 * node for support engineers and operators. It is static HTML, CSS and one script,
 * committed as they are (no build step); the script reads the operator routes (/admin/…)
 * with the session cookie that logging in with the operator token sets.
 */

const asset = (name: string) => readFileSync(new URL(`./console/${name}`, import.meta.url), 'utf8');
const PAGES = { app: asset('index.html'), login: asset('login.html') };
const STATIC: Record<string, { body: string; type: string }> = {
  'app.js': { body: asset('app.js'), type: 'text/javascript; charset=utf-8' },
  'app.css': { body: asset('app.css'), type: 'text/css; charset=utf-8' },
};

// The page loads nothing from elsewhere and may not be framed (clickjacking of the
// pause buttons); the Temporal Web UI is linked, not embedded.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

function html(reply: FastifyReply, status: number, body: string) {
  return reply.code(status).headers(SECURITY_HEADERS).type('text/html; charset=utf-8').send(body);
}

export interface ConsoleDeps {
  /** The operator token; without one there is no console (as there are no /admin routes). */
  readonly adminToken: string | null;
  readonly now: () => number;
}

export function registerConsole(app: FastifyInstance, deps: ConsoleDeps): void {
  const token = deps.adminToken;
  if (!token) return;
  const loggedIn = (cookie: string | undefined) => {
    const v = cookieValue(cookie, CONSOLE_COOKIE);
    return v !== undefined && validConsoleSession(v, token, deps.now());
  };
  const loginPage = (message: string) =>
    PAGES.login.replace('<!--message-->', message ? `<p class="error" role="alert">${message}</p>` : '');

  // Encapsulated, so the form parser exists only for these routes.
  app.register(async (scope) => {
    scope.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );

    scope.get('/console', async (req, reply) =>
      loggedIn(req.headers.cookie) ? html(reply, 200, PAGES.app) : html(reply, 200, loginPage('')),
    );

    scope.post('/console/login', async (req, reply) => {
      const given = (req.body as { token?: unknown } | undefined)?.token;
      if (typeof given !== 'string' || !sameSecret(given, token)) {
        return html(reply, 403, loginPage('That is not the operator token.'));
      }
      const session = consoleSession(token, deps.now() + CONSOLE_SESSION_MS);
      return reply
        .code(303)
        .header(
          'set-cookie',
          `${CONSOLE_COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${CONSOLE_SESSION_MS / 1000}`,
        )
        .header('location', '/console')
        .send();
    });

    scope.post('/console/logout', async (_req, reply) =>
      reply
        .code(303)
        .header('set-cookie', `${CONSOLE_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`)
        .header('location', '/console')
        .send(),
    );

    scope.get('/console/:asset', async (req, reply) => {
      const file = STATIC[(req.params as { asset: string }).asset];
      if (!file)
        return reply.code(404).send({ statusCode: 404, name: 'not_found', message: 'No such file.' });
      return reply.headers(SECURITY_HEADERS).type(file.type).send(file.body);
    });
  });
}
