import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { startDogStatsd } from '../../adapters/dogstatsd.js';
import { createMetrics } from '../../adapters/metrics.js';
import { blankEvent } from '../../core/events.js';
import { waitFor } from '../support/wait.js';

test('the registry is pushed to a DogStatsD agent: counters as deltas, gauges as gauges, labels as tags', async (t) => {
  const agent = createSocket('udp4');
  const lines: string[] = [];
  agent.on('message', (m) => lines.push(...m.toString('utf8').split('\n').filter(Boolean)));
  await new Promise<void>((resolve) => agent.bind(0, '127.0.0.1', resolve));
  t.after(() => agent.close());
  const { port } = agent.address() as AddressInfo;

  const metrics = createMetrics({
    topN: 5,
    now: Date.now,
    tenantNames: async () => new Map(),
    egressStats: () => [],
    journalLagMs: () => 250,
    warmup: async () => [],
  });
  const queued = blankEvent({
    messageId: 'm',
    tenantId: 't',
    event: 'queued',
    sendingDomain: 'acme.test',
    messageType: 'transactional',
  });
  const errors: Error[] = [];
  const push = startDogStatsd({
    target: `127.0.0.1:${port}`,
    registry: metrics.registry,
    onError: (e) => errors.push(e),
  });
  t.after(() => push.close());

  metrics.eventsRecorded([queued, queued]);
  await push.push();
  const counted = (n: number) =>
    lines.filter((l) => l.startsWith(`posthorn_events_total:${n}|c|`) && l.includes('event:queued')).length;
  await waitFor('the first push', async () => (counted(2) === 1 ? true : undefined));
  assert.ok(lines.some((l) => l.startsWith('posthorn_journal_lag_seconds:0.25|g')));
  assert.ok(
    lines.find((l) => l.startsWith('posthorn_events_total:2|c|'))!.includes('sending_domain:acme.test'),
  );

  // The next push sends only what was added since.
  metrics.eventsRecorded([queued]);
  await push.push();
  await waitFor('the second push', async () => (counted(1) === 1 ? true : undefined));
  assert.equal(counted(2), 1);
  assert.deepEqual(errors, []);
});
