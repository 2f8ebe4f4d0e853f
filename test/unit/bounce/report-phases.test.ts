/**
 * Report-level behaviour that depends on more than the reply text: the SMTP command a reply
 * answered (pipelining, greeting refusals, post-DATA refusals), local delivery programs,
 * expiry against its cause, and the layouts added for OpenSMTPD, Postfix's smtpd
 * transcript and Sendmail's per-host sessions. Fixtures are small copies of real layouts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReport } from '../../../core/bounce/report/index.js';
import { findReply, phaseOf } from '../../../core/bounce/report/text.js';
import type { DsnReport, ParsedMailLike, RecipientReport } from '../../../core/bounce/report/types.js';

function mail(over: Partial<ParsedMailLike>): ParsedMailLike {
  return {
    headers: [{ name: 'from', value: 'Mail Delivery Subsystem <MAILER-DAEMON@mx.example.net>' }],
    subject: 'Returned mail: see transcript for details',
    text: '',
    parts: [],
    ...over,
  };
}

function dsn(m: ParsedMailLike): DsnReport {
  const r = parseReport(m);
  assert.equal(r.kind, 'dsn');
  return r as DsnReport;
}

function only(m: ParsedMailLike): RecipientReport {
  const r = dsn(m);
  assert.equal(r.recipients.length, 1);
  return r.recipients[0]!;
}

function status(fields: string[]): ParsedMailLike['parts'][number] {
  return {
    contentType: 'message/delivery-status',
    text: ['Reporting-MTA: dns; mx.example.net', '', ...fields, ''].join('\n'),
  };
}

describe('the SMTP command a reply answered', () => {
  it('Sendmail with PIPELINING: a refusal printed under >>> DATA answered RCPT TO', () => {
    // Sendmail sends RCPT TO and DATA together and prints the recipient's refusal under DATA;
    // the server's "503 Need RCPT" to DATA shows that the 550 answered RCPT TO.
    const transcript = [
      '... while talking to mx1.example.org.:',
      '>>> DATA',
      '<<< 550 5.0.0 <nobody@example.org>... User unknown',
      '550 5.1.1 <nobody@example.org>... User unknown',
      '<<< 503 5.0.0 Need RCPT (recipient)',
    ].join('\n');
    assert.equal(phaseOf(transcript), 'rcpt');
    assert.equal(phaseOf('>>> DATA\n<<< 550 5.7.1 Message refused\n'), 'data');
    const r = only(
      mail({
        text: [
          '   ----- The following addresses had permanent fatal errors -----',
          '<nobody@example.org>',
          '    (reason: 550 5.0.0 <nobody@example.org>... User unknown)',
          '',
          '   ----- Transcript of session follows -----',
          transcript,
        ].join('\n'),
        parts: [
          status([
            'Final-Recipient: RFC822; nobody@example.org',
            'Action: failed',
            'Status: 5.0.0',
            'Diagnostic-Code: SMTP; 550 5.0.0 <nobody@example.org>... User unknown',
          ]),
        ],
      }),
    );
    assert.equal(r.phase, 'rcpt');
    assert.equal(r.classification.category, 'recipient_unknown');
  });

  it('"User unknown" refused after end of DATA is a refusal of the message, not of the address', () => {
    const r = only(
      mail({
        parts: [
          status([
            'Final-Recipient: rfc822; user@example.jp',
            'Action: failed',
            'Status: 5.0.0',
            'Diagnostic-Code: smtp; 550 <user@example.jp>: User unknown (in reply to end of DATA command)',
          ]),
        ],
      }),
    );
    assert.equal(r.phase, 'dot');
    assert.equal(r.classification.category, 'policy');
    assert.equal(r.classification.ruleId, 'report.post-data-refusal');
  });

  it('Postfix "refused to talk to me": a vague refusal in the greeting is about the client IP', () => {
    const r = only(
      mail({
        text: [
          '<user@example.fr>: host smtp-in.example.fr[192.0.2.65] refused to talk to me:',
          '    554 mwinf5c10 ME Service refuse. Veuillez essayer plus tard. Service refused, please try later.',
        ].join('\n'),
        parts: [
          status([
            'Final-Recipient: rfc822; user@example.fr',
            'Action: failed',
            'Status: 5.0.0',
            'Diagnostic-Code: smtp; 554 mwinf5c10 ME Service refuse. Veuillez essayer plus tard.',
            '    Service refused, please try later.',
          ]),
        ],
      }),
    );
    assert.equal(r.phase, 'connect');
    assert.equal(r.classification.category, 'ip_blocked');
  });

  it('au (KDDI) "550 : User unknown" after RCPT TO is its receive-refusal filter', () => {
    const r = only(
      mail({
        parts: [
          status([
            'Final-Recipient: rfc822; someone@ezweb.ne.jp',
            'Action: failed',
            'Status: 5.0.0',
            'Remote-MTA: dns; lsean.ezweb.ne.jp',
            'Diagnostic-Code: smtp; 550 : User unknown',
          ]),
        ],
      }),
    );
    assert.equal(r.classification.category, 'policy');
    assert.equal(r.classification.ruleId, 'kddi.filtered-user-unknown');
  });
});

describe('local delivery programs', () => {
  it('Diagnostic-Code X-Unix: a local mailer failure, not an unknown user', () => {
    const r = only(
      mail({
        parts: [
          status([
            'Final-Recipient: rfc822; user@example.org',
            'Action: failed',
            'Status: 5.3.0',
            'Diagnostic-Code: X-Unix; 255',
          ]),
        ],
      }),
    );
    assert.equal(r.diagnosticType, 'x-unix');
    assert.equal(r.classification.category, 'remote_error');
    assert.equal(r.classification.ruleId, 'report.local-mailer');
  });

  it('a "|/path" recipient: "No such user" is the program talking, not the address', () => {
    const r = only(
      mail({
        parts: [
          status([
            'Final-Recipient: rfc822; user@example.org',
            'X-Actual-Recipient: rfc822; |/usr/local/bin/procmail',
            'Action: failed',
            'Status: 5.0.0',
            'Diagnostic-Code: smtp; 550 No such user',
          ]),
        ],
      }),
    );
    assert.equal(r.toProgram, true);
    assert.equal(r.classification.category, 'remote_error');
  });

  it('a quota error from a local program keeps its category', () => {
    const r = only(
      mail({
        parts: [
          status([
            'Final-Recipient: rfc822; user@example.org',
            'Action: failed',
            'Status: 5.2.2',
            'Diagnostic-Code: X-Unix; maildrop: maildir over quota.',
          ]),
        ],
      }),
    );
    assert.equal(r.classification.category, 'mailbox_full');
  });
});

describe('expiry and its cause', () => {
  it('a DNS failure that outlasted the queue is a DNS failure', () => {
    const r = only(
      mail({
        parts: [
          status([
            'Final-Recipient: rfc822; user@example.org',
            'Action: failed',
            'Status: 5.4.312',
            'Diagnostic-Code: smtp;550 5.4.312 Message expired, DNS query failed',
          ]),
        ],
      }),
    );
    assert.equal(r.classification.category, 'dns_failure');
    assert.equal(r.classification.permanence, 'permanent');
  });

  it('a timed-out connection until the queue gave up stays expired', () => {
    const r = only(
      mail({
        parts: [
          status([
            'Final-Recipient: rfc822; user@example.org',
            'Action: failed',
            'Status: 4.4.7',
            'Diagnostic-Code: smtp; 554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection timed out>',
          ]),
        ],
      }),
    );
    assert.equal(r.classification.category, 'expired');
  });

  it('qmail: our HELO name refused, then "in the queue too long", is a refusal of the client', () => {
    const r = only(
      mail({
        subject: 'failure notice',
        text: [
          'Hi. This is the qmail-send program at mx.example.net.',
          "I'm afraid I wasn't able to deliver your message to the following addresses.",
          "This is a permanent error; I've given up. Sorry it didn't work out.",
          '',
          '<user@example.org>:',
          'Connected to 192.0.2.112 but my name was rejected.',
          'Remote host said: 501 5.0.0 Invalid domain name',
          "I'm not going to try again; this message has been in the queue too long.",
          '',
          '--- Below this line is a copy of the message.',
        ].join('\n'),
      }),
    );
    assert.equal(r.phase, 'ehlo');
    assert.equal(r.classification.category, 'ip_blocked');
  });

  it('a routing loop (X.4.6) is not an expiry', () => {
    const r = only(
      mail({
        parts: [
          status([
            'Final-Recipient: rfc822; user@example.com',
            'Action: failed',
            'Status: 4.4.6',
            'Diagnostic-Code: smtp; Unable to deliver message to the following recipients, because the message was forwarded more than the maximum allowed times. This could indicate a mail loop.',
          ]),
        ],
      }),
    );
    assert.equal(r.classification.category, 'network_error');
  });

  it('Sendmail delay warning: "still undelivered after 4 hours" is an expiry in progress', () => {
    const r = only(
      mail({
        parts: [
          status([
            'Final-Recipient: RFC822; user@example.jp',
            'Action: delayed',
            'Status: 4.5.0',
            'Diagnostic-Code: SMTP; 421 Warning: message still undelivered after 4 hours',
          ]),
        ],
      }),
    );
    assert.equal(r.classification.category, 'expired');
    assert.equal(r.classification.permanence, 'transient');
  });
});

describe('delivery-status details', () => {
  it('reads the reason from a Status comment when there is no Diagnostic-Code', () => {
    const r = dsn(
      mail({
        parts: [
          status([
            'Final-Recipient: rfc822;user@example.net',
            'Action: delayed',
            'Status: 4.0.0 (example.net: host name lookup failure)',
            '',
            'Final-Recipient: rfc822;other@example.net',
            'Action: failed',
            'Status: 5.0.0 (permanent failure)',
          ]),
        ],
      }),
    );
    assert.equal(r.recipients[0]!.diagnostic, 'example.net: host name lookup failure');
    assert.equal(r.recipients[0]!.classification.category, 'dns_failure');
    assert.equal(r.recipients[1]!.diagnostic, '');
  });

  it('completes a multiline reply the Diagnostic-Code cut after its first line', () => {
    const r = only(
      mail({
        text: [
          '   ----- The following addresses had permanent fatal errors -----',
          'user@example.com',
          '    (reason: 550-5.7.1 This message does not have authentication information or fails to pass)',
          '',
          '   ----- Transcript of session follows -----',
          '... while talking to gmail-smtp-in.l.google.com.:',
          '>>> DATA',
          '<<< 550-5.7.1 This message does not have authentication information or fails to pass',
          '<<< 550-5.7.1 authentication checks. To best protect our users from spam, the',
          '<<< 550 5.7.1 message has been blocked. 37si3479471pgw.590 - gsmtp',
          '554 5.0.0 Service unavailable',
        ].join('\n'),
        parts: [
          status([
            'Final-Recipient: RFC822; user@example.com',
            'Action: failed',
            'Status: 5.7.1',
            'Diagnostic-Code: SMTP; 550-5.7.1 This message does not have authentication information or fails to pass',
          ]),
        ],
      }),
    );
    assert.match(r.diagnostic, /authentication checks/);
    assert.equal(r.classification.category, 'auth_failure');
  });

  it("adds the reporting MTA's own summary when the DSN has no Diagnostic-Code", () => {
    const r = only(
      mail({
        text: [
          'The user(s) account is disabled.',
          '',
          '<user@ezweb.ne.jp>: 550 user unknown (in reply to RCPT TO command)',
        ].join('\n'),
        parts: [status(['Final-Recipient: rfc822; user@ezweb.ne.jp', 'Action: failed', 'Status: 5.0.0'])],
      }),
    );
    assert.equal(r.classification.category, 'mailbox_disabled');
  });
});

describe('more text layouts', () => {
  it('OpenSMTPD: "address: reason" lines at the margin', () => {
    const r = dsn(
      mail({
        subject: 'Delivery status notification: failed',
        text: [
          '    Hi!',
          '',
          '    This is the MAILER-DAEMON, please DO NOT REPLY to this email.',
          '',
          '    An error has occurred while attempting to deliver a message for',
          '    the following list of recipients:',
          '',
          'alice@example.net: 550 5.1.1 <alice@example.net>: Recipient address rejected: User unknown',
          'bob@example.net: 552 5.2.2 <bob@example.net>: Recipient address rejected: Mailbox full',
          '',
          '    Below is a copy of the original message:',
        ].join('\n'),
      }),
    );
    assert.equal(r.format, 'opensmtpd');
    assert.deepEqual(
      r.recipients.map((x) => [x.recipient, x.replyCode, x.classification.category]),
      [
        ['alice@example.net', 550, 'recipient_unknown'],
        ['bob@example.net', 552, 'mailbox_full'],
      ],
    );
  });

  it('OpenSMTPD delay notice: the notes after the list are not the reason', () => {
    const r = only(
      mail({
        text: [
          '    A message is delayed for more than 4 hours for the following',
          '    list of recipients:',
          '',
          'user@example.net: Connection refused',
          '',
          '    Please note that this is only a temporary failure report.',
          '    The message is kept in the queue for up to 4 days.',
        ].join('\n'),
      }),
    );
    assert.equal(r.diagnostic, 'Connection refused');
    assert.equal(r.action, 'delayed');
  });

  it("Postfix smtpd's postmaster transcript: the last error and the command it answered", () => {
    const r = only(
      mail({
        subject: 'Postfix SMTP server: errors from client.example.jp[192.0.2.2]',
        text: [
          'Transcript of session follows.',
          '',
          ' Out: 220 mx.example.com ESMTP',
          ' In:  EHLO client.example.jp',
          ' Out: 250-mx.example.com',
          ' Out: 250-STARTTLS',
          ' Out: 250 CHUNKING',
          ' In:  MAIL',
          '     FROM:<sender@example.jp>',
          ' Out: 250 2.1.0 Ok',
          ' In:  RCPT TO:<user@example.com> ORCPT=rfc822;user@example.com',
          ' Out: 250 2.1.5 Ok',
          ' In:  DATA',
          ' Out: 354 End data with <CR><LF>.<CR><LF>',
          ' Out: 451 4.3.0 Error: queue file write error',
          ' In:  QUIT',
          ' Out: 221 2.0.0 Bye',
        ].join('\n'),
      }),
    );
    assert.equal(r.recipient, 'user@example.com');
    assert.equal(r.phase, 'dot');
    assert.equal(r.classification.category, 'remote_error');
  });

  it('Sendmail V5: a summary line takes the replies of the session it was printed in', () => {
    const r = dsn(
      mail({
        text: [
          '   ----- Transcript of session follows -----',
          'While talking to mailin1.example.org:',
          '>>> MAIL From:<sender@example.co.jp>',
          '<<< 501 <sender@example.co.jp>... no access from mail server [192.0.2.55] which is an open relay.',
          '554 <alice@example.org>... Remote protocol error',
          '554 <bob@example.net>... 550 Host unknown (Authoritative answer from name server)',
          'While talking to smtp.example.edu:',
          '>>> RCPT To:<carol@example.edu>',
          '<<< 550 <carol@example.edu>... User unknown',
          '550 <carol@example.edu>... User unknown',
          '',
          '   ----- Unsent message follows -----',
        ].join('\n'),
      }),
    );
    assert.equal(r.format, 'sendmail');
    const by = new Map(r.recipients.map((x) => [x.recipient, x]));
    assert.match(by.get('alice@example.org')!.diagnostic, /open relay/);
    assert.equal(by.get('alice@example.org')!.classification.category, 'ip_blocked');
    assert.doesNotMatch(by.get('bob@example.net')!.diagnostic, /open relay/);
    assert.equal(by.get('bob@example.net')!.classification.category, 'domain_unknown');
    assert.equal(by.get('carol@example.edu')!.classification.category, 'recipient_unknown');
  });

  it('generic: recipients listed in one paragraph each get their own line(s)', () => {
    const r = dsn(
      mail({
        headers: [{ name: 'from', value: 'mailer-daemon@example.com' }],
        subject: 'Undelivered Mail Returned to Sender',
        text: [
          'This message was created automatically by mail delivery software.',
          'A message that you sent could not be delivered to one or more of its recipients. This is a permanent error.',
          '',
          'alice@example.co.jp Invalid Address, ERROR_CODE :550, ERROR_CODE :5.1.1 <alice@example.co.jp>... User Unknown',
          'bob@example.co.jp Invalid Address, ERROR_CODE :550, ERROR_CODE :5.2.2 <bob@example.co.jp>... Mailbox Full',
        ].join('\n'),
      }),
    );
    assert.deepEqual(
      r.recipients.map((x) => [x.recipient, x.classification.category]),
      [
        ['alice@example.co.jp', 'recipient_unknown'],
        ['bob@example.co.jp', 'mailbox_full'],
      ],
    );
  });
});

describe('how much a relayed "user unknown" proves', () => {
  function relayed(diagnostic: string, dsnStatus = '5.0.0', text = ''): RecipientReport {
    return only(
      mail({
        text,
        parts: [
          status([
            'Final-Recipient: rfc822; user@example.jp',
            'Action: failed',
            `Status: ${dsnStatus}`,
            `Diagnostic-Code: smtp; ${diagnostic}`,
          ]),
        ],
      }),
    );
  }

  it('without the command it answered or an addressing status, it does not suppress the address', () => {
    const r = relayed("550-'Unknown user user@example.jp' (delivery attempts: 0)");
    assert.equal(r.phase, 'unknown');
    // The words are kept as the category; the action bounces the message without suppressing.
    assert.equal(r.classification.category, 'recipient_unknown');
    assert.equal(r.classification.action, 'fail');
    assert.equal(r.classification.confidence, 'low');
    assert.equal(r.classification.ruleId, 'report.unconfirmed-user-unknown');
    // A gateway's 5.7.1 ("delivery not authorized") with the same words.
    const gateway = relayed('550 5.7.1 550 User Unknown: user@example.jp').classification;
    assert.deepEqual(
      [gateway.category, gateway.action, gateway.confidence],
      ['recipient_unknown', 'fail', 'low'],
    );
  });

  it("a provider's words quoted without their reply code are unconfirmed too", () => {
    const quoted = relayed('The email account that you tried to reach does not exist.').classification;
    assert.deepEqual(
      [quoted.category, quoted.action, quoted.confidence, quoted.ruleId],
      ['recipient_unknown', 'fail', 'low', 'report.unconfirmed-user-unknown'],
    );
    // With Gmail's reply code and status they are Gmail's own RCPT verdict.
    const own = relayed(
      '550 5.1.1 The email account that you tried to reach does not exist.',
      '5.1.1',
    ).classification;
    assert.deepEqual([own.category, own.action], ['recipient_unknown', 'suppress']);
  });

  it('status X.2.1 says the mailbox is disabled (RFC 3463 §3.3)', () => {
    const r = relayed('550 5.2.1 <user@example.jp>... User Unknown', '5.2.1');
    assert.equal(r.classification.category, 'mailbox_disabled');
    assert.equal(r.classification.ruleId, 'report.unconfirmed-mailbox-disabled');
  });

  it('an X.1.x status, the RCPT TO command or the reporter\'s "Address not found" make it an unknown recipient', () => {
    assert.equal(
      relayed('550 5.1.1 <user@example.jp>... User Unknown', '5.1.1').classification.category,
      'recipient_unknown',
    );
    const rcpt = relayed('550 <user@example.jp>: User unknown (in reply to RCPT TO command)');
    assert.equal(rcpt.phase, 'rcpt');
    assert.equal(rcpt.classification.category, 'recipient_unknown');
    const gmail = relayed(
      '550 <user@example.jp>: User unknown',
      '5.0.0',
      "** Address not found **\nYour message wasn't delivered to user@example.jp because the address couldn't be found, or is unable to receive mail.",
    );
    assert.equal(gmail.classification.category, 'recipient_unknown');
  });

  it("the mailbox server's own verdict (IMail), with no remote reply quoted, is first-hand", () => {
    const imail = (text: string): DsnReport =>
      dsn(
        mail({
          headers: [
            { name: 'from', value: '"Postmaster" <postmaster@example.com>' },
            { name: 'x-mailer', value: '<SMTP32 v8.12>' },
          ],
          subject: 'Undeliverable Mail',
          text: `${text}\n\nOriginal message follows.\n\nFrom: sender@example.net\n`,
        }),
      );
    const own = imail('Unknown user: user@example.com').recipients[0]!;
    assert.equal(imail('Unknown user: user@example.com').format, 'imail');
    assert.equal(own.firstHand, true);
    assert.equal(own.classification.category, 'recipient_unknown');
    // The same server relaying a remote reply says which command drew it.
    const relayed = imail(
      [
        'undeliverable to user@example.org',
        'Additional RCPT TO generated following response:',
        '550 No such user here',
      ].join('\n'),
    ).recipients[0]!;
    assert.equal(relayed.recipient, 'user@example.org');
    assert.equal(relayed.firstHand, undefined);
    assert.equal(relayed.phase, 'rcpt');
    assert.equal(relayed.replyCode, 550);
    assert.equal(relayed.classification.category, 'recipient_unknown');
  });

  it('a reporter of no known layout listing "[User unknown]" is not enough to suppress on', () => {
    const r = only(
      mail({
        headers: [{ name: 'from', value: '"Mail Deliver System" <MAILER-DAEMON@mx.example.org>' }],
        subject: 'Returned Mail: User unknown',
        text: '---The following addresses had delivery errors---\n\nuser@example.org [User unknown]\n',
      }),
    );
    assert.deepEqual([r.classification.category, r.classification.action], ['recipient_unknown', 'fail']);
    assert.equal(r.classification.ruleId, 'report.unconfirmed-user-unknown');
  });

  it('Sendmail V5: a reply printed right after its own ">>> RCPT To:" answered RCPT TO', () => {
    const r = dsn(
      mail({
        text: [
          '   ----- Transcript of session follows -----',
          'While talking to mail.example.org:',
          '>>> DATA',
          '<<< 550 Message refused',
          '554 <first@example.org>... Remote protocol error',
          'While talking to mail.example.co.jp:',
          '>>> RCPT To:<second@example.co.jp>',
          '<<< 550 Requested User Mailbox not found. No such user here.',
          '550 <second@example.co.jp>... User unknown',
          '   ----- Unsent message follows -----',
        ].join('\n'),
      }),
    );
    const second = r.recipients.find((x) => x.recipient === 'second@example.co.jp');
    assert.equal(second?.phase, 'rcpt');
    assert.equal(second?.classification.category, 'recipient_unknown');
    assert.notEqual(r.recipients.find((x) => x.recipient === 'first@example.org')?.phase, 'rcpt');
  });

  it('"SMTP:RCPT host …" names the command, and Zoho\'s "ERROR_CODE :550" the reply code', () => {
    assert.equal(
      phaseOf('Technical details: SMTP:RCPT host 192.0.2.8: 553 5.3.0 <a@b.example>... No such user'),
      'rcpt',
    );
    assert.equal(
      findReply(
        'a@b.example Invalid Address, ERROR_CODE :550, ERROR_CODE :5.2.1 <a@b.example>... User Unknown',
      ).code,
      550,
    );
  });
});
