import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { runClassifyFiles } from '../../../bin/classify-files.js';

const DSN = [
  'From: Mail Delivery System <MAILER-DAEMON@mx.example.net>',
  'To: me@example.net',
  'Subject: Undelivered Mail Returned to Sender',
  'MIME-Version: 1.0',
  'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
  '',
  '--B',
  'Content-Type: text/plain',
  '',
  'The mail system',
  '',
  '--B',
  'Content-Type: message/delivery-status',
  '',
  'Reporting-MTA: dns; mx.example.net',
  '',
  'Final-Recipient: rfc822; a@example.org',
  'Action: failed',
  'Status: 5.1.1',
  'Diagnostic-Code: smtp; 550 5.1.1 <a@example.org>: User unknown',
  '',
  'Final-Recipient: rfc822; b@example.org',
  'Action: failed',
  'Status: 5.2.2',
  'Diagnostic-Code: smtp; 552 5.2.2 Mailbox full',
  '',
  '--B--',
  '',
].join('\r\n');

const PLAIN = 'From: friend@example.org\r\nTo: me@example.net\r\nSubject: Lunch?\r\n\r\nNoon?\r\n';

describe('runClassifyFiles', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'posthorn-classify-'));
    await writeFile(join(dir, 'dsn.eml'), DSN);
    await writeFile(join(dir, 'plain.eml'), PLAIN);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function runOn(paths: string[]): Promise<{ code: number; lines: Record<string, unknown>[] }> {
    const stdout = new PassThrough();
    const chunks: string[] = [];
    stdout.on('data', (c: Buffer) => chunks.push(c.toString()));
    const code = await runClassifyFiles(paths, { stdout, stderr: new PassThrough() });
    const lines = chunks
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    return { code, lines };
  }

  it('prints one line per recipient, a not_bounce line, and goes on past an unreadable file', async () => {
    const missing = join(dir, 'missing.eml');
    const { code, lines } = await runOn([join(dir, 'dsn.eml'), missing, join(dir, 'plain.eml')]);
    assert.equal(code, 1);
    assert.equal(lines.length, 4);
    assert.deepEqual(
      lines.slice(0, 2).map((l) => [l.recipient, l.status, l.replyCode]),
      [
        ['a@example.org', '5.1.1', 550],
        ['b@example.org', '5.2.2', 552],
      ],
    );
    for (const l of lines.slice(0, 2)) {
      assert.deepEqual(Object.keys(l).sort(), [
        'action',
        'category',
        'confidence',
        'diagnostic',
        'feedbackType',
        'file',
        'permanence',
        'recipient',
        'replyCode',
        'ruleId',
        'status',
      ]);
      assert.equal(l.permanence, 'permanent');
    }
    // Category (what happened) and action (what is done) side by side.
    assert.deepEqual(
      lines.slice(0, 2).map((l) => [l.category, l.action]),
      [
        ['recipient_unknown', 'suppress'],
        ['mailbox_full', 'fail'],
      ],
    );
    assert.equal(lines[2]!.file, missing);
    assert.equal(typeof lines[2]!.error, 'string');
    assert.equal(lines[3]!.category, 'not_bounce');
  });

  it('returns 0 when every file was read', async () => {
    const { code } = await runOn([join(dir, 'plain.eml')]);
    assert.equal(code, 0);
  });
});
