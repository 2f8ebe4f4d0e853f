import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseMail } from '../../../adapters/mail-parser.js';
import { parseReport } from '../../../core/bounce/report/index.js';
import type { DsnReport, ParsedMailLike } from '../../../core/bounce/report/types.js';

function textMail(from: string, subject: string, text: string): ParsedMailLike {
  return { headers: [{ name: 'from', value: from }], subject, text, parts: [] };
}

function dsn(m: ParsedMailLike): DsnReport {
  const r = parseReport(m);
  assert.equal(r.kind, 'dsn');
  return r as DsnReport;
}

describe('non-standard text bounces', () => {
  it('Exim: several recipients, reply after RCPT TO, and a delay warning', () => {
    const r = dsn(
      textMail(
        'Mail Delivery System <Mailer-Daemon@mx.example.net>',
        'Mail delivery failed: returning message to sender',
        [
          'This message was created automatically by mail delivery software.',
          '',
          'A message that you sent could not be delivered to one or more of its',
          'recipients. This is a permanent error. The following address(es) failed:',
          '',
          '  alice@example.org',
          '    SMTP error from remote mail server after RCPT TO:<alice@example.org>:',
          '    host mx.example.org [192.0.2.1]: 550 5.1.1 <alice@example.org>... User Unknown',
          '  bob@example.org',
          '    (ultimately generated from team@example.net)',
          '    SMTP error from remote mail server after MAIL FROM:<me@example.net> SIZE=1234:',
          '    host mx.example.org [192.0.2.1]: 553 sender refused',
          '',
          '------ This is a copy of the message, including all the headers. ------',
          '',
          'To: alice@example.org, bob@example.org',
          'Message-Id: <m1@example.net>',
        ].join('\n'),
      ),
    );
    assert.equal(r.format, 'exim');
    assert.deepEqual(
      r.recipients.map((x) => [x.recipient, x.replyCode, x.status, x.phase]),
      [
        ['alice@example.org', 550, '5.1.1', 'rcpt'],
        ['bob@example.org', 553, null, 'mail'],
      ],
    );
    assert.equal(r.originalMessageId, '<m1@example.net>');
    assert.deepEqual(r.originalRecipientHeaders, ['alice@example.org', 'bob@example.org']);
  });

  it('Exim: "retry timeout exceeded" after transport errors is expired', () => {
    const r = dsn(
      textMail(
        'Mail Delivery System <Mailer-Daemon@mx.example.net>',
        'Mail delivery failed: returning message to sender',
        'This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n  alice@example.org\n    retry timeout exceeded\n',
      ),
    );
    assert.equal(r.recipients[0]!.classification.category, 'expired');
  });

  it('qmail: one recipient per "<address>:" paragraph', () => {
    const r = dsn(
      textMail(
        'MAILER-DAEMON@mx.example.net',
        'failure notice',
        [
          'Hi. This is the qmail-send program at mx.example.net.',
          "I'm afraid I wasn't able to deliver your message to the following addresses.",
          "This is a permanent error; I've given up. Sorry it didn't work out.",
          '',
          '<alice@example.org>:',
          '192.0.2.1 does not like recipient.',
          'Remote host said: 550 5.1.1 <alice@example.org>... User Unknown',
          'Giving up on 192.0.2.1.',
          '',
          '<bob@example.org>:',
          "Sorry, I couldn't find any host named example.org. (#5.1.2)",
          '',
          '--- Below this line is a copy of the message.',
        ].join('\n'),
      ),
    );
    assert.equal(r.format, 'angle-list');
    assert.deepEqual(
      r.recipients.map((x) => [x.recipient, x.replyCode, x.status]),
      [
        ['alice@example.org', 550, '5.1.1'],
        ['bob@example.org', null, '5.1.2'],
      ],
    );
  });

  it('Postfix without a delivery-status part: folded "<address>: host said" line', () => {
    const r = dsn(
      textMail(
        'MAILER-DAEMON@mx.example.net (Mail Delivery System)',
        'Undelivered Mail Returned to Sender',
        'This is the mail system at host mx.example.net.\n\n<a@example.org>: host mx.example.org[192.0.2.1] said: 552 5.2.2 Mailbox\n    full (in reply to RCPT TO command)\n',
      ),
    );
    assert.equal(
      r.recipients[0]!.diagnostic,
      'host mx.example.org[192.0.2.1] said: 552 5.2.2 Mailbox full (in reply to RCPT TO command)',
    );
    assert.equal(r.recipients[0]!.phase, 'rcpt');
  });

  it('Sendmail transcript: RCPT then the reply', () => {
    const r = dsn(
      textMail(
        'Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>',
        'Returned mail: User unknown',
        '   ----- Transcript of session follows -----\n... while talking to mx.example.org.:\n>>> RCPT To:<c@example.org>\n<<< 550 5.1.1 <c@example.org>... User unknown\n550 <c@example.org>... User unknown\n\n   ----- Original message follows -----\n',
      ),
    );
    assert.equal(r.format, 'sendmail');
    assert.equal(r.recipients[0]!.recipient, 'c@example.org');
    assert.equal(r.recipients[0]!.replyCode, 550);
  });

  it('Gmail: recipient list and technical details', () => {
    const r = dsn(
      textMail(
        'Mail Delivery Subsystem <mailer-daemon@googlemail.com>',
        'Delivery Status Notification (Failure)',
        'Delivery to the following recipient failed permanently:\n\n     d@example.org\n\nTechnical details of permanent failure:\nGoogle tried to deliver your message, but it was rejected by the server for the recipient domain example.org by mx.example.org. [192.0.2.1].\n\nThe error that the other server returned was:\n550 5.2.1 The email account that you tried to reach is disabled.\n\n----- Original message -----\n',
      ),
    );
    assert.equal(r.format, 'gmail');
    assert.equal(r.recipients[0]!.recipient, 'd@example.org');
    assert.equal(r.recipients[0]!.replyCode, 550);
    assert.equal(r.recipients[0]!.status, '5.2.1');
  });

  it('DragonFly Mail Agent', () => {
    const r = dsn(
      textMail(
        'MAILER-DAEMON',
        'Mail delivery failed',
        'This is the DragonFly Mail Agent v0.13 at df.example.jp.\n\nThere was an error delivering your mail to <e@example.org>.\n\nmx.example.org [192.0.2.9] did not like our RCPT TO:\n550 5.1.1 <e@example.org>: Recipient address rejected: User unknown\n\nMessage headers follow.\n',
      ),
    );
    assert.equal(r.format, 'dragonfly');
    assert.equal(r.recipients[0]!.phase, 'rcpt');
    assert.equal(r.recipients[0]!.replyCode, 550);
  });

  it('Exchange 2003 "did not reach the following recipient(s)"', () => {
    const r = dsn(
      textMail(
        'System Administrator <postmaster@example.jp>',
        'Undeliverable: Hello',
        'Your message\n\n  To:      f@example.jp\n  Subject: Hello\n\ndid not reach the following recipient(s):\n\nf@example.jp on Thu, 29 Apr 2010 00:00:00 -0000\n    The recipient name is not recognized\n    MSEXCH:IMS:X:Y:Z 0 (000C05A6) Unknown Recipient\n',
      ),
    );
    assert.equal(r.format, 'exchange');
    assert.equal(r.recipients[0]!.recipient, 'f@example.jp');
    assert.match(r.recipients[0]!.diagnostic, /not recognized/);
  });

  it('Amazon SES bounce notification (JSON)', () => {
    const json = JSON.stringify({
      notificationType: 'Bounce',
      bounce: {
        bounceType: 'Permanent',
        bouncedRecipients: [
          {
            emailAddress: 'g@example.org',
            action: 'failed',
            status: '5.1.1',
            diagnosticCode: 'smtp; 550 5.1.1 user unknown',
          },
        ],
      },
    });
    const r = dsn(textMail('no-reply@sns.amazonaws.com', 'AWS Notification Message', json));
    assert.equal(r.format, 'amazonses');
    assert.deepEqual(
      [r.recipients[0]!.recipient, r.recipients[0]!.status, r.recipients[0]!.replyCode],
      ['g@example.org', '5.1.1', 550],
    );
  });

  it('Lotus Notes failure reasons', () => {
    const r = dsn(
      textMail(
        'postmaster@n.example.co.jp',
        'Undeliverable message',
        '------- Failure Reasons  --------\n\nUser not listed in public Name & Address Book\nh@example.co.jp\n\n------- Returned Message --------\n',
      ),
    );
    assert.equal(r.format, 'notes');
    assert.equal(r.recipients[0]!.diagnostic, 'User not listed in public Name & Address Book');
  });

  it('generic: a bounce in no known layout names the recipient from the returned message', () => {
    const r = dsn(
      textMail(
        'MMSC NDR Administrator <sysadmin@mms.example.com>',
        'Undeliverable Message',
        'Message could not be delivered to mobile.\nError: No valid recipients for this MM\n\nOriginal Message:\nFrom: me <me@example.jp>\nTo: 0000000000@mms.example.com\n',
      ),
    );
    assert.equal(r.format, 'generic');
    assert.equal(r.recipients[0]!.recipient, '0000000000@mms.example.com');
  });
});

