import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mxZone } from '../support/dns-server.js';
import { type Stack, startStack } from '../support/stack.js';
import { tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const MX = '127.0.1.1';
const ADMIN_TOKEN = 'hostile-input-operator-token-0123';

/**
 * Bad and hostile input gets a clear 4xx and loses nothing: no 5xx, always a JSON error body
 * in Resend's shape, and nothing stored or sent for a refused request (docs/reliability.md,
 * "Hostile input").
 */
describe('hostile input', () => {
  let stack: Stack;
  let key: string;

  before(async () => {
    stack = await startStack({
      zones: mxZone('rcpt.test', MX),
      sinks: { [MX]: {} },
      env: { POSTHORN_ADMIN_TOKEN: ADMIN_TOKEN, POSTHORN_API_RATE: 'off' },
    });
    ({ key } = await tenantClient(stack, 'acme', 'acme.test'));
  });

  after(async () => {
    await stack?.stop();
  });

  async function call(
    method: string,
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; json: { statusCode?: number; name?: string; message?: string } }> {
    const res = await fetch(`${stack.node.apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${path.startsWith('/admin') ? ADMIN_TOKEN : key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined ? {} : { body }),
    }).catch((err: Error) => {
      // "fetch failed" alone names neither the request nor the socket's error.
      throw new Error(`${method} ${path.slice(0, 100)} (${path.length} chars): ${err.message}: ${err.cause}`);
    });
    const text = await res.text();
    let json: { statusCode?: number; name?: string; message?: string };
    try {
      json = JSON.parse(text);
    } catch {
      assert.fail(
        `${method} ${path}: HTTP ${res.status} with a body that is not JSON: ${text.slice(0, 200)}`,
      );
    }
    return { status: res.status, json };
  }

  const stored = async () =>
    Number((await stack.db.query<{ n: string }>('SELECT count(*) AS n FROM messages')).rows[0]!.n);

  const email = (over: Record<string, unknown> = {}) =>
    JSON.stringify({ from: 'App <app@acme.test>', to: 'r@rcpt.test', subject: 'hi', text: 'body', ...over });

  async function refused(
    method: string,
    path: string,
    body: string | undefined,
    status: number,
    headers: Record<string, string> = {},
  ) {
    const before = await stored();
    const r = await call(method, path, body, headers);
    assert.equal(r.status, status, `${method} ${path}: ${JSON.stringify(r.json)}`);
    assert.equal(r.json.statusCode, status);
    assert.equal(typeof r.json.name, 'string');
    assert.equal(await stored(), before, `${method} ${path}: nothing is stored`);
    return r.json;
  }

  test('NUL anywhere (body, batch item, path, query) is a 422 before the database sees it', async () => {
    await refused('POST', '/emails', email({ html: 'a\u0000b' }), 422);
    await refused('POST', '/emails', email({ text: '\u0000' }), 422);
    await refused('POST', '/emails', email({ tags: [{ name: 'k', value: 'v\u0000' }] }), 422);
    await refused('POST', '/emails/batch', `[${email()},${email({ html: 'x\u0000' })}]`, 422);
    await refused('POST', '/suppressions', JSON.stringify({ email: 'a@b.test', reason: 'x\u0000' }), 422);
    await refused('GET', '/suppressions/%00', undefined, 422);
    await refused('GET', '/admin/events?category=%00', undefined, 422);
    assert.equal(stack.sinks[MX]!.received.length, 0, 'no item of the refused batch was sent');
  });

  test('JSON nested 10,000 deep, with an Idempotency-Key, is a 422', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    await refused('POST', '/emails', `{"from":"a@acme.test","x":${deep}}`, 422, {
      'idempotency-key': 'deep-1',
    });
  });

  test('a path parameter is decoded once: /suppressions/%25 is not found, not an error', async () => {
    await refused('GET', '/suppressions/%25', undefined, 404);
    await refused('DELETE', '/suppressions/%25', undefined, 404);
  });

  test('a time range beyond any date is a 422', async () => {
    await refused('GET', '/admin/events?since=999999999h', undefined, 422);
  });

  test('limits: 50 recipients in to, cc and bcc together; a strict scheduled_at', async () => {
    const many = Array.from({ length: 30 }, (_, i) => `r${i}@rcpt.test`);
    await refused('POST', '/emails', email({ to: many.slice(0, 21), bcc: many }), 422);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString();
    await refused('POST', '/emails', email({ scheduled_at: `${tomorrow} and more` }), 422);
  });

  test('headers only receivers or resenders may write are refused; List-Unsubscribe-Post needs its URI', async () => {
    for (const name of [
      'Resent-From',
      'X-Spam-Flag',
      'Received-SPF',
      'Disposition-Notification-To',
      'Errors-To',
    ])
      await refused('POST', '/emails', email({ headers: { [name]: 'x@acme.test' } }), 422);
    await refused(
      'POST',
      '/emails',
      email({ headers: { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } }),
      422,
    );
    const ok = await call(
      'POST',
      '/emails',
      email({
        headers: {
          'List-Unsubscribe': '<https://acme.test/u/1>',
          'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        },
      }),
    );
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
  });

  test('poison messages: an unfoldable header line is a 422; a bare CR in a body is sent as a line end', async () => {
    const long = 'x'.repeat(2_000);
    await refused('POST', '/emails', email({ subject: long }), 422);
    await refused('POST', '/emails', email({ from: `${long} <app@acme.test>` }), 422);
    await refused('POST', '/emails', email({ headers: { 'X-Campaign': long } }), 422);
    const r = await call('POST', '/emails', email({ to: 'cr@rcpt.test', text: 'one\rtwo\r\nthree' }));
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const got = await waitFor('the message at the MX', async () =>
      stack.sinks[MX]!.received.find((m) => m.rcptTo.includes('cr@rcpt.test')),
    );
    const body = got.data.toString('latin1');
    assert.match(body, /one\r\ntwo\r\nthree/);
    assert.doesNotMatch(body, /\r(?!\n)/, 'no bare CR on the wire');
  });

  test('operator input: an IP must be an IP, an EHLO name a host name', async () => {
    await refused('POST', '/admin/ips', JSON.stringify({ address: 'not-an-ip', pool: 'shared' }), 422);
    await refused(
      'POST',
      '/admin/ips',
      JSON.stringify({ address: '127.0.0.9', pool: 'shared', ehlo_name: 'mta.acme.test\r\nMAIL FROM:<x>' }),
      422,
    );
  });

  test('a revoked key is refused at once', async () => {
    const { key: doomed } = await tenantClient(stack, 'beta', 'beta.test');
    const ok = await fetch(`${stack.node.apiUrl}/emails/00000000-0000-4000-8000-000000000000`, {
      headers: { authorization: `Bearer ${doomed}` },
    });
    assert.equal(ok.status, 404, 'the key works before');
    const list = await stack.node.cli(['keys', 'list', '--tenant', 'beta']);
    const id = list.trim().split(/\s+/)[0]!;
    assert.match(list, /active/);
    assert.doesNotMatch(list, new RegExp(doomed), 'the token is never shown again');
    await stack.node.cli(['keys', 'revoke', id]);
    assert.match(await stack.node.cli(['keys', 'list', '--tenant', 'beta']), /revoked/);
    const res = await fetch(`${stack.node.apiUrl}/emails/00000000-0000-4000-8000-000000000000`, {
      headers: { authorization: `Bearer ${doomed}` },
    });
    assert.equal(res.status, 403);
  });

  test('fuzz: 600 mutated requests over the routes, no 5xx and a JSON answer each, nothing stored when refused', async () => {
    // A seeded generator (mulberry32), so a failure reproduces with the same seed.
    let seed = 0x5eed1234;
    const rnd = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const weird: unknown[] = [
      '',
      '\u0000',
      'a\r\nBcc: x@evil.test',
      '\ud800',
      'é'.repeat(2_000),
      'x'.repeat(70_000),
      -1,
      1e308,
      Number.MAX_SAFE_INTEGER,
      true,
      null,
      [],
      {},
      [[[]]],
      { $ne: 1 },
      '<script>',
      '../../etc/passwd',
      '%00',
      '=?utf-8?b?AA==?=',
      'a@b',
      '@',
      '"a b"@c.test',
    ];
    const fields = [
      'from',
      'to',
      'cc',
      'bcc',
      'reply_to',
      'subject',
      'html',
      'text',
      'headers',
      'tags',
      'attachments',
      'scheduled_at',
    ];
    // A lone surrogate cannot be percent-encoded as UTF-8: send the invalid bytes themselves.
    const any = () => {
      const v = String(pick(weird));
      try {
        return encodeURIComponent(v);
      } catch {
        return '%ED%A0%80';
      }
    };
    const routes: [string, () => string, () => string | undefined][] = [
      ['POST', () => '/emails', () => email({ [pick(fields)]: pick(weird), [pick(fields)]: pick(weird) })],
      ['POST', () => '/emails/batch', () => `[${email({ [pick(fields)]: pick(weird) })}]`],
      ['POST', () => '/suppressions', () => JSON.stringify({ email: pick(weird), reason: pick(weird) })],
      ['GET', () => `/emails/${any()}`, () => undefined],
      ['GET', () => `/suppressions/${any()}`, () => undefined],
      ['GET', () => `/admin/events?since=${any()}&limit=${any()}&recipient=${any()}`, () => undefined],
      ['POST', () => '/emails', () => JSON.stringify(pick(weird))],
      ['POST', () => '/emails', () => `{"from": ${'{"a":'.repeat(50)}1${'}'.repeat(50)}}`],
      ['PATCH', () => `/emails/${any()}`, () => JSON.stringify({ scheduled_at: pick(weird) })],
      ['POST', () => `/emails/${any()}/cancel`, () => undefined],
      ['POST', () => '/domains', () => JSON.stringify({ name: pick(weird), region: pick(weird) })],
      ['GET', () => `/domains/${any()}`, () => undefined],
      ['PATCH', () => `/domains/${any()}`, () => JSON.stringify({ open_tracking: pick(weird) })],
      ['POST', () => `/domains/${any()}/verify`, () => undefined],
      ['DELETE', () => `/domains/${any()}`, () => undefined],
      ['POST', () => '/api-keys', () => JSON.stringify({ name: pick(weird), permission: pick(weird) })],
      ['DELETE', () => `/api-keys/${any()}`, () => undefined],
      ['POST', () => '/webhooks', () => JSON.stringify({ endpoint: pick(weird), events: pick(weird) })],
      ['GET', () => `/webhooks/${any()}/events?limit=${any()}`, () => undefined],
      [
        'PATCH',
        () => `/webhooks/${any()}`,
        () => JSON.stringify({ status: pick(weird), endpoint: pick(weird) }),
      ],
      ['POST', () => `/webhooks/${any()}/events/${any()}/replay`, () => undefined],
      ['GET', () => `/admin/messages/${any()}`, () => undefined],
      ['GET', () => `/admin/health?by=${any()}&hours=${any()}`, () => undefined],
    ];
    let accepted = 0;
    const before = await stored();
    for (let i = 0; i < 600; i++) {
      const [method, pathOf, body] = pick(routes);
      const path = pathOf();
      const r = await call(method, path, body());
      assert.ok(r.status < 500, `#${i} ${method} ${path}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
      if (r.status >= 400) {
        assert.equal(r.json.statusCode, r.status, `#${i} ${method} ${path}: ${JSON.stringify(r.json)}`);
        assert.equal(typeof r.json.name, 'string', `#${i} ${method} ${path}: an error name`);
      }
      if (r.status === 200 && method === 'POST' && (path === '/emails' || path === '/emails/batch'))
        accepted++;
    }
    // Every accepted request here carries one message (a single send or a batch of one).
    assert.equal(
      (await stored()) - before,
      accepted,
      'a message stored for each accepted request, none else',
    );
  });
});
