/**
 * Reading what a report wraps or encodes: a delivery report attached to a gateway's own
 * empty notice, ISO-2022-JP in a message/delivery-status part (Domino, Notes), mbox files of
 * several bounces, and the SMTP command named by Trend Micro and Yahoo layouts. Fixtures are
 * small copies of real layouts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMail, splitMbox } from '../../../adapters/mail-parser.js';
import { parseReport } from '../../../core/bounce/report/index.js';
import { phaseOf } from '../../../core/bounce/report/text.js';
import type { DsnReport } from '../../../core/bounce/report/types.js';

const CRLF = (ls: string[]): string => ls.join('\r\n');

// A Sendmail DSN (multipart/report) as a filtering gateway attaches it to its own notice.
const INNER_DSN = [
  'From: Mail Delivery Subsystem <MAILER-DAEMON@mta.int.example.co.jp>',
  'To: shironeko@cat.example.co.jp',
  'Subject: Returned mail: User unknown',
  'MIME-Version: 1.0',
  'Content-Type: multipart/report; report-type=delivery-status; boundary="IN"',
  '',
  '--IN',
  '',
  '   ----- The following addresses had permanent delivery errors -----',
  'kijitora@neko.example.org',
  '',
  '--IN',
  'Content-Type: message/delivery-status',
  '',
  'Reporting-MTA: dns; mta.int.example.co.jp',
  '',
  'Final-Recipient: RFC822; kijitora@neko.example.org',
  'Action: failed',
  'Status: 5.1.1',
  'Diagnostic-Code: smtp; 550 5.1.1 User unknown',
  '',
  '--IN',
  'Content-Type: text/rfc822-headers',
  '',
  'From: shironeko@cat.example.co.jp',
  'To: kijitora@neko.example.org',
  'Subject: Nyaan',
  '',
  '--IN--',
];

function gatewayNotice(attached: string[]): string {
  return CRLF([
    'From: Mail Delivery Subsystem <MAILER-DAEMON@example.co.jp>',
    'To: NotificationRecipients <NotificationRecipients@gw.example.co.jp>',
    'Subject: Returned mail: User unknown',
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="OUT"',
    '',
    '--OUT',
    'Content-Type: text/plain; charset="us-ascii"',
    '',
    'The original message was received at Thu Oct 13 15:22:22 2015',
    '',
    '----- The following addresses had permanent delivery errors -----',
    '',
    '--OUT',
    'Content-Type: message/rfc822',
    '',
    ...attached,
    '',
    '--OUT--',
    '',
  ]);
}

describe('a delivery report inside another notice', () => {
  it('reads the attached report when the notice itself names no reason', async () => {
    const r = parseReport(await parseMail(gatewayNotice(INNER_DSN))) as DsnReport;
    assert.equal(r.kind, 'dsn');
    assert.equal(r.format, 'embedded/rfc3464');
    assert.deepEqual(
      r.recipients.map((x) => [x.recipient, x.classification.category]),
      [['kijitora@neko.example.org', 'recipient_unknown']],
    );
  });

  it('does not read an attached message that is no report (the returned message)', async () => {
    const original = [
      'From: neko@example.org',
      'To: kijitora@example.jp',
      'Subject: about the outage',
      '',
      '----- The following addresses had permanent fatal errors -----',
      '<kijitora@example.jp>',
      '>>> RCPT To:<kijitora@example.jp>',
      '<<< 550 5.1.1 <kijitora@example.jp>... Invalid recipient',
    ];
    const r = parseReport(await parseMail(gatewayNotice(original)));
    if (r.kind === 'dsn') {
      assert.ok(r.recipients.every((x) => x.classification.category !== 'recipient_unknown'));
      assert.doesNotMatch(r.format, /^embedded/);
    }
  });

  it('keeps the notice when it gives a reason of its own (a bounce of a bounce)', async () => {
    const raw = CRLF([
      'From: MAILER-DAEMON@mx.example.net (Mail Delivery System)',
      'Subject: Undelivered Mail Returned to Sender',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
      '',
      '--B',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; mx.example.net',
      '',
      'Final-Recipient: rfc822; bounces@sender.example.com',
      'Action: failed',
      'Status: 5.2.2',
      'Diagnostic-Code: smtp; 552 5.2.2 Mailbox full',
      '',
      '--B',
      'Content-Type: message/rfc822',
      '',
      ...INNER_DSN,
      '',
      '--B--',
      '',
    ]);
    const r = parseReport(await parseMail(raw)) as DsnReport;
    assert.equal(r.format, 'rfc3464');
    assert.deepEqual(
      r.recipients.map((x) => [x.recipient, x.classification.category]),
      [['bounces@sender.example.com', 'mailbox_full']],
    );
  });
});

describe('ISO-2022-JP in a part without a charset', () => {
  it('decodes a Domino Diagnostic-Code and reads "not in the Domino Directory" as unknown user', async () => {
    const esc = '\x1b';
    // "ユーザー" … "は Domino ディレクトリには見つかりません。" in ISO-2022-JP (7-bit JIS).
    const jis = `${esc}$B%f!<%6!<${esc}(BNeko (kijitora@example.co.jp) ${esc}$B$O${esc}(B Domino ${esc}$B%G%#%l%/%H%j$K$O8+$D$+$j$^$;$s!#${esc}(B`;
    const raw = CRLF([
      'From: Postmaster <postmaster@example.co.jp>',
      'Subject: DELIVERY FAILURE',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="==0"',
      '',
      '--==0',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns;mx.example.co.jp',
      '',
      'Final-Recipient: rfc822;kijitora@example.co.jp',
      'Action: failed',
      'Status: 5.0.0',
      `Diagnostic-Code: X-Notes; ${jis}`,
      '',
      '--==0--',
      '',
    ]);
    const m = await parseMail(Buffer.from(raw, 'latin1'));
    const part = m.parts.find((p) => p.contentType === 'message/delivery-status');
    assert.match(part?.text ?? '', /Domino ディレクトリには見つかりません/);
    const r = parseReport(m) as DsnReport;
    assert.equal(r.recipients[0]?.classification.category, 'recipient_unknown');
    assert.equal(r.recipients[0]?.classification.ruleId, 'notes.not-in-directory');
  });

  it('leaves 8-bit content alone even if it quotes an escape sequence', async () => {
    const raw = Buffer.concat([
      Buffer.from(
        CRLF([
          'From: MAILER-DAEMON@mx.example.net',
          'Subject: Undelivered Mail',
          'MIME-Version: 1.0',
          'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
          '',
          '--B',
          'Content-Type: message/delivery-status',
          '',
          'Final-Recipient: rfc822; a@example.net',
          'Action: failed',
          'Diagnostic-Code: smtp; 550 caf',
        ]),
        'latin1',
      ),
      Buffer.from('é \x1b$B unknown user\r\n\r\n--B--\r\n', 'utf8'),
    ]);
    const m = await parseMail(raw);
    assert.match(m.parts[0]?.text ?? '', /café/);
  });
});

describe('mbox files', () => {
  it('splits at "From_" lines, even one right below a closing boundary', () => {
    const raw = Buffer.from(
      [
        'From MAILER-DAEMON  Thu Jul  2 12:05:05 2020',
        'Subject: first',
        '',
        'body one',
        '--b--',
        'From double-bounce@tr2.example.com  Thu Jul  2 12:05:05 2020',
        'Subject: second',
        '',
        'body two',
        '',
      ].join('\n'),
    );
    const parts = splitMbox(raw).map((b) => b.toString());
    assert.equal(parts.length, 2);
    assert.match(parts[0]!, /^Subject: first\n/);
    assert.match(parts[1]!, /^Subject: second\n/);
  });

  it('returns any other input whole', () => {
    const raw = Buffer.from(
      'Subject: x\n\nFrom here on, text.\nFrom MAILER-DAEMON  Thu Jul  2 12:05:05 2020\n',
    );
    assert.deepEqual(splitMbox(raw), [raw]);
  });
});

describe('the SMTP command in gateway layouts', () => {
  it('Trend Micro InterScan: "Sent <<< RCPT TO … Received >>> 550"', () => {
    assert.equal(
      phaseOf(
        'Sent <<< RCPT TO:<kijitora@example.co.jp>\nReceived >>> 550 5.1.1 <kijitora@example.co.jp>... user unknown',
      ),
      'rcpt',
    );
  });

  it('Yahoo: the command in brackets after the relayed reply', () => {
    assert.equal(
      phaseOf('Remote host said: 550 5.2.1 <kijitora@example.co.jp>... User Unknown [RCPT_TO]'),
      'rcpt',
    );
    assert.equal(phaseOf('Remote host said: 501 5.1.8 Sender address rejected [MAIL_FROM]'), 'mail');
  });
});
