import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Resend } from 'resend';
import { mxZone } from '../support/dns-server.js';
import { type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver.js';
import { EGRESS_IPS, type Stack, startStack } from '../support/stack.js';
import { sendText, settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const OK_MX = '127.0.1.1';
const GREY_MX = '127.0.1.3';
const greylisted = new Set<string>();

describe('with an OTLP exporter configured, one trace follows a message', () => {
  let stack: Stack;
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  let resend: Resend;

  before(async () => {
    receiver = await startOtlpReceiver();
    stack = await startStack({
      zones: { ...mxZone('rcpt.test', OK_MX), ...mxZone('grey.test', GREY_MX) },
      sinks: {
        [OK_MX]: {},
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
        OTEL_SERVICE_NAME: 'posthorn-test',
        // Export within a fraction of a second instead of the default 5 s.
        OTEL_BSP_SCHEDULE_DELAY: '100',
        POSTHORN_RETRY_INITIAL: '1s',
        POSTHORN_RETRY_MAX: '2s',
        POSTHORN_RETRY_GREYLIST: '1s',
      },
    });
    ({ resend } = await tenantClient(stack, 'acme', 'acme.test'));
  });

  after(async () => {
    await stack?.stop();
    await receiver?.close();
  });

  const inTrace = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
  const childrenOf = (span: ReceivedSpan) => receiver.spans.filter((s) => s.parentSpanId === span.spanId);
  const descendantsOf = (span: ReceivedSpan): ReceivedSpan[] =>
    childrenOf(span).flatMap((c) => [c, ...descendantsOf(c)]);
  const one = (spans: readonly ReceivedSpan[], name: string) => {
    const found = spans.filter((s) => s.name === name);
    assert.equal(
      found.length,
      1,
      `${name}: ${found.length} spans among ${spans.map((s) => s.name).join(', ')}`,
    );
    return found[0]!;
  };

  /**
   * The accept span of a message and its delivery spans, once they and every delivery's
   * `lastSpan` have arrived (batches of spans may arrive in any order).
   */
  const messageSpans = (id: string, deliveries: number, lastSpan: string) =>
    waitFor(`the spans of ${id}`, async () => {
      const accept = receiver.spans.find(
        (s) => s.name === 'posthorn.accept' && s.attributes['posthorn.message_id'] === id,
      );
      const delivered = receiver.spans.filter(
        (s) => s.name === 'posthorn.delivery' && s.attributes['posthorn.message_id'] === id,
      );
      const smtpDone = delivered.every((d) => descendantsOf(d).some((s) => s.name === lastSpan));
      return accept && delivered.length === deliveries && smtpDone ? { accept, delivered } : undefined;
    });

  test('HTTP request → accept → commit → delivery in the wave → DNS, TLS and each SMTP command', async () => {
    const id = await sendText(resend, 'user@rcpt.test', 'hello@acme.test');
    await settled(stack, id);
    const { accept, delivered } = await messageSpans(id, 1, 'smtp message');
    const trace = inTrace(accept.traceId);

    const request = one(trace, 'POST /emails');
    assert.equal(request.parentSpanId, '');
    assert.equal(request.attributes['http.route'], '/emails');
    assert.equal(request.attributes['http.response.status_code'], 200);
    assert.equal(request.service, 'posthorn-test');
    assert.equal(accept.parentSpanId, request.spanId);
    assert.equal(accept.attributes['posthorn.tenant'], 'acme');
    assert.equal(one(trace, 'posthorn.commit').parentSpanId, accept.spanId);

    // The wave is a trace of its own; the message's delivery is in the message's trace,
    // child of its accept span, linked to the wave's activity.
    const delivery = delivered[0]!;
    assert.equal(delivery.traceId, accept.traceId);
    assert.equal(delivery.parentSpanId, accept.spanId);
    assert.equal(delivery.attributes['posthorn.tenant'], 'acme');
    assert.equal(delivery.attributes['posthorn.provider'], 'other');
    assert.ok(EGRESS_IPS.includes(String(delivery.attributes['posthorn.ip'])));
    assert.equal(delivery.attributes['posthorn.mx_host'], 'mx.rcpt.test');
    assert.equal(delivery.attributes['posthorn.outcome'], 'delivered');
    assert.equal(delivery.links.length, 1);
    const waveActivity = await waitFor('the wave activity span', async () =>
      receiver.spans.find((s) => s.spanId === delivery.links[0]!.spanId),
    );
    assert.equal(waveActivity.name, 'RunActivity:deliverWave');
    assert.notEqual(waveActivity.traceId, accept.traceId);
    // The wave's own spans (its workflow's come through a sink, in batches of their own).
    const waveChain = await waitFor('the wave activity chain up to its root', async () => {
      const names: string[] = [];
      for (let s: ReceivedSpan | undefined = waveActivity; s; ) {
        names.push(s.name);
        if (s.parentSpanId === '') return names;
        const parent: string = s.parentSpanId;
        s = receiver.spans.find((p) => p.spanId === parent);
      }
      return undefined;
    });
    assert.deepEqual(waveChain, [
      'RunActivity:deliverWave',
      'StartActivity:deliverWave',
      'RunWorkflow:waveWorkflow',
      'StartWorkflow:waveWorkflow',
    ]);

    const under = descendantsOf(delivery);
    const mx = one(under, 'dns MX');
    assert.equal(mx.attributes['dns.question.name'], 'rcpt.test');
    assert.ok(
      under.some((s) => s.name === 'dns A/AAAA' && s.attributes['dns.question.name'] === 'mx.rcpt.test'),
    );
    const smtp = under.filter((s) => s.name.startsWith('smtp ') || s.name === 'tls handshake');
    const names = smtp.map((s) => s.name);
    for (const name of [
      'smtp connect',
      'smtp greeting',
      'smtp EHLO',
      'smtp STARTTLS',
      'tls handshake',
      'smtp MAIL',
      'smtp RCPT',
      'smtp DATA',
      'smtp message',
    ])
      assert.ok(names.includes(name), `${name} missing from ${names.join(', ')}`);
    for (const s of smtp) {
      assert.equal(s.attributes['posthorn.mx_host'], 'mx.rcpt.test');
      assert.equal(s.attributes['posthorn.ip'], delivery.attributes['posthorn.ip']);
    }
    assert.equal(one(smtp, 'smtp RCPT').attributes['smtp.reply_code'], 250);
    assert.equal(one(smtp, 'smtp message').attributes['smtp.reply_code'], 250);
    assert.equal(one(smtp, 'smtp DATA').attributes['smtp.reply_code'], 354);
  });

  test('a message that continues in its own workflow keeps its trace: workflow → activity → delivery', async () => {
    const id = await sendText(resend, 'user@grey.test', 'hello@acme.test');
    await settled(stack, id);
    const { accept, delivered } = await messageSpans(id, 2, 'smtp RCPT');
    assert.ok(delivered.every((d) => d.traceId === accept.traceId));
    const [first, retry] = [...delivered].sort(
      (a, b) => Number(a.attributes['posthorn.attempt']) - Number(b.attributes['posthorn.attempt']),
    );
    assert.equal(first!.attributes['posthorn.outcome'], 'deferred');
    assert.equal(retry!.attributes['posthorn.outcome'], 'delivered');
    assert.equal(retry!.attributes['posthorn.attempt'], 2);

    // The retry's chain, up to the accept span: the message workflow was started in the
    // message's trace by the wave that deferred it.
    // Workflow spans leave the sandbox through a sink, in batches of their own: wait until
    // the walk up from the retry reaches the accept span.
    const chain = await waitFor("the retry's chain up to the accept span", async () => {
      const names: string[] = [];
      for (let s: ReceivedSpan | undefined = retry; s; ) {
        if (s.spanId === accept.spanId) return names;
        names.push(s.name);
        const parent: string = s.parentSpanId;
        s = receiver.spans.find((p) => p.spanId === parent);
      }
      return undefined;
    });
    assert.deepEqual(chain, [
      'posthorn.delivery',
      'RunActivity:deliver',
      'StartActivity:deliver',
      'RunWorkflow:messageWorkflow',
      'StartWorkflow:messageWorkflow',
    ]);
    assert.ok(
      descendantsOf(retry!).some((s) => s.name === 'smtp RCPT' && s.attributes['smtp.reply_code'] === 250),
    );
  });
});
