import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';

// Histories recorded from running workflows (test/replay/record-histories.ts). Replaying
// them against today's workflow code fails on any change that would break a workflow
// already running in production (a non-deterministic change without patched()).
const HISTORIES = new URL('../../fixtures/histories/', import.meta.url);
const WORKFLOWS = fileURLToPath(new URL('../../../workflows/index.ts', import.meta.url));

test('recorded workflow histories replay against the current workflow code', async () => {
  const files = (await readdir(HISTORIES)).filter((f) => f.endsWith('.binpb')).sort();
  assert.ok(files.length >= 9, 'the recorded histories are there');
  for (const kind of ['message-', 'wave-', 'ip-', 'control-', 'domain-', 'webhook-'])
    assert.ok(
      files.some((f) => f.startsWith(kind)),
      `a recorded ${kind.slice(0, -1)} workflow history is there`,
    );
  const histories = await Promise.all(
    files.map(async (f) => ({
      workflowId: f,
      history: proto.temporal.api.history.v1.History.decode(await readFile(new URL(f, HISTORIES))),
    })),
  );
  const failures: string[] = [];
  for await (const r of Worker.runReplayHistories({ workflowsPath: WORKFLOWS }, histories)) {
    if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
  }
  assert.deepEqual(failures, []);
});
