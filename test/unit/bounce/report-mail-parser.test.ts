/**
 * adapters/mail-parser.ts on broken MIME structure: what mailparser alone reads as an empty
 * mail must still reach the report parser.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixTopBoundary, parseMail, refoldContentType } from '../../../adapters/mail-parser.js';
import { parseReport } from '../../../core/bounce/report/index.js';
import type { DsnReport } from '../../../core/bounce/report/types.js';

const CRLF = (ls: string[]): string => ls.join('\r\n');

describe('mail-parser on broken MIME', () => {
  it('folds a nested Content-Type whose boundary parameter sits at the margin', async () => {
    const raw = CRLF([
      'From: post_master@vtext.example.com',
      'To: sender@example.com',
      'Subject: Re:Test message',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/alternative;',
      'boundary="inner"',
      '',
      '--inner',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'Error: Invalid user address',
      '',
      'Error message below:',
      '550 - Requested action not taken: no such user here',
      '',
      'Message details:',
      '  RCPT TO: 0000000000@vtext.example.com',
      '',
      '--inner--',
      '',
      '--outer--',
      '',
    ]);
    assert.match(refoldContentType(raw), /multipart\/alternative;\r\n\tboundary="inner"/);
    const m = await parseMail(Buffer.from(raw));
    assert.match(m.text, /no such user here/);
    const r = parseReport(m) as DsnReport;
    assert.equal(r.kind, 'dsn');
    assert.deepEqual(
      r.recipients.map((x) => x.recipient),
      ['0000000000@vtext.example.com'],
    );
  });

  it('uses the boundary the body really has when the declared one never appears', async () => {
    const raw = CRLF([
      'From: MAILER-DAEMON@mail.example.co.jp (Mail Delivery System)',
      'Subject: Undelivered Mail Returned to Sender',
      'Auto-Submitted: auto-replied',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status;',
      '\tboundary="AA92C1B23442.1720293561/mail.example.co.jp"',
      '',
      '--AA92C1B23442.1528513261/mail.example.co.jp',
      'Content-Type: text/plain; charset=us-ascii',
      '',
      '<user@example.org>: host mx.example.org[192.0.2.26] said: 550 5.1.1 No such user',
      '    (in reply to RCPT TO command)',
      '',
      '--AA92C1B23442.1528513261/mail.example.co.jp',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mail.example.co.jp',
      '',
      'Final-Recipient: rfc822; user@example.org',
      'Action: failed',
      'Status: 5.1.1',
      '',
      '--AA92C1B23442.1528513261/mail.example.co.jp--',
      '',
    ]);
    assert.match(fixTopBoundary(raw) ?? '', /boundary="AA92C1B23442\.1528513261\/mail\.example\.co\.jp"/);
    const m = await parseMail(Buffer.from(raw));
    assert.deepEqual(
      m.parts.map((p) => p.contentType),
      ['message/delivery-status'],
    );
    // A DSN, not the auto-reply its Auto-Submitted header alone would suggest.
    const r = parseReport(m) as DsnReport;
    assert.equal(r.kind, 'dsn');
    assert.equal(r.recipients[0]!.classification.category, 'recipient_unknown');
  });

  it('falls back to the raw body when no boundary is there at all', async () => {
    const raw = CRLF([
      'From: PMDF e-Mail Interconnect <MAILER-DAEMON@example.com>',
      'Subject: Delivery Notification: Delivery has failed',
      'MIME-version: 1.0',
      'Content-type: multipart/report;',
      '    BOUNDARY="Boundary_(ID_0000)"; report-type=delivery-status',
      '',
      'Your message cannot be delivered to the following recipients:',
      '',
      'Reporting-MTA: dns; mailbox0.example.org',
      '',
      'Action: failed',
      'Status: 5.0.0 (Remote SMTP server has rejected address)',
      'Final-recipient: rfc822;alice@example.org',
      'Diagnostic-code: smtp; 550 5.7.1 550 User Unknown: alice@example.org',
      '',
      'Action: failed',
      'Status: 5.0.0 (Remote SMTP server has rejected address)',
      'Final-recipient: rfc822;bob@example.org',
      'Diagnostic-code: smtp; 550 5.7.1 550 User Unknown: bob@example.org',
      '',
    ]);
    const m = await parseMail(Buffer.from(raw));
    assert.equal(m.parts.length, 0);
    const r = parseReport(m) as DsnReport;
    assert.equal(r.kind, 'dsn');
    assert.deepEqual(
      r.recipients.map((x) => x.recipient),
      ['alice@example.org', 'bob@example.org'],
    );
  });

  it('leaves a well-formed mail alone', () => {
    const raw = CRLF(['Content-Type: text/plain; charset=us-ascii', '', 'boundary=not-a-header']);
    assert.equal(refoldContentType(raw), raw);
    assert.equal(fixTopBoundary(raw), null);
  });
});
