import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import type { Resend } from 'resend';
import { mxZone } from '../support/dns-server.js';
import { type Stack, startStack } from '../support/stack.js';
import { recipientsOf, sendText, settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

// The delivery console in a real browser: Debian's Chromium driven by playwright-core.
// Screenshots of each page land in test-results/console/ (the README shows them).
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = join('test-results', 'console');
const ADMIN_TOKEN = 'console-test-operator-token-0123456789';
const GMAIL_MX = '127.0.1.21';
const OTHER_MX = '127.0.1.22';

describe('the delivery console', () => {
  let stack: Stack;
  let resend: Resend;
  let browser: Browser;
  let page: Page;
  let bouncedId = '';
  let deliveredId = '';

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `the console test needs Chromium at ${CHROMIUM} (apt-get install chromium)`,
    );
    stack = await startStack({
      zones: {
        'gmail.test': { mx: [{ exchange: 'gmail-smtp-in.l.google.com', priority: 5 }] },
        'gmail-smtp-in.l.google.com': { a: [GMAIL_MX] },
        ...mxZone('other.test', OTHER_MX),
      },
      sinks: {
        [GMAIL_MX]: {
          rcpt: (address) =>
            address.startsWith('nobody@')
              ? {
                  code: 550,
                  message:
                    "5.1.1 The email account that you tried to reach does not exist. <script>alert('x')</script>",
                }
              : null,
        },
        [OTHER_MX]: {},
      },
      env: {
        POSTHORN_ADMIN_TOKEN: ADMIN_TOKEN,
        POSTHORN_TEMPORAL_UI_URL: 'http://127.0.0.1:8233',
      },
    });
    ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
    deliveredId = await sendText(resend, 'someone@gmail.test');
    bouncedId = await sendText(resend, 'nobody@gmail.test');
    await sendText(resend, 'reader@other.test');
    assert.equal((await settled(stack, deliveredId, 60_000))[0]!.state, 'delivered');
    assert.equal((await settled(stack, bouncedId, 60_000))[0]!.state, 'bounced');

    await mkdir(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  const url = (path: string) => `${stack.node.apiUrl}${path}`;
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  test('without a session the console is a sign-in page, and the operator routes want the token', async () => {
    const res = await fetch(url('/console'));
    assert.equal(res.status, 200);
    assert.match(await res.text(), /Operator token/);
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
    assert.equal((await fetch(url('/admin/events'))).status, 401);
    const wrong = await fetch(url('/console/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'token=not-the-token',
      redirect: 'manual',
    });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.headers.get('set-cookie'), null);
  });

  test('a session cookie reads the operator routes, but changes need the console header', async () => {
    const login = await fetch(url('/console/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${ADMIN_TOKEN}`,
      redirect: 'manual',
    });
    assert.equal(login.status, 303);
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    assert.match(login.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    assert.equal((await fetch(url('/admin/egress'), { headers: { cookie } })).status, 200);
    const pause = {
      target: { kind: 'sending_domain', value: 'acme.test' },
      reason: 'forged from another site',
    };
    const forged = await fetch(url('/admin/pauses'), {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json' },
      body: JSON.stringify(pause),
    });
    assert.equal(forged.status, 403);
    const pauses = (await (await fetch(url('/admin/pauses'), { headers: { cookie } })).json()) as {
      scopes: unknown[];
    };
    assert.deepEqual(pauses.scopes, []);
    const tampered = cookie.replace(/\.(.)/, (_m, c) => `.${c === 'A' ? 'B' : 'A'}`);
    assert.equal((await fetch(url('/admin/egress'), { headers: { cookie: tampered } })).status, 401);
  });

  test('sign in, search the log, open a message timeline with its Temporal link', async () => {
    await page.goto(url('/console'));
    await shot('0-sign-in');
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('#search-form');

    await page.fill('input[name=recipient]', 'nobody@gmail.test');
    await page.click('#search-form button[type=submit]');
    const row = page.locator('#results tbody tr', { hasText: 'bounced' });
    await row.first().waitFor();
    // The remote's reply is shown as text: its markup is not run or rendered.
    assert.match((await row.first().textContent()) ?? '', /5\.1\.1 The email account.*<script>/);
    assert.equal(await page.locator('#results script').count(), 0);
    await shot('1-search');

    await row.first().locator('a').click();
    await page.waitForSelector('#temporal-link');
    const text = (await page.locator('main').textContent()) ?? '';
    assert.match(text, new RegExp(bouncedId));
    assert.match(text, /queued/);
    assert.match(text, /bounced/);
    assert.match(text, /gmail-smtp-in\.l\.google\.com/);
    const href = (await page.locator('#temporal-link').getAttribute('href')) ?? '';
    assert.ok(href.startsWith('http://127.0.0.1:8233/namespaces/default/workflows?query='), href);
    assert.match(decodeURIComponent(href), new RegExp(`PosthornMessageIds="${bouncedId}"`));
    await shot('2-message');
  });

  test('health per provider and per IP counts what delivery_events holds', async () => {
    await page.goto(url('/console#/health?by=provider&hours=24'));
    const gmail = page.locator('main tbody tr', { hasText: 'google' });
    await gmail.first().waitFor();
    const cells = await gmail.first().locator('td').allTextContents();
    // Provider, delivered, deferred, bounced, failed, complaints, rates…
    assert.deepEqual(cells.slice(0, 6), ['google', '1', '0', '1', '0', '0']);
    assert.equal(cells[8], '50.0%', 'bounce rate');
    assert.ok((await page.locator('svg.chart rect').count()) >= 2, 'the chart draws the outcomes');
    await shot('3-health-provider');

    await page.goto(url('/console#/health?by=ip&hours=24'));
    await page.locator('main tbody tr', { hasText: '127.0.0.' }).first().waitFor();
    const byIp = await stack.db.query<{ ip: string; n: number }>(
      `SELECT ip, count(*)::int AS n FROM delivery_events WHERE event = 'delivered' GROUP BY ip`,
    );
    for (const { ip, n } of byIp.rows) {
      const cells = await page
        .locator('main table')
        .first()
        .locator('tr', { hasText: ip })
        .locator('td')
        .allTextContents();
      assert.equal(cells[1], String(n), `delivered from ${ip}`);
    }
    await shot('4-health-ip');
  });

  test('pause a sending domain from the console: its mail is held; resume: it flows', async () => {
    await page.goto(url('/console#/pauses'));
    await page.waitForSelector('#pause-form');
    await page.selectOption('#pause-form select[name=kind]', 'sending_domain');
    await page.fill('#pause-form input[name=value]', 'acme.test');
    await page.fill('#pause-form input[name=reason]', 'complaint spike under review');
    await page.click('#pause-form button[type=submit]');
    const row = page.locator('main tbody tr', { hasText: 'complaint spike under review' });
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /console:/);
    await shot('5-pauses');

    const held = await sendText(resend, 'held@other.test');
    await waitFor('the held message recorded as held', async () => {
      const r = await stack.db.query(`SELECT 1 FROM held_messages WHERE message_id = $1`, [held]);
      return r.rowCount ? true : undefined;
    });
    assert.equal((await recipientsOf(stack, held))[0]!.state, 'queued');
    assert.equal(
      stack.sinks[OTHER_MX]!.received.filter((m) => m.rcptTo.includes('held@other.test')).length,
      0,
    );

    await row.locator('button.resume').click();
    await page.locator('p.empty', { hasText: 'Nothing is paused.' }).waitFor();
    assert.equal((await settled(stack, held, 60_000))[0]!.state, 'delivered');
  });

  test('the trace page streams a delivery’s SMTP conversation as it happens', async () => {
    await page.goto(url('/console#/trace?domain=other.test'));
    await page.locator('#trace-state', { hasText: 'Tracing on node' }).waitFor();
    const id = await sendText(resend, 'traced@other.test');
    await page.locator('table.trace tr.client', { hasText: 'RCPT TO:<traced@other.test>' }).waitFor();
    await page.locator('table.trace tr.server', { hasText: '354' }).waitFor();
    assert.equal((await settled(stack, id, 60_000))[0]!.state, 'delivered');
    assert.equal(await page.locator('table.trace', { hasText: 'gmail' }).count(), 0);
    await shot('7-trace');
  });

  test('the egress page lists this node’s queues', async () => {
    await page.goto(url('/console#/egress'));
    await page.locator('main tbody tr', { hasText: 'google' }).first().waitFor();
    await shot('6-egress');
  });
});
