import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDeliverWave } from '../../../activities/wave.js';
import type { MessageForDelivery } from '../../../adapters/postgres/messages.js';
import type { DeliverResult } from '../../../workflows/contract.js';

const message = (id: string): MessageForDelivery =>
  ({
    id,
    tenantId: 't',
    tenantName: 'acme',
    requireTls: false,
    sendingDomain: 'acme.test',
    messageType: 'transactional',
    mime: Buffer.from('Subject: x\r\n\r\nx\r\n'),
    acceptedAtMs: Date.now(),
    recipientIndex: { [`r@${id}.test`]: 1 },
    recipientState: { [`r@${id}.test`]: 'queued' },
  }) as MessageForDelivery;

test('a wave fails only after every attempt it made has finished (a rerun must find them recorded)', async () => {
  let slowFinished = false;
  const deliverWave = createDeliverWave({
    messages: {
      claimForWave: async (_wave, ids) => [...ids],
      forDeliveryMany: async (ids) => ids.map(message),
    },
    async deliver(m) {
      // One attempt fails at once (its journal write gave up); the other is still sending
      // and recording its outcome.
      if (m.id === 'fails') throw new Error('database unavailable');
      await delay(50);
      slowFinished = true;
      return {
        ip: '127.0.0.2',
        recipients: [{ address: 'r@slow.test', verdict: 'delivered', retryHintMs: null, category: null }],
        finishedAtMs: Date.now(),
      } as unknown as DeliverResult;
    },
    starter: { start: async () => {} },
    load: () => {},
  });
  const run = new MockActivityEnvironment().run(deliverWave, {
    waveId: 'w1',
    messageIds: ['fails', 'slow'],
    retry: { delaysMs: [60_000], maxAgeMs: 3_600_000 } as never,
    egressTaskQueue: 'q',
  });
  await assert.rejects(run, /database unavailable/);
  assert.equal(slowFinished, true, 'the other attempt had finished when the wave failed');
});
