import assert from 'node:assert/strict';
import { test } from 'node:test';
import { retryHintMs } from '../../../core/delivery/delivery-outcome.js';
import { formatSmtpReply, parseSmtpReply } from '../../../core/delivery/smtp-reply.js';

test('single and multi-line replies parse into code, enhanced status and text', () => {
  assert.deepEqual(parseSmtpReply('550 5.1.1 <a@b.test>: user unknown'), {
    code: 550,
    enhanced: '5.1.1',
    text: '<a@b.test>: user unknown',
  });
  assert.deepEqual(
    parseSmtpReply(
      '421-4.7.0 Try again later, closing connection.\r\n421-4.7.0 See https://support.google.com\r\n421 4.7.0 (EHLO) ab12',
    ),
    {
      code: 421,
      enhanced: '4.7.0',
      text: 'Try again later, closing connection. See https://support.google.com (EHLO) ab12',
    },
  );
  assert.deepEqual(parseSmtpReply('250 OK'), { code: 250, enhanced: null, text: 'OK' });
  assert.equal(parseSmtpReply('hello'), null);
  assert.equal(
    formatSmtpReply({ code: 452, enhanced: '4.2.2', text: 'mailbox full' }),
    '452 4.2.2 mailbox full',
  );
});

test('"try again in N units" hints are read in ms', () => {
  assert.equal(retryHintMs('4.7.1 Greylisted, please try again in 5 minutes'), 300_000);
  assert.equal(retryHintMs('Please retry after 30 seconds'), 30_000);
  assert.equal(retryHintMs('try again later'), null);
});
