import assert from 'node:assert/strict';
import { Socket } from 'node:net';
import { after, mock, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { SMTPServer } from 'smtp-server';
import { openSmtpSession } from '../../adapters/smtp-session.js';
import { DEFAULT_EGRESS_LIMITS, type EgressLimits } from '../../core/delivery/egress-limits.js';
import { siteKey } from '../../core/delivery/site.js';
import { createDispatcher, type Dispatcher } from '../../egress/dispatcher.js';

// A receiver on its own loopback address, sending from 127.0.0.2 as a Posthorn IP does.
const MX_ADDRESS = '127.0.1.21';
const MX_HOST = 'mx.egress.test';
const SOURCE_IP = '127.0.0.2';
const SITE = siteKey([MX_HOST]);

interface Connection {
  readonly sourceIp: string;
  transactions: number;
  readonly commands: string[];
}

interface Receiver {
  readonly port: number;
  readonly connections: Map<string, Connection>;
  readonly received: { connection: string; rcptTo: string[] }[];
  /** When each MAIL FROM arrived, ms (performance.now()). */
  readonly mailTimes: number[];
  /** Most connections open at once, as the receiver counts them (connect → close). */
  peakConcurrent: number;
  concurrent: number;
  close(): Promise<void>;
}

/** An smtp-server that counts what a real MX would: connections, concurrency, commands. */
async function startReceiver(
  opts: {
    dataDelayMs?: number;
    rcpt421?: string;
    rcpt550?: string;
    /** Drops the connection, without a reply, when a second MAIL arrives on it. */
    dropSecondMail?: boolean;
  } = {},
): Promise<Receiver> {
  const r: Receiver = {
    port: 0,
    connections: new Map(),
    received: [],
    mailTimes: [],
    peakConcurrent: 0,
    concurrent: 0,
    close: async () => {},
  };
  const noop = () => {};
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH'],
    disableReverseLookup: true,
    logger: false,
    onConnect(session, cb) {
      r.concurrent++;
      r.peakConcurrent = Math.max(r.peakConcurrent, r.concurrent);
      r.connections.set(session.id, {
        sourceIp: session.remoteAddress.replace(/^::ffff:/, ''),
        transactions: 0,
        commands: [],
      });
      cb();
    },
    onClose() {
      r.concurrent--;
    },
    onMailFrom(_address, session, cb) {
      const mails = r.connections.get(session.id)!.commands.filter((c) => c === 'MAIL').length;
      if (opts.dropSecondMail && mails >= 2) {
        for (const c of (server as unknown as { connections: Set<{ id: string; _socket: Socket }> })
          .connections)
          if (c.id === session.id) c._socket.destroy();
        return;
      }
      cb();
    },
    onRcptTo(address, _session, cb) {
      if (address.address === opts.rcpt550) {
        return cb(Object.assign(new Error('5.1.1 No such user'), { responseCode: 550 }));
      }
      if (address.address === opts.rcpt421) {
        return cb(
          Object.assign(new Error('4.7.0 Try again later, closing connection'), { responseCode: 421 }),
        );
      }
      cb();
    },
    onData(stream, session, cb) {
      stream.on('data', () => {});
      stream.on('end', async () => {
        if (opts.dataDelayMs) await delay(opts.dataDelayMs);
        r.connections.get(session.id)!.transactions++;
        r.received.push({ connection: session.id, rcptTo: session.envelope.rcptTo.map((a) => a.address) });
        cb();
      });
    },
  });
  // smtp-server logs every client command at debug level with the connection id: the
  // receiver's view of RSET and QUIT. Set after construction, as `logger: false` is what keeps
  // its default-certificate warning quiet.
  (server as unknown as { logger: object }).logger = {
    level: noop,
    trace: noop,
    info: noop,
    warn: noop,
    error: noop,
    fatal: noop,
    debug: (meta: { tnx?: string; cid?: string; command?: string }) => {
      if (meta?.tnx === 'command' && meta.cid && meta.command) {
        r.connections.get(meta.cid)?.commands.push(meta.command);
        if (meta.command === 'MAIL') r.mailTimes.push(performance.now());
      }
    },
  };
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, MX_ADDRESS, () => resolve());
  });
  return Object.assign(r, {
    port: (server.server.address() as { port: number }).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

function dispatcherFor(receiver: Receiver): Dispatcher {
  return createDispatcher({
    openSession: (target) =>
      openSmtpSession({
        address: target.address,
        mxHost: target.mxHost,
        port: receiver.port,
        localAddress: target.ip,
        ehloName: 'mta1.posthorn.test',
        timeouts: { connectMs: 5_000, greetingMs: 5_000, socketMs: 10_000 },
      }),
  });
}

function message(n: number): Buffer {
  return Buffer.from(
    `From: sender@posthorn.test\r\nTo: rcpt${n}@dest.test\r\nSubject: message ${n}\r\n\r\nbody ${n}\r\n`,
  );
}

async function deliver(d: Dispatcher, limits: EgressLimits, n: number, rcpt = `rcpt${n}@dest.test`) {
  const r = await d.acquire({ ip: SOURCE_IP, site: SITE, limits });
  assert.equal(r.kind, 'granted');
  if (r.kind !== 'granted') throw new Error('not granted');
  try {
    return await r.lease.send(
      { mxHost: MX_HOST, address: MX_ADDRESS },
      { mailFrom: 'bounces@posthorn.test', recipients: [rcpt] },
      message(n),
    );
  } finally {
    r.lease.release();
  }
}

const receivers: Receiver[] = [];
after(async () => {
  await Promise.all(receivers.map((r) => r.close()));
});

test('messages go over one kept connection, with RSET only after a transaction that failed', async () => {
  const receiver = await startReceiver({ rcpt550: 'nobody@dest.test' });
  receivers.push(receiver);
  const d = dispatcherFor(receiver);
  const limits: EgressLimits = { ...DEFAULT_EGRESS_LIMITS, maxConnections: 1 };
  for (const n of [1, 2]) {
    const result = await deliver(d, limits, n);
    assert.equal(result.kind, 'transaction');
    assert.equal(result.kind === 'transaction' && result.data.kind, 'accepted');
    // STARTTLS was offered and taken; the kept connection stays encrypted.
    assert.ok(result.kind === 'transaction' && result.tls?.version.startsWith('TLS'));
  }
  const refused = await deliver(d, limits, 3, 'nobody@dest.test');
  assert.equal(refused.kind === 'transaction' && refused.data.kind, 'not_sent');
  const after = await deliver(d, limits, 4);
  assert.equal(after.kind === 'transaction' && after.data.kind, 'accepted');
  await d.close();
  await delay(50);
  const connections = [...receiver.connections.values()];
  assert.equal(connections.length, 1, 'one connection');
  assert.equal(connections[0]!.sourceIp, SOURCE_IP);
  assert.equal(connections[0]!.transactions, 3, 'three messages taken');
  const commands = connections[0]!.commands.filter((c) => ['MAIL', 'RSET', 'DATA', 'QUIT'].includes(c));
  // RFC 5321 §4.1.1.4: a 2xx to the dot ends the transaction, so the next MAIL follows at
  // once; a MAIL whose recipients were all refused (DATA went pipelined with it, RFC 2920,
  // and was refused too) leaves one open, which RSET clears.
  assert.deepEqual(commands, [
    'MAIL',
    'DATA',
    'MAIL',
    'DATA',
    'MAIL',
    'DATA',
    'RSET',
    'MAIL',
    'DATA',
    'QUIT',
  ]);
  assert.equal(receiver.concurrent, 0, 'closed with QUIT on dispatcher close');
  assert.equal(d.stats()[0]?.sessionsOpened ?? 1, 1);
});

test('a message and its final dot leave in one write; a message larger than the socket buffer still drains', async () => {
  const receiver = await startReceiver();
  receivers.push(receiver);
  // Every batch of bytes the client's sockets (TCP, then TLS after STARTTLS) hand down to
  // their handles towards this receiver, one entry per write.
  const writes: Buffer[] = [];
  const toReceiver = (socket: Socket) => socket.remotePort === receiver.port;
  type WriteMethod = (this: Socket, ...args: unknown[]) => void;
  const proto = Socket.prototype as unknown as Record<'_write' | '_writev', WriteMethod>;
  const { _write: write, _writev: writev } = proto;
  mock.method(proto, '_write', function (this: Socket, chunk: unknown, ...rest: unknown[]) {
    if (toReceiver(this)) writes.push(Buffer.from(chunk as Buffer));
    write.call(this, chunk, ...rest);
  });
  mock.method(proto, '_writev', function (this: Socket, chunks: unknown, ...rest: unknown[]) {
    if (toReceiver(this))
      writes.push(Buffer.concat((chunks as { chunk: Buffer | string }[]).map((c) => Buffer.from(c.chunk))));
    writev.call(this, chunks, ...rest);
  });
  try {
    const d = dispatcherFor(receiver);
    const limits: EgressLimits = { ...DEFAULT_EGRESS_LIMITS, maxConnections: 1 };
    const small = await deliver(d, limits, 1);
    assert.equal(small.kind === 'transaction' && small.data.kind, 'accepted');
    const body = writes.find((w) => w.includes('body 1'));
    assert.ok(body, 'the message was written');
    assert.ok(body.toString('latin1').endsWith('body 1\r\n.\r\n'), 'the final dot went with the message');
    // 2 MB: many times the socket's 16 KB high-water mark, so the pipe waits for 'drain'.
    const big = Buffer.concat([message(2), Buffer.from(`${'y'.repeat(998)}\r\n`.repeat(2_000))]);
    const r = await d.acquire({ ip: SOURCE_IP, site: SITE, limits });
    assert.equal(r.kind, 'granted');
    if (r.kind !== 'granted') return;
    const large = await r.lease.send(
      { mxHost: MX_HOST, address: MX_ADDRESS },
      { mailFrom: 'bounces@posthorn.test', recipients: ['rcpt2@dest.test'] },
      big,
    );
    r.lease.release();
    assert.equal(large.kind === 'transaction' && large.data.kind, 'accepted');
    await d.close();
    assert.deepEqual(
      receiver.received.map((m) => m.rcptTo),
      [['rcpt1@dest.test'], ['rcpt2@dest.test']],
    );
  } finally {
    mock.restoreAll();
  }
});

test('a kept connection the server drops at the next MAIL: the message goes out on a fresh one', async () => {
  const receiver = await startReceiver({ dropSecondMail: true });
  receivers.push(receiver);
  const d = dispatcherFor(receiver);
  const limits: EgressLimits = { ...DEFAULT_EGRESS_LIMITS, maxConnections: 1 };
  for (const n of [1, 2]) {
    const result = await deliver(d, limits, n);
    assert.equal(result.kind === 'transaction' && result.data.kind, 'accepted', `message ${n}`);
  }
  await d.close();
  await delay(50);
  assert.deepEqual(
    receiver.received.map((m) => m.rcptTo),
    [['rcpt1@dest.test'], ['rcpt2@dest.test']],
    'each message once',
  );
  assert.equal(receiver.connections.size, 2, 'the second message on a second connection');
});

test('with maxConnections=2, ten messages never use more than two connections at the receiver', async () => {
  const receiver = await startReceiver({ dataDelayMs: 40 });
  receivers.push(receiver);
  const d = dispatcherFor(receiver);
  const limits: EgressLimits = { ...DEFAULT_EGRESS_LIMITS, maxConnections: 2, maxMessagesPerConnection: 3 };
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => deliver(d, limits, i + 1)));
  assert.ok(results.every((r) => r.kind === 'transaction' && r.data.kind === 'accepted'));
  const [stats] = d.stats();
  await d.close();
  await delay(50);
  assert.equal(receiver.received.length, 10);
  assert.equal(receiver.peakConcurrent, 2, 'two connections at once, never more');
  const perConnection = [...receiver.connections.values()].map((c) => c.transactions);
  assert.ok(
    perConnection.every((n) => n >= 1 && n <= 3),
    `messages per connection ${perConnection}`,
  );
  assert.equal(perConnection.length, 4, `10 messages at ≤ 3 per connection: ${perConnection}`);
  assert.ok([...receiver.connections.values()].every((c) => c.sourceIp === SOURCE_IP));
  assert.equal(stats!.messagesSent, 10);
  assert.equal(stats!.peakConnections, 2);
});

