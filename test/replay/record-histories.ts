/**
 * Records event histories of message workflows into test/fixtures/histories/, for the
 * replay test (test/unit/workflows/replay.test.ts): a change to workflow code that would
 * break workflows already running fails there. Run against the workflow code whose
 * histories should be kept, on the same real parts as the integration tests:
 *
 *   node --import tsx test/replay/record-histories.ts
 *
 * Scenarios: delivered at once; deferred (451) then delivered; bounced (550); two recipient
 * domains in one message; held by a domain pause, then released by resume.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { Client, Connection } from '@temporalio/client';
import proto from '@temporalio/proto';
import { mxZone } from '../support/dns-server.js';
import { startStack } from '../support/stack.js';
import { settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const OUT = new URL('../fixtures/histories/', import.meta.url);
const MX = '127.0.1.1';
const OTHER_MX = '127.0.1.2';

let deferredOnce = false;
const stack = await startStack({
  zones: { ...mxZone('rcpt.test', MX), ...mxZone('other.test', OTHER_MX), ...mxZone('paused.test', MX) },
  sinks: {
    [MX]: {
      rcpt(address) {
        if (address === 'bounce@rcpt.test')
          return { code: 550, message: '5.1.1 <bounce@rcpt.test>: user unknown' };
        if (address === 'defer@rcpt.test' && !deferredOnce) {
          deferredOnce = true;
          return { code: 451, message: '4.3.0 try again later' };
        }
        return null;
      },
    },
    [OTHER_MX]: {},
  },
  env: { POSTHORN_RETRY_INITIAL: '1s' },
});
try {
  const { resend } = await tenantClient(stack, 'acme', 'acme.test');
  const send = async (to: string[]) => {
    const r = await resend.emails.send({ from: 'hello@acme.test', to, subject: 'replay', text: 'replay' });
    if (r.error) throw new Error(JSON.stringify(r.error));
    return r.data!.id;
  };
  const scenarios: Record<string, string> = {
    'message-delivered': await send(['ok@rcpt.test']),
    'message-deferred-then-delivered': await send(['defer@rcpt.test']),
    'message-bounced': await send(['bounce@rcpt.test']),
    'message-two-domains': await send(['a@rcpt.test', 'b@other.test']),
  };
  await stack.node.cli(['pause', 'domain', 'paused.test', '--reason', 'recording a held message']);
  await waitFor('pause published', async () =>
    (await stack.db.query(`SELECT 1 FROM pauses WHERE value = 'paused.test'`)).rowCount ? true : undefined,
  );
  scenarios['message-held-then-released'] = await send(['held@paused.test']);
  await waitFor('held', async () =>
    (await stack.db.query(`SELECT 1 FROM held_messages WHERE value = 'paused.test'`)).rowCount
      ? true
      : undefined,
  );
  await stack.node.cli(['resume', 'domain', 'paused.test', '--reason', 'recorded']);

  await mkdir(OUT, { recursive: true });
  const connection = await Connection.connect({ address: stack.temporalAddress });
  const client = new Client({ connection });
  for (const [name, id] of Object.entries(scenarios)) {
    await settled(stack, id, 60_000);
    const handle = client.workflow.getHandle(id);
    await handle.result();
    // Binary protobuf (proto.temporal.api.history.v1.History): decoded by the same protobufjs copy
    // as the SDK's own types, unlike the proto3 JSON of `temporal workflow show`.
    const history = await handle.fetchHistory();
    await writeFile(
      new URL(`${name}.binpb`, OUT),
      proto.temporal.api.history.v1.History.encode(history).finish(),
    );
    process.stdout.write(`recorded ${name} (${id}, ${history.events?.length} events)\n`);
  }
  await connection.close();
} finally {
  await stack.stop();
}
