import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { simpleParser } from 'mailparser';
import type { Resend } from 'resend';
import { MESSAGE_TASK_QUEUE } from '../../adapters/temporal.js';
import { DEFAULT_RETRY_SCHEDULE } from '../../core/delivery/retry-schedule.js';
import type { MessageWorkflowInput } from '../../workflows/contract.js';
import { mxZone } from '../support/dns-server.js';
import { type Stack, startStack } from '../support/stack.js';
import { tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

/**
 * Scheduled sends (get, cancel, reschedule, the Date header) and attachments fetched by URL,
 * through the resend SDK against a node on real parts: Temporal dev server, PostgreSQL, a
 * DNS server, an SMTP receiver on 127.0.1.1 and an HTTPS file server on 127.0.0.1 whose
 * certificate (made by openssl for this run) the node trusts through POSTHORN_MTA_STS_CA.
 */

const MX = '127.0.1.1';
/** Coarse, for a busy machine: how far a receipt may precede the scheduled time, ms. */
const EARLY_MARGIN_MS = 1_500;

const pdf = randomBytes(70_000);
const text = Buffer.from('quarterly figures\r\n'.repeat(100));

let dir: string;
let files: Server;
let filesPort: number;
const fileHits = new Map<string, number>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'posthorn-files-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=posthorn attachment test',
      '-addext',
      'subjectAltName=DNS:files.test,DNS:private.test',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  files = createServer(
    { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
    (req, res) => {
      fileHits.set(req.url ?? '', (fileHits.get(req.url ?? '') ?? 0) + 1);
      switch (req.url) {
        case '/report.pdf':
          res.writeHead(200, { 'content-type': 'application/pdf' }).end(pdf);
          return;
        case '/notes.txt':
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
          return;
        case '/moved':
          res.writeHead(302, { location: '/report.pdf' }).end();
          return;
        default:
          res.writeHead(404).end();
      }
    },
  );
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  filesPort = (files.address() as AddressInfo).port;
});