test('a connection that got a 421 is not reused', async () => {
  const receiver = await startReceiver({ rcpt421: 'closing@dest.test' });
  receivers.push(receiver);
  const d = dispatcherFor(receiver);
  const limits: EgressLimits = { ...DEFAULT_EGRESS_LIMITS, maxConnections: 1 };
  const first = await deliver(d, limits, 1, 'closing@dest.test');
  assert.notEqual(first.kind === 'transaction' && first.data.kind, 'accepted');
  const second = await deliver(d, limits, 2);
  assert.equal(second.kind === 'transaction' && second.data.kind, 'accepted');
  await d.close();
  await delay(50);
  assert.equal(receiver.connections.size, 2, 'the second message came over a new connection');
  assert.equal(receiver.received.length, 1);
  assert.ok(receiver.peakConcurrent <= 1);
});

test('the message rate holds at the receiver', async () => {
  const receiver = await startReceiver();
  receivers.push(receiver);
  const d = dispatcherFor(receiver);
  const limits: EgressLimits = {
    ...DEFAULT_EGRESS_LIMITS,
    maxConnections: 3,
    messageRate: { count: 10, periodMs: 1000, burst: 1 },
  };
  const results = await Promise.all(Array.from({ length: 15 }, (_, i) => deliver(d, limits, i + 1)));
  assert.ok(results.every((r) => r.kind === 'transaction' && r.data.kind === 'accepted'));
  await d.close();
  const times = receiver.mailTimes;
  assert.equal(times.length, 15);
  // 10/s with no burst: at most 10 MAIL commands in any second. The window is shortened by
  // 10 ms for the scheduling jitter between taking the cell and the command arriving.
  for (const start of times) {
    const inWindow = times.filter((t) => t >= start && t < start + 990).length;
    assert.ok(inWindow <= 10, `${inWindow} messages within a second`);
  }
  assert.ok(times.at(-1)! - times[0]! >= 1300, 'fifteen messages take at least 1.4 s');
});
