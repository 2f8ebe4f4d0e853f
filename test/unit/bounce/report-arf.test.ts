import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseReport } from '../../../core/bounce/report/index.js';
import type { ParsedMailLike } from '../../../core/bounce/report/types.js';

const ORIGINAL =
  'From: news@example.com\r\nTo: reader@example.net\r\nMessage-ID: <abc@example.com>\r\nSubject: Hi\r\n\r\nbody\r\n';

describe('RFC 5965 ARF complaints', () => {
  it('reads the feedback type and the complaining recipients', () => {
    const r = parseReport({
      headers: [{ name: 'from', value: 'feedbackloop@example.net' }],
      subject: 'FW: Hi',
      text: 'This is an email abuse report for an email message received from IP 192.0.2.1',
      parts: [
        {
          contentType: 'message/feedback-report',
          text: 'Feedback-Type: abuse\r\nUser-Agent: SomeGenerator/1.0\r\nVersion: 1\r\nOriginal-Mail-From: <news@example.com>\r\nOriginal-Rcpt-To: <reader@example.net>\r\nSource-IP: 192.0.2.1\r\n',
        },
        { contentType: 'message/rfc822', text: ORIGINAL },
      ],
    });
    assert.equal(r.kind, 'complaint');
    if (r.kind !== 'complaint') return;
    assert.equal(r.feedbackType, 'abuse');
    assert.equal(r.recipient, 'reader@example.net');
    assert.deepEqual(r.recipients, ['reader@example.net']);
    assert.equal(r.originalMailFrom, '<news@example.com>');
    assert.equal(r.sourceIp, '192.0.2.1');
    assert.equal(r.originalMessageId, '<abc@example.com>');
    assert.equal(r.classification.category, 'complaint');
    assert.equal(r.classification.action, 'suppress');
  });

  it('falls back to the reported message To when Original-Rcpt-To is absent', () => {
    const r = parseReport({
      headers: [],
      subject: 'complaint',
      text: '',
      parts: [
        { contentType: 'message/feedback-report', text: 'Feedback-Type: opt-out\nVersion: 1\n' },
        { contentType: 'text/rfc822-headers', text: ORIGINAL },
      ],
    });
    assert.equal(
      r.kind === 'complaint' ? `${r.feedbackType} ${r.recipient}` : r.kind,
      'opt-out reader@example.net',
    );
  });

  it('reads a Microsoft JMRP forward (X-HmXmrOriginalRecipient)', () => {
    const r = parseReport({
      headers: [{ name: 'from', value: 'staff@hotmail.com' }],
      subject: 'complaint about message from 192.0.2.1',
      text: '',
      parts: [
        {
          contentType: 'message/rfc822',
          text: `X-HmXmrOriginalRecipient: reader@example.net\r\n${ORIGINAL}`,
        },
      ],
    });
    assert.equal(r.kind === 'complaint' ? r.recipient : r.kind, 'reader@example.net');
  });
});

describe('RFC 3834 auto-replies', () => {
  const base: ParsedMailLike = {
    headers: [
      { name: 'from', value: 'Away Person <away@example.org>' },
      { name: 'auto-submitted', value: 'auto-replied' },
    ],
    subject: 'Re: Hi',
    text: 'I am out of the office until Monday.',
    parts: [],
  };

  it('recognises Auto-Submitted: auto-replied', () => {
    const r = parseReport(base);
    assert.equal(r.kind, 'auto_reply');
    if (r.kind !== 'auto_reply') return;
    assert.equal(r.recipient, 'away@example.org');
    assert.equal(r.classification.category, 'auto_reply');
    assert.equal(r.classification.action, 'none');
  });

  it('recognises X-Autoreply and vacation subjects', () => {
    assert.equal(
      parseReport({ ...base, headers: [{ name: 'x-autoreply', value: 'yes' }] }).kind,
      'auto_reply',
    );
    assert.equal(parseReport({ ...base, headers: [], subject: 'Automatic reply: Hi' }).kind, 'auto_reply');
    assert.equal(parseReport({ ...base, headers: [], subject: 'Out of Office: Hi' }).kind, 'auto_reply');
  });

  it('leaves an ordinary mail alone', () => {
    assert.equal(
      parseReport({ ...base, headers: [{ name: 'from', value: 'friend@example.org' }], subject: 'Lunch?' })
        .kind,
      'not_bounce',
    );
  });
});