after(async () => {
  await new Promise((resolve) => files?.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/**
 * A move or cancel answered 503 (the message's workflow not started yet: the start sweeper
 * hands it over within seconds) is tried again after its Retry-After, as a client does.
 */
async function untilStarted<T extends { error: { statusCode: number | null } | null }>(
  call: () => Promise<T>,
): Promise<T> {
  for (let tries = 1; ; tries++) {
    const r = await call();
    if (r.error?.statusCode !== 503 || tries >= 30) return r;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

describe('scheduled sends and attachments by URL', () => {
  let stack: Stack;
  let resend: Resend;
  let other: Resend;

  before(async () => {
    stack = await startStack({
      zones: {
        ...mxZone('rcpt.test', MX),
        'files.test': { a: ['127.0.0.1'] },
        // A public-looking name for a private address: the egress guard refuses it.
        'private.test': { a: ['10.0.0.1'] },
      },
      sinks: { [MX]: {} },
      env: { POSTHORN_MTA_STS_CA: join(dir, 'cert.pem') },
    });
    ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
    ({ resend: other } = await tenantClient(stack, 'globex', 'globex.test'));
  });

  after(async () => {
    await stack?.stop();
  });

  const received = (rcpt: string) => stack.sinks[MX]!.received.filter((m) => m.rcptTo.includes(rcpt));
  const arrival = (rcpt: string) => waitFor(`mail for ${rcpt}`, async () => received(rcpt)[0], 60_000);
  const messageCount = async () =>
    Number((await stack.db.query<{ n: string }>('SELECT count(*) AS n FROM messages')).rows[0]!.n);

  async function send(options: Parameters<Resend['emails']['send']>[0]): Promise<string> {
    const { data, error } = await resend.emails.send(options);
    assert.equal(error, null, JSON.stringify(error));
    return data!.id;
  }

  test('a scheduled email shows scheduled_at and last_event scheduled; natural language is understood', async () => {
    const before = Date.now();
    const id = await send({
      from: 'hello@acme.test',
      to: 'later@rcpt.test',
      subject: 'later',
      text: 'x',
      scheduledAt: 'in 1 hour',
    });
    const { data, error } = await resend.emails.get(id);
    assert.equal(error, null);
    assert.equal(data!.last_event, 'scheduled');
    const at = Date.parse(data!.scheduled_at!);
    assert.ok(at >= before + 3_600_000 && at <= Date.now() + 3_600_000, data!.scheduled_at!);
    const listed = await resend.emails.list();
    assert.equal(listed.data!.data.find((e) => e.id === id)?.last_event, 'scheduled');
  });

  test('a canceled email is canceled for good and never reaches the receiver', async () => {
    const sendAt = Date.now() + 5_000;
    const id = await send({
      from: 'hello@acme.test',
      to: 'canceled@rcpt.test',
      subject: 'never',
      text: 'x',
      scheduledAt: new Date(sendAt).toISOString(),
    });
    // Another tenant's key finds no such email.
    const foreign = await other.emails.cancel(id);
    assert.equal(foreign.error?.statusCode, 404);
    assert.equal(foreign.error?.name, 'not_found');
    const foreignMove = await other.emails.update({ id, scheduledAt: 'in 1 hour' });
    assert.equal(foreignMove.error?.statusCode, 404);

    const { data, error } = await untilStarted(() => resend.emails.cancel(id));
    assert.equal(error, null, JSON.stringify(error));
    assert.deepEqual(data, { object: 'email', id });
    assert.equal((await resend.emails.get(id)).data!.last_event, 'canceled');
    // Final: it can be neither canceled again nor moved.
    const again = await untilStarted(() => resend.emails.cancel(id));
    assert.equal(again.error?.statusCode, 422);
    const moved = await untilStarted(() => resend.emails.update({ id, scheduledAt: 'in 1 min' }));
    assert.equal(moved.error?.statusCode, 422);

    // Past its original time, and past a message scheduled after it: nothing arrived.
    const witness = await send({
      from: 'hello@acme.test',
      to: 'witness@rcpt.test',
      subject: 'witness',
      text: 'x',
      scheduledAt: new Date(sendAt + 2_000).toISOString(),
    });
    await arrival('witness@rcpt.test');
    assert.ok(Date.now() > sendAt);
    assert.equal(received('canceled@rcpt.test').length, 0);
    assert.equal((await resend.emails.get(id)).data!.last_event, 'canceled');
    const states = await stack.db.query('SELECT state FROM recipients WHERE message_id = $1', [id]);
    assert.deepEqual(states.rows, [{ state: 'canceled' }]);
    assert.notEqual((await resend.emails.get(witness)).data!.last_event, 'scheduled');
  });

  test('a rescheduled email arrives after its new time, not its old one, dated when it was sent', async () => {
    const acceptedAt = Date.now();
    const id = await send({
      from: 'hello@acme.test',
      to: 'moved@rcpt.test',
      subject: 'moved',
      text: 'x',
      scheduledAt: new Date(acceptedAt + 4_000).toISOString(),
    });
    const newAt = Date.now() + 12_000;
    const { data, error } = await untilStarted(() =>
      resend.emails.update({ id, scheduledAt: new Date(newAt).toISOString() }),
    );
    assert.equal(error, null, JSON.stringify(error));
    assert.deepEqual(data, { object: 'email', id });
    assert.equal(Date.parse((await resend.emails.get(id)).data!.scheduled_at!), newAt);

    const mail = await arrival('moved@rcpt.test');
    assert.ok(mail.dotAt >= newAt - EARLY_MARGIN_MS, `arrived ${newAt - mail.dotAt} ms before its new time`);
    const parsed = await simpleParser(mail.data);
    // The Date field has whole seconds: the send time, not the acceptance 12 s earlier.
    const dated = parsed.date!.getTime();
    assert.ok(dated >= newAt - EARLY_MARGIN_MS - 1_000, `dated ${new Date(dated).toISOString()}`);
    assert.ok(dated <= mail.dotAt, `dated ${new Date(dated).toISOString()} after its arrival`);
    await waitFor('delivered', async () =>
      (await resend.emails.get(id)).data!.last_event === 'delivered' ? true : undefined,
    );
    // Sent: it can no longer be moved or canceled.
    assert.equal(
      (await untilStarted(() => resend.emails.update({ id, scheduledAt: 'in 1 hour' }))).error?.statusCode,
      422,
    );
    assert.equal((await untilStarted(() => resend.emails.cancel(id))).error?.statusCode, 422);
  });

  test('a scheduled send from an earlier version (a start delay, no scheduledAtMs) is refused with a 422, at once', async () => {
    const id = await send({
      from: 'hello@acme.test',
      to: 'old@rcpt.test',
      subject: 'old',
      text: 'x',
      scheduledAt: 'in 1 hour',
    });
    // Its workflow as earlier versions started it: the input has no scheduledAtMs, and
    // Temporal holds the first workflow task back until the time.
    const connection = await Connection.connect({ address: stack.temporalAddress });
    try {
      const client = new Client({ connection });
      await client.workflow.getHandle(id).terminate('replaced by an earlier-version start');
      const input: MessageWorkflowInput = {
        messageId: id,
        recipients: ['old@rcpt.test'],
        acceptedAtMs: Date.now() + 3_600_000,
        retry: DEFAULT_RETRY_SCHEDULE,
        egressTaskQueue: 'posthorn-egress-local',
      };
      const old = await client.workflow.start('messageWorkflow', {
        taskQueue: MESSAGE_TASK_QUEUE,
        workflowId: id,
        workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        args: [input],
        startDelay: '1h',
      });
      const historyBefore = (await old.describe()).historyLength;
      const canceled = await untilStarted(() => resend.emails.cancel(id));
      assert.equal(canceled.error?.statusCode, 422, JSON.stringify(canceled.error));
      const moved = await untilStarted(() => resend.emails.update({ id, scheduledAt: 'in 2 hours' }));
      assert.equal(moved.error?.statusCode, 422, JSON.stringify(moved.error));
      // Neither reached the workflow: an update would have had its first workflow task run
      // before its time, and the delivery with it.
      assert.equal((await old.describe()).historyLength, historyBefore);
      await old.terminate('test over');
    } finally {
      await connection.close();
    }
  });

  test('an email that was not scheduled cannot be canceled', async () => {
    const id = await send({ from: 'hello@acme.test', to: 'now@rcpt.test', subject: 'now', text: 'x' });
    const { error } = await untilStarted(() => resend.emails.cancel(id));
    assert.equal(error?.statusCode, 422);
    assert.equal(error?.name, 'validation_error');
  });

  test('attachments by URL are fetched once and arrive intact, typed by the server when not given', async () => {
    const base = `https://files.test:${filesPort}`;
    await send({
      from: 'hello@acme.test',
      to: 'files@rcpt.test',
      subject: 'files',
      text: 'attached',
      attachments: [
        { path: `${base}/report.pdf`, filename: 'Q3 report.pdf' },
        { path: `${base}/notes.txt` },
        { content: Buffer.from('inline bytes').toString('base64'), filename: 'inline.txt' },
      ],
    });
    const hits = fileHits.get('/report.pdf');
    const parsed = await simpleParser((await arrival('files@rcpt.test')).data);
    const byName = new Map(parsed.attachments.map((a) => [a.filename, a]));
    assert.deepEqual([...byName.keys()].sort(), ['Q3 report.pdf', 'inline.txt', 'notes.txt']);
    assert.ok(byName.get('Q3 report.pdf')!.content.equals(pdf));
    assert.equal(byName.get('Q3 report.pdf')!.contentType, 'application/pdf');
    assert.ok(byName.get('notes.txt')!.content.equals(text));
    assert.equal(byName.get('notes.txt')!.contentType, 'text/plain');
    assert.equal(byName.get('inline.txt')!.content.toString(), 'inline bytes');
    // Fetched at accept, not again at delivery.
    assert.equal(fileHits.get('/report.pdf'), hits);
  });

  test('an attachment URL on a private address, behind a redirect or missing is a 422 and nothing is stored', async () => {
    const before = await messageCount();
    for (const [path, why] of [
      [`https://private.test:${filesPort}/report.pdf`, /not a public address/],
      [`https://10.0.0.1:${filesPort}/report.pdf`, /not a public address/],
      [`https://files.test:${filesPort}/moved`, /HTTP 302, redirects are not followed/],
      [`https://files.test:${filesPort}/missing`, /HTTP 404/],
      [`http://files.test:${filesPort}/report.pdf`, /only https/],
    ] as const) {
      const { error } = await resend.emails.send({
        from: 'hello@acme.test',
        to: 'refused@rcpt.test',
        subject: 'refused',
        text: 'x',
        attachments: [{ path, filename: 'a.pdf' }],
      });
      assert.equal(error?.statusCode, 422, path);
      assert.equal(error?.name, 'invalid_attachment', path);
      assert.match(error!.message, why);
    }
    const batch = await resend.batch.send([
      { from: 'hello@acme.test', to: 'refused@rcpt.test', subject: 'ok', text: 'x' },
      {
        from: 'hello@acme.test',
        to: 'refused@rcpt.test',
        subject: 'refused',
        text: 'x',
        attachments: [{ path: `https://private.test:${filesPort}/report.pdf` }],
      } as never,
    ]);
    assert.equal(batch.error?.statusCode, 422);
    assert.equal(await messageCount(), before);
    await delay(500);
    assert.equal(received('refused@rcpt.test').length, 0);
  });

  test('batch sends take attachments, by content and by URL', async () => {
    const { data, error } = await resend.batch.send([
      {
        from: 'hello@acme.test',
        to: 'batch1@rcpt.test',
        subject: 'b1',
        text: 'x',
        attachments: [{ path: `https://files.test:${filesPort}/report.pdf` }],
      },
      {
        from: 'hello@acme.test',
        to: 'batch2@rcpt.test',
        subject: 'b2',
        text: 'x',
        attachments: [{ content: Buffer.from('second').toString('base64'), filename: 'b.txt' }],
      },
    ] as never);
    assert.equal(error, null, JSON.stringify(error));
    assert.equal(data!.data.length, 2);
    const first = await simpleParser((await arrival('batch1@rcpt.test')).data);
    assert.ok(first.attachments[0]!.content.equals(pdf));
    assert.equal(first.attachments[0]!.filename, 'report.pdf');
    const second = await simpleParser((await arrival('batch2@rcpt.test')).data);
    assert.equal(second.attachments[0]!.content.toString(), 'second');
  });
});
