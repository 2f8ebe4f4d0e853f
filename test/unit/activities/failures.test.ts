import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApplicationFailure } from '@temporalio/activity';
import { createExpire } from '../../../activities/expire.js';

test('an activity whose message row is gone fails for good, naming the message', async () => {
  const expire = createExpire({
    messages: { forDelivery: async () => null },
    journal: {
      append: async () => assert.fail('nothing is journalled for a message that does not exist'),
    } as never,
  });
  await assert.rejects(expire({ messageId: 'm-gone', recipients: ['a@x.test'], attempts: 3 }), (err) => {
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.nonRetryable, true, 'Temporal must not retry it');
    assert.equal(err.type, 'MessageMissing');
    assert.match(err.message, /m-gone/);
    return true;
  });
});
