import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, test } from 'node:test';
import pino from 'pino';
import { createCpuPool } from '../../../adapters/cpu-pool.js';
import { type DkimSignParams, dkimSignatureFields } from '../../../adapters/dkim.js';
import { type ComposeInput, composeMime } from '../../../adapters/mime.js';

/** Real worker threads: what they hand back must be what the calling thread would have made. */
const pool = createCpuPool({ size: 2, log: pino({ level: 'silent' }) });
after(() => pool.close());

const params: DkimSignParams = {
  domain: 'acme.test',
  keys: [
    {
      algorithm: 'rsa',
      selector: 'r',
      privateKey: generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
    },
    { algorithm: 'ed25519', selector: 'e', privateKey: generateKeyPairSync('ed25519').privateKey },
  ],
  signTime: new Date('2026-12-06T12:00:00Z'),
};
const message = Buffer.from(
  'From: a@acme.test\r\nTo: b@rcpt.test\r\nSubject: hi\r\n\r\nHello \t there  \r\n\r\n',
);

test('signature fields from a worker equal those signed on the calling thread (both algorithms)', async () => {
  // RSA PKCS#1 v1.5 and Ed25519 signatures are deterministic: same input, same bytes.
  const [inWorker, here] = await Promise.all([
    pool.signatureFields(message, params),
    dkimSignatureFields(message, params),
  ]);
  assert.ok(inWorker && here);
  assert.equal(inWorker.toString('latin1'), here.toString('latin1'));
  assert.match(inWorker.toString('latin1'), /^DKIM-Signature: v=1; a=rsa-sha256;/);
});

test('a message that cannot go on the wire is refused with the signer’s own error', async () => {
  await assert.rejects(pool.signatureFields(Buffer.from('Subject: x\n\nbare LF\n'), params), {
    name: 'DkimWireError',
    message: /bare_cr_or_lf/,
  });
});

test('composition in a worker: attachments survive the trip; many tasks at once all come back', async () => {
  const input = (n: number): ComposeInput => ({
    from: { name: 'A', address: 'a@acme.test' },
    to: [`r${n}@rcpt.test`],
    cc: null,
    replyTo: null,
    subject: `message ${n}`,
    html: '<p>hi</p>',
    text: 'hi',
    headers: {},
    attachments: [
      { filename: 'x.bin', content: Buffer.from([0, 1, 2, 255]), contentType: null, contentId: null },
    ],
    messageId: `<${n}@acme.test>`,
    date: new Date('2026-12-06T12:00:00Z'),
  });
  const composed = await Promise.all(Array.from({ length: 50 }, (_, n) => pool.compose(input(n))));
  composed.forEach((mime, n) => {
    const text = mime.toString('latin1');
    assert.match(text, new RegExp(`^To: r${n}@rcpt\\.test\\r$`, 'm'));
    assert.match(text, /^AAEC\/w==\r$/m, 'the attachment, base64');
  });
  // Same headers as on the calling thread (MIME boundaries are random, so compare the head).
  const here = (await composeMime(input(0))).toString('latin1');
  const head = (s: string) => s.slice(0, s.indexOf('Content-Type'));
  assert.equal(head(composed[0]!.toString('latin1')), head(here));
});

test('a composition posted behind a wave of signatures starts before the signatures still waiting', async () => {
  const solo = createCpuPool({ size: 1, log: pino({ level: 'silent' }) });
  try {
    await solo.signatureFields(message, params); // the worker is up
    const done: string[] = [];
    const signs = Array.from({ length: 40 }, (_, n) =>
      solo.signatureFields(message, params).then(() => void done.push(`sign ${n}`)),
    );
    const compose = solo
      .compose({
        from: { name: null, address: 'a@acme.test' },
        to: ['b@rcpt.test'],
        cc: null,
        replyTo: null,
        subject: 'urgent',
        html: null,
        text: 'hi',
        headers: {},
        attachments: [],
        messageId: '<u@acme.test>',
        date: new Date('2026-12-06T12:00:00Z'),
      })
      .then(() => void done.push('compose'));
    await Promise.all([...signs, compose]);
    // In arrival order it would come last; ahead of the queue, it waits for the signatures
    // already started when it arrived (a few at most, not the forty).
    const at = done.indexOf('compose');
    assert.ok(at < 20, `the composition finished after ${at} of 40 signatures`);
  } finally {
    await solo.close();
  }
});

test('a worker that dies fails its tasks in flight, and the next task gets a new worker', async () => {
  // A stand-in worker body: answers sign tasks, exits on a compose task.
  const solo = createCpuPool({
    size: 1,
    log: pino({ level: 'silent' }),
    workerModule: new URL('./fixtures/exiting-cpu-worker.ts', import.meta.url),
  });
  try {
    assert.deepEqual(await solo.signatureFields(message, params), Buffer.from([1]));
    await assert.rejects(solo.compose({} as ComposeInput), /CPU worker exited \(code 3\)/);
    assert.deepEqual(await solo.signatureFields(message, params), Buffer.from([1]), 'a new worker took over');
  } finally {
    await solo.close();
  }
});
