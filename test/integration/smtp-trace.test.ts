import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Resend } from 'resend';
import type { SmtpTraceLine } from '../../adapters/live-smtp-trace.js';
import { mxZone } from '../support/dns-server.js';
import { type Stack, startStack } from '../support/stack.js';
import { settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const BIN = fileURLToPath(new URL('../../bin/posthorn.mjs', import.meta.url));
const ADMIN_TOKEN = 'trace-test-operator-token-0123456789';
const SECRET_BODY = 'the-body-never-appears-in-a-trace';

describe('live SMTP trace', () => {
  let stack: Stack;
  let acme: Resend;
  let globex: Resend;
  const children: ChildProcess[] = [];

  before(async () => {
    stack = await startStack({
      zones: { ...mxZone('trace.test', '127.0.1.31'), ...mxZone('other.test', '127.0.1.32') },
      sinks: { '127.0.1.31': {}, '127.0.1.32': {} },
      env: { POSTHORN_ADMIN_TOKEN: ADMIN_TOKEN },
    });
    ({ resend: acme } = await tenantClient(stack, 'acme', 'acme.test'));
    ({ resend: globex } = await tenantClient(stack, 'globex', 'globex.test'));
  });

  after(async () => {
    for (const c of children) c.kill('SIGTERM');
    await stack?.stop();
  });

  async function send(r: Resend, from: string, to: string): Promise<string> {
    const { data, error } = await r.emails.send({ from, to, subject: 'trace', text: SECRET_BODY });
    if (error) throw new Error(error.message);
    await settled(stack, data!.id, 60_000);
    return data!.id;
  }

  /** GET /admin/trace as a stream; lines collect until `stop`. */
  async function traceOverHttp(query: string) {
    const lines: SmtpTraceLine[] = [];
    const stop = new AbortController();
    const res = await fetch(`${stack.node.apiUrl}/admin/trace?${query}`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      signal: stop.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    let pending = '';
    let header: unknown;
    const pump = (async () => {
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        pending += decoder.decode(value, { stream: true });
        for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
          const text = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (!text) continue;
          const record = JSON.parse(text);
          if ('node' in record) header = record;
          else lines.push(record);
        }
      }
    })();
    await waitFor('the trace to start', async () => header);
    return {
      lines,
      async stop() {
        stop.abort();
        await pump;
      },
    };
  }

  test('posthorn trace --domain shows that domain’s conversations, set-up first, and nothing else', async () => {
    const out: string[] = [];
    const child = spawn(process.execPath, [BIN, 'trace', '--domain', 'trace.test'], { env: stack.node.env });
    children.push(child);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => out.push(...chunk.split('\n').filter(Boolean)));
    await waitFor('the trace command to start', async () =>
      out.some((l) => l.startsWith('tracing SMTP on node')) ? true : undefined,
    );

    const id = await send(acme, 'hello@acme.test', 'reader@trace.test');
    await send(acme, 'hello@acme.test', 'reader@other.test');
    await waitFor('the final reply in the trace', async () =>
      out.some((l) => l.includes(id.slice(0, 8)) && / < 250 /.test(l) && /queued|Ok|OK|Accepted/i.test(l))
        ? true
        : undefined,
    );
    const text = out.join('\n');
    assert.match(text, / > EHLO /, 'the session set-up is shown');
    assert.match(text, / > MAIL FROM:</);
    assert.match(text, / > RCPT TO:<reader@trace\.test>/);
    assert.match(text, / < 354 /);
    assert.doesNotMatch(text, /other\.test/, 'another domain’s delivery is not shown');
    assert.doesNotMatch(text, new RegExp(SECRET_BODY), 'message data is never traced');
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0);
  });

  test('a tenant filter shows only that tenant’s transactions; an IP filter only that IP’s sessions', async () => {
    const byTenant = await traceOverHttp('tenant=globex');
    const byIp = await traceOverHttp('ip=127.0.0.3');
    const everything = await traceOverHttp('');
    const acmeIds: string[] = [];
    const globexIds: string[] = [];
    for (let i = 0; i < 4; i++) {
      acmeIds.push(await send(acme, 'hello@acme.test', `a${i}@other.test`));
      globexIds.push(await send(globex, 'hi@globex.test', `g${i}@trace.test`));
    }
    await waitFor('every globex transaction in the trace', async () =>
      globexIds.every((id) => byTenant.lines.some((l) => l.tag?.messageId === id && l.direction === 'server'))
        ? true
        : undefined,
    );
    await waitFor('every transaction in the unfiltered trace', async () =>
      [...acmeIds, ...globexIds].every((id) => everything.lines.some((l) => l.tag?.messageId === id))
        ? true
        : undefined,
    );
    for (const l of byTenant.lines) {
      if (l.tag) assert.ok(globexIds.includes(l.tag.messageId), `only globex transactions: ${l.text}`);
    }
    assert.ok(
      byTenant.lines.every((l) => !l.text.includes('acme.test')),
      'no line of an acme transaction',
    );
    const fromIp3 = everything.lines.filter((l) => l.ip === '127.0.0.3').length;
    assert.ok(fromIp3 > 0, 'some sessions came from 127.0.0.3');
    assert.ok(byIp.lines.length > 0 && byIp.lines.every((l) => l.ip === '127.0.0.3'));
    for (const t of [byTenant, byIp, everything]) await t.stop();
  });

  test('the trace wants the operator token', async () => {
    assert.equal((await fetch(`${stack.node.apiUrl}/admin/trace`)).status, 401);
    const wrong = await fetch(`${stack.node.apiUrl}/admin/trace?tenant=nobody`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    assert.equal(wrong.status, 422);
  });
});