describe('real corpus files', () => {
  const corpus = resolve(
    process.env.POSTHORN_BOUNCE_CORPUS ??
      join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/corpus/bounces'),
    'emails',
  );
  const load = async (name: string): Promise<ParsedMailLike> => parseMail(await readFile(join(corpus, name)));

  it('reads the raw delivery-status fields mailparser would fold into the text', async () => {
    const m = await load('rfc3464-01.eml');
    const ds = m.parts.find((p) => p.contentType === 'message/delivery-status');
    assert.match(ds?.text ?? '', /^Final-Recipient: RFC822; userunknown@bouncehammer.jp$/m);
    const r = dsn(m);
    assert.equal(r.recipients[0]!.status, '5.1.1');
    assert.equal(r.originalMessageId, '<E1C50F1B-1C83-4820-BC36-AC6FBFBE8568@example.org>');
  });

  it('Exim with two recipients', async () => {
    const m = await load('lhost-exim-02.eml');
    assert.deepEqual(
      dsn(m).recipients.map((x) => x.recipient),
      ['kijitora@example.jp', 'sabatora@example.jp'],
    );
  });

  it('qmail with two recipients', async () => {
    const m = await load('lhost-qmail-25.eml');
    assert.deepEqual(
      dsn(m).recipients.map((x) => [x.recipient, x.status]),
      [
        ['mailboxfull@libsisimai.net', '5.2.2'],
        ['userunknown@libsisimai.net', '5.1.1'],
      ],
    );
  });

  it('ARF with seven Original-Rcpt-To', async () => {
    const m = await load('arf-16.eml');
    const r = parseReport(m);
    assert.equal(r.kind === 'complaint' ? r.recipients.length : 0, 7);
  });
});
