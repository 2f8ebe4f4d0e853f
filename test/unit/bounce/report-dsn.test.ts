import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFieldGroups } from '../../../core/bounce/report/fields.js';
import { parseReport } from '../../../core/bounce/report/index.js';
import type { ParsedMailLike } from '../../../core/bounce/report/types.js';

function mail(over: Partial<ParsedMailLike>): ParsedMailLike {
  return {
    headers: [{ name: 'from', value: 'Mail Delivery System <MAILER-DAEMON@mx.example.net>' }],
    subject: 'Undelivered Mail Returned to Sender',
    text: '',
    parts: [],
    ...over,
  };
}

const MULTI = [
  'Reporting-MTA: dns; mx.example.net',
  'Arrival-Date: Thu, 29 Apr 2021 23:34:45 +0900',
  '',
  'Final-Recipient: rfc822; alice@example.org',
  'Original-Recipient: rfc822;Alice@Example.org',
  'Action: failed',
  'Status: 5.1.1',
  'Remote-MTA: dns; mx1.example.org',
  'Diagnostic-Code: smtp; 550 5.1.1 <alice@example.org>: Recipient address',
  '    rejected: User unknown in virtual mailbox table',
  '',
  'Final-Recipient: rfc822; bob@example.org',
  'Action: delayed',
  'Status: 4.4.1',
  'Diagnostic-Code: X-Postfix; connect to mx1.example.org[192.0.2.1]:25:',
  '\tConnection timed out',
  '',
  'Final-Recipient: rfc822; carol@example.org',
  'Action: delivered',
  'Status: 2.0.0',
  '',
].join('\r\n');

describe('RFC 3464 DSN', () => {
  it('reads every recipient of a multi-recipient report, folded fields included', () => {
    const r = parseReport(mail({ parts: [{ contentType: 'message/delivery-status', text: MULTI }] }));
    assert.equal(r.kind, 'dsn');
    if (r.kind !== 'dsn') return;
    assert.deepEqual(
      r.recipients.map((x) => [x.recipient, x.action, x.status]),
      [
        ['alice@example.org', 'failed', '5.1.1'],
        ['bob@example.org', 'delayed', '4.4.1'],
        ['carol@example.org', 'delivered', '2.0.0'],
      ],
    );
    const alice = r.recipients[0]!;
    assert.equal(alice.originalRecipient, 'Alice@Example.org');
    assert.equal(alice.remoteMta, 'mx1.example.org');
    assert.equal(alice.replyCode, 550);
    assert.equal(
      alice.diagnostic,
      '550 5.1.1 <alice@example.org>: Recipient address rejected: User unknown in virtual mailbox table',
    );
    assert.equal(
      r.recipients[1]!.diagnostic,
      'connect to mx1.example.org[192.0.2.1]:25: Connection timed out',
    );
    assert.equal(r.recipients[1]!.classification.permanence, 'transient');
  });

  it('classifies a success DSN as delivered', () => {
    const ds =
      'Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; a@example.org\nAction: delivered\nStatus: 2.0.0\n';
    const r = parseReport(
      mail({
        subject: 'Successful Mail Delivery Report',
        parts: [{ contentType: 'message/delivery-status', text: ds }],
      }),
    );
    assert.equal(r.kind, 'dsn');
    if (r.kind !== 'dsn') return;
    assert.equal(r.recipients[0]!.classification.category, 'delivered');
    assert.equal(r.recipients[0]!.classification.permanence, 'none');
  });

  it('calls a queue-lifetime expiry expired', () => {
    const ds =
      'Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 4.4.7\nDiagnostic-Code: X-Postfix; delivery temporarily suspended: connect to\n mx.example.org[192.0.2.2]:25: Connection refused\n';
    const text =
      'This is the mail system at host mx.example.net.\n\n<a@example.org>: message expired after 5 days; retry timeout exceeded\n';
    const r = parseReport(mail({ text, parts: [{ contentType: 'message/delivery-status', text: ds }] }));
    assert.equal(r.kind, 'dsn');
    if (r.kind !== 'dsn') return;
    assert.equal(r.recipients[0]!.classification.category, 'expired');
    assert.equal(r.recipients[0]!.classification.permanence, 'permanent');
  });

  it('takes the diagnostic from the human part when the DSN has none', () => {
    const ds =
      'Reporting-MTA: dns; mx.example.net\n\nFinal-Recipient: rfc822; a@example.org\nAction: failed\nStatus: 5.0.0\n';
    const text =
      'The mail system\n\n<a@example.org>: host mx.example.org[192.0.2.1] said: 552 5.2.2 Mailbox full (in\n    reply to RCPT TO command)\n';
    const r = parseReport(mail({ text, parts: [{ contentType: 'message/delivery-status', text: ds }] }));
    assert.equal(r.kind, 'dsn');
    if (r.kind !== 'dsn') return;
    assert.equal(r.recipients[0]!.replyCode, 552);
    assert.equal(r.recipients[0]!.phase, 'rcpt');
    assert.match(r.recipients[0]!.diagnostic, /Mailbox full/);
  });

  it('finds a delivery-status block flattened into a text body', () => {
    const text =
      'Delivery report\n\nReporting-MTA: dns; relay.example.net\n\nFinal-Recipient: rfc822; x@example.org\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 unknown user\n';
    const r = parseReport(mail({ text }));
    assert.equal(r.kind, 'dsn');
    if (r.kind !== 'dsn') return;
    assert.equal(r.recipients[0]!.recipient, 'x@example.org');
    assert.equal(r.recipients[0]!.status, '5.1.1');
  });

  it('splits recipients an MTA did not separate with a blank line', () => {
    const groups = parseFieldGroups(
      'Final-Recipient: rfc822; a@x.org\nAction: failed\nFinal-Recipient: rfc822; b@x.org\nAction: failed\n',
    );
    assert.equal(groups.length, 1);
    const ds = `Reporting-MTA: dns; m\n\nFinal-Recipient: rfc822; a@x.org\nAction: failed\nStatus: 5.0.0\nFinal-Recipient: rfc822; b@x.org\nAction: failed\nStatus: 5.0.0\n`;
    const r = parseReport(mail({ parts: [{ contentType: 'message/delivery-status', text: ds }] }));
    assert.equal(r.kind === 'dsn' ? r.recipients.length : 0, 2);
  });
});
