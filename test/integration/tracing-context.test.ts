import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mxZone } from '../support/dns-server.js';
import { type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.js';
import { type Stack, startStack } from '../support/stack.js';
import { sendText, settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const GREY_MX = '127.0.1.3';
const greylisted = new Set<string>();

describe('POSTHORN_TRACE_WORKFLOWS=context: no workflow spans, the message keeps one trace', () => {
  let stack: Stack;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;

  before(async () => {
    receiver = await startOtlpReceiver();
    stack = await startStack({
      zones: mxZone('grey.test', GREY_MX),
      sinks: {
        [GREY_MX]: {
          rcpt: (a) => {
            if (greylisted.has(a)) return null;
            greylisted.add(a);
            return { code: 451, message: '4.7.1 Greylisted, please try again in 1 second' };
          },
        },
      },
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_BSP_SCHEDULE_DELAY: '100',
        POSTHORN_TRACE_WORKFLOWS: 'context',
        POSTHORN_RETRY_INITIAL: '1s',
        POSTHORN_RETRY_MAX: '2s',
        POSTHORN_RETRY_GREYLIST: '1s',
      },
    });
  });

  after(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  /** Span names from `from` up to (not including) the span `to`, once all have arrived. */
  const chain = (from: ReceivedSpan, to: (s: ReceivedSpan) => boolean) =>
    waitFor(`the chain up from ${from.name}`, async () => {
      const names: string[] = [];
      for (let s: ReceivedSpan | undefined = from; s; ) {
        if (to(s)) return names;
        names.push(s.name);
        const parent: string = s.parentSpanId;
        s = receiver.spans.find((p) => p.spanId === parent);
      }
      return undefined;
    });

  test('the wave delivery and the retry in its own workflow hang below the accept span', async () => {
    const { resend } = await tenantClient(stack, 'acme', 'acme.test');
    const id = await sendText(resend, 'user@grey.test', 'hello@acme.test');
    await settled(stack, id);
    const { accept, first, retry } = await waitFor('the spans of the message', async () => {
      const accept = receiver.spans.find(
        (s) => s.name === 'posthorn.accept' && s.attributes['posthorn.message_id'] === id,
      );
      const deliveries = receiver.spans.filter(
        (s) => s.name === 'posthorn.delivery' && s.attributes['posthorn.message_id'] === id,
      );
      const first = deliveries.find((d) => d.attributes['posthorn.attempt'] === 1);
      const retry = deliveries.find((d) => d.attributes['posthorn.attempt'] === 2);
      return accept && first && retry ? { accept, first, retry } : undefined;
    });
    assert.equal(first.parentSpanId, accept.spanId);
    assert.equal(retry.traceId, accept.traceId);
    assert.deepEqual(await chain(retry, (s) => s.spanId === accept.spanId), [
      'posthorn.delivery',
      'RunActivity:deliver',
      'StartWorkflow:messageWorkflow',
    ]);
    // The wave's activity span, which the first delivery links to, is a child of the wave's start.
    const wave = await waitFor('the linked wave activity', async () =>
      receiver.spans.find((s) => s.spanId === first.links[0]?.spanId),
    );
    assert.deepEqual(
      await chain(wave, (s) => s.parentSpanId === '' && s.name === 'StartWorkflow:waveWorkflow'),
      ['RunActivity:deliverWave'],
    );
    assert.ok(
      !receiver.spans.some((s) => s.name.startsWith('RunWorkflow:') || s.name.startsWith('StartActivity:')),
    );
  });
});
