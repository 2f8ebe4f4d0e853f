import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { answerClientError } from '../../../api/client-error.js';

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An HTTP server whose refused requests are answered by answerClientError; its port. */
async function listening(t: TestContext): Promise<number> {
  const server = createServer((_req, res) => res.end('unexpected'));
  server.on('clientError', answerClientError);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  return (server.address() as { port: number }).port;
}

test('a request line over the header limit gets a 431 in Resend shape, and the client may finish sending without a reset', async (t) => {
  const port = await listening(t);

  // Half-open like an HTTP client that writes its whole request whatever comes back.
  const client: Socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  let answer = '';
  let failure: Error | undefined;
  client.on('data', (d) => {
    answer += d;
  });
  client.on('error', (e) => {
    failure = e;
  });
  const closed = new Promise((r) => client.once('close', r));
  await new Promise((r) => client.once('connect', r));
  // Node refuses a request line and headers over 16 KB; the rest arrives after the answer.
  client.write(`GET /${'x'.repeat(20_000)}`);
  await pause(100);
  client.write(`${'y'.repeat(50_000)} HTTP/1.1\r\nHost: a\r\n\r\n`);
  await pause(100);
  // A server that closed at once would have reset the connection by now: this write fails.
  client.write('z'.repeat(10_000));
  await pause(100);
  client.end();
  await closed;

  assert.equal(failure, undefined, 'no reset while the client was still sending');
  const [head, body] = answer.split('\r\n\r\n');
  assert.match(head!, /^HTTP\/1\.1 431 /);
  assert.match(head!, /\r\nConnection: close/i);
  assert.deepEqual(JSON.parse(body!), {
    statusCode: 431,
    name: 'validation_error',
    message: 'The request line or headers are larger than 16 KB.',
  });
});

test('malformed HTTP gets a 400 in Resend shape', async (t) => {
  const port = await listening(t);
  const client = connect({ port, host: '127.0.0.1' });
  let answer = '';
  client.on('data', (d) => {
    answer += d;
  });
  const closed = new Promise((r) => client.once('close', r));
  client.write('GET / HTTP/1.1\r\nHost a\r\n\r\n');
  await closed;
  assert.match(answer, /^HTTP\/1\.1 400 /);
  assert.equal(JSON.parse(answer.split('\r\n\r\n')[1]!).name, 'validation_error');
});
