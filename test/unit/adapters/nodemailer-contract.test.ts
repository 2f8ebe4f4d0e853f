import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { after, before, mock, type TestContext, test } from 'node:test';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { assertPinnedExactly } from '../../support/pinned.js';

/**
 * Contract tests for the nodemailer internals adapters/smtp-session.ts relies on: the
 * SMTPConnection methods it wraps on each connection (instrument()), the one it calls, and
 * the private state it reads and resets. None is typed API, so a release may change any of
 * them without notice; each test here fails naming the internal when it does. Connections
 * run against in-memory SMTP peers handed out by a stubbed net.connect: no network.
 */

const DEPENDANT = 'adapters/smtp-session.ts';
const require = createRequire(import.meta.url);
const installed = (require('nodemailer/package.json') as { version: string }).version;

function broken(internal: string, change: string, use: string): string {
  return (
    `nodemailer ${installed}: SMTPConnection#${internal} ${change}. ${DEPENDANT} depends on it ` +
    `(${use}); adapt it before changing the pinned version.`
  );
}

/** The private surface adapters/smtp-session.ts uses (its Internals interface). */
interface Internals {
  _socket: unknown;
  _responseQueue: string[];
  _remainder: string;
  _destroyed: boolean;
  upgrading?: boolean;
  _ehloLines?: string[];
  _envelope?:
    | {
        accepted?: string[];
        rejected?: string[];
        rejectedErrors?: { recipient?: string; response?: string }[];
        mailError?: { response?: string };
      }
    | false;
  _onConnect(): void;
  _onData(chunk: Buffer): void;
  _processResponse(): unknown;
  _createSendStream(callback: unknown): NodeJS.EventEmitter;
  _sendCommand(str: string, logStr?: string): void;
  _upgradeConnection(callback: (err: Error | null, secured?: boolean) => void): void;
  _onError(err: Error, type: string, data: string | false, command: string): void;
}

interface SmtpError extends Error {
  code?: string;
  command?: string;
  response?: string;
}

function requireMethod(name: keyof Internals, arity: number, use: string): void {
  const fn = (SMTPConnection.prototype as unknown as Record<string, unknown>)[name];
  assert.equal(typeof fn, 'function', broken(name, 'is no longer a method of SMTPConnection.prototype', use));
  const length = (fn as (...args: never[]) => unknown).length;
  assert.equal(length, arity, broken(name, `now declares ${length} parameters, not ${arity}`, use));
}

/** Rejects with `failure` when `p` does not settle in time: a changed internal can also hang. */
async function within<T>(p: Promise<T>, failure: string, ms = 2_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message: failure })), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Waits, turn by turn, until `condition` holds; fails with `failure` after `ms`. */
async function until(condition: () => boolean, failure: string, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new assert.AssertionError({ message: failure });
    await tick();
  }
}

// ---- an in-memory SMTP peer ----

/** The peer's answer to one client command ('.' for the end of the message), or undefined for the default. */
type Responder = (command: string) => string | undefined;

const EHLO_REPLY = '250-mx.test\r\n250-8BITMIME\r\n250 SIZE 1000000\r\n';

function defaultReply(command: string): string {
  const verb = command.split(/[ :]/)[0]!.toUpperCase();
  switch (verb) {
    case 'EHLO':
      return EHLO_REPLY;
    case 'MAIL':
      return '250 2.1.0 ok\r\n';
    case 'RCPT':
      return '250 2.1.5 ok\r\n';
    case 'DATA':
      return '354 go ahead\r\n';
    case '.':
      return '250 2.0.0 queued\r\n';
    case 'RSET':
      return '250 2.0.0 ok\r\n';
    case 'QUIT':
      return '221 2.0.0 bye\r\n';
    case 'STARTTLS':
      return '220 2.0.0 ready\r\n';
    default:
      return '500 5.5.1 unrecognized\r\n';
  }
}

/**
 * The server end of a connection, as the Duplex nodemailer writes to and reads from. Commands
 * are answered asynchronously, as over a real socket. After a 220 to STARTTLS it stops
 * parsing and keeps what the client sent in `tlsBytes`.
 */
class FakeMx extends Duplex {
  readonly commands: string[] = [];
  readonly messages: string[] = [];
  tlsBytes = Buffer.alloc(0);
  // The parts of net.Socket that nodemailer reads or calls.
  readonly remoteAddress = '192.0.2.25';
  readonly remotePort = 25;
  readonly localAddress = '192.0.2.1';
  readonly localPort = 49152;
  #buffer = '';
  #inData = false;
  #tls = false;

  constructor(private readonly respond: Responder) {
    super();
  }

  setTimeout(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setNoDelay(): this {
    return this;
  }

  /** Sends raw bytes to the client (binary string). */
  send(bytes: string): void {
    this.push(Buffer.from(bytes, 'binary'));
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.#tls) this.tlsBytes = Buffer.concat([this.tlsBytes, chunk]);
    else {
      this.#buffer += chunk.toString('binary');
      this.#parse();
    }
    done();
  }

  #parse(): void {
    for (;;) {
      if (this.#inData) {
        const end = this.#buffer.indexOf('\r\n.\r\n');
        if (end < 0) return;
        this.messages.push(this.#buffer.slice(0, end + 2));
        this.#buffer = this.#buffer.slice(end + 5);
        this.#inData = false;
        this.#answer('.');
      } else {
        const eol = this.#buffer.indexOf('\r\n');
        if (eol < 0) return;
        const line = this.#buffer.slice(0, eol);
        this.#buffer = this.#buffer.slice(eol + 2);
        this.#answer(line);
      }
    }
  }

  #answer(command: string): void {
    this.commands.push(command);
    const reply = this.respond(command) ?? defaultReply(command);
    if (command === 'DATA' && reply.startsWith('354')) this.#inData = true;
    if (command === 'STARTTLS' && reply.startsWith('220')) this.#tls = true;
    if (reply) setImmediate(() => this.send(reply));
  }
}

interface Dialled {
  conn: SMTPConnection;
  internals: Internals;
  mx: FakeMx;
  errors: SmtpError[];
}

/** What the stubbed net.connect does for each address dial() hands out. */
const peers = new Map<string, { mx: FakeMx; greeting: string; refuse: boolean }>();
let nextHost = 1;

// No network in unit tests: net.connect hands out the FakeMx dialled for the address. The
// connect callback runs on the next turn and the greeting follows it, as over TCP.
before(() => {
  mock.method(net, 'connect', ((opts: { host?: string }, onConnect: () => void) => {
    const peer = peers.get(opts.host ?? '');
    if (!peer) throw new Error(`no in-memory peer at ${opts.host}`);
    setImmediate(() => {
      if (peer.refuse) {
        const refusal = new Error(`connect ECONNREFUSED ${opts.host}:25`);
        peer.mx.destroy(Object.assign(refusal, { code: 'ECONNREFUSED' }));
        return;
      }
      onConnect();
      peer.mx.send(peer.greeting);
    });
    return peer.mx;
  }) as unknown as typeof net.connect);
});
after(() => mock.restoreAll());

/**
 * A connection as openOnce() in adapters/smtp-session.ts builds it, to a FakeMx of its own.
 * `refuse` makes the TCP connection fail instead.
 */
function dial(
  t: TestContext,
  respond: Responder = () => undefined,
  options: { opportunisticTLS?: boolean; greeting?: string; refuse?: boolean } = {},
): Dialled {
  const mx = new FakeMx(respond);
  const host = `192.0.2.${nextHost++}`;
  peers.set(host, {
    mx,
    greeting: options.greeting ?? '220 mx.test ESMTP\r\n',
    refuse: options.refuse === true,
  });
  const conn = new SMTPConnection({
    host,
    port: 25,
    name: 'client.test',
    secure: false,
    opportunisticTLS: options.opportunisticTLS === true,
    ignoreTLS: options.opportunisticTLS !== true,
    tls: { rejectUnauthorized: false },
    logger: false,
    socketCloseTimeout: 0,
  });
  const errors: SmtpError[] = [];
  conn.on('error', (err: SmtpError) => errors.push(err));
  t.after(() => conn.close());
  return { conn, internals: conn as unknown as Internals, mx, errors };
}

/** connect() to completion: EHLO answered (and STARTTLS settled), or the set-up error. */
function connect(d: Dialled): Promise<SmtpError | null> {
  return new Promise((resolve) => {
    d.conn.once('error', (err: SmtpError) => resolve(err));
    d.conn.connect((err?: SmtpError) => resolve(err ?? null));
  });
}

/** One send() to completion: its error, or null. */
function send(
  d: Dialled,
  recipients: string[],
  message = 'Subject: t\r\n\r\nbody\r\n',
): Promise<SmtpError | null> {
  return new Promise((resolve) => {
    d.conn.send({ from: 'sender@client.test', to: recipients }, Buffer.from(message), (err) =>
      resolve((err ?? null) as SmtpError | null),
    );
  });
}

async function connected(t: TestContext, respond?: Responder): Promise<Dialled> {
  const d = dial(t, respond);
  const err = await within(connect(d), 'set-up against the in-memory peer did not finish');
  assert.equal(err, null, `set-up against the in-memory peer failed: ${err?.message}`);
  return d;
}

// ---- the pin ----

test('nodemailer: installed version is the one pinned exactly in package.json and package-lock.json', () => {
  assertPinnedExactly(
    'nodemailer',
    installed,
    `${DEPENDANT} wraps private methods of SMTPConnection that any release may change`,
  );
});

// ---- the wrapped methods ----

test('SMTPConnection#_onConnect: called through the instance once TCP is up, never when it fails', async (t) => {
  const use = 'instrument() wraps it to tell a failed TCP connect from a missing greeting';
  requireMethod('_onConnect', 0, use);

  const d = dial(t);
  const calls: number[] = [];
  const original = d.internals._onConnect;
  d.internals._onConnect = function (this: Internals, ...args: unknown[]) {
    calls.push(args.length);
    original.call(this);
  };
  const err = await within(connect(d), broken('_onConnect', 'wrapped, no longer completes the set-up', use));
  assert.equal(err, null, broken('_onConnect', `wrapped, the set-up failed: ${err?.message}`, use));
  assert.deepEqual(
    calls,
    [0],
    broken('_onConnect', 'is not called once through the instance on connect', use),
  );
  assert.match(
    d.mx.commands[0] ?? '',
    /^EHLO /,
    broken('_onConnect', 'called through no longer leads to EHLO', use),
  );

  const refused = dial(t, undefined, { refuse: true });
  let called = false;
  refused.internals._onConnect = () => {
    called = true;
  };
  const refusal = await within(
    connect(refused),
    broken('_onConnect', 'a refused connect is not reported', use),
  );
  assert.equal(called, false, broken('_onConnect', 'is called for a connection that failed', use));
  assert.equal(refusal?.command, 'CONN', broken('_onConnect', 'a refused connect is not a CONN error', use));
});

test('SMTPConnection#_onData: every chunk from the socket goes through the instance as a Buffer', async (t) => {
  const use = 'instrument() wraps it to notice reply bytes during DATA and to bound reply lines';
  requireMethod('_onData', 1, use);

  const d = dial(t);
  const chunks: Buffer[] = [];
  const original = d.internals._onData;
  d.internals._onData = function (this: Internals, chunk: Buffer) {
    chunks.push(chunk);
    original.call(this, chunk);
  };
  const err = await within(connect(d), broken('_onData', 'wrapped, no longer completes the set-up', use));
  assert.equal(err, null, broken('_onData', `wrapped, the set-up failed: ${err?.message}`, use));
  assert.ok(
    chunks.every((c) => Buffer.isBuffer(c)),
    broken('_onData', 'receives something other than Buffer chunks', use),
  );
  assert.equal(
    Buffer.concat(chunks).toString('binary'),
    `220 mx.test ESMTP\r\n${EHLO_REPLY}`,
    broken('_onData', 'does not see every byte the server sent', use),
  );
});

test('SMTPConnection#_processResponse: called through the instance for each complete reply, which is _responseQueue[0]', async (t) => {
  const use =
    'instrument() wraps it to check every reply (RFC 5321 §4.2) before nodemailer acts on it, reading it from _responseQueue[0]';
  requireMethod('_processResponse', 0, use);

  const d = dial(t);
  const seen: string[] = [];
  const original = d.internals._processResponse;
  d.internals._processResponse = function (this: Internals) {
    const raw = d.internals._responseQueue?.[0];
    if (raw?.trim()) seen.push(raw);
    return original.call(this);
  };
  const err = await within(
    connect(d),
    broken('_processResponse', 'wrapped, no longer completes the set-up', use),
  );
  assert.equal(err, null, broken('_processResponse', `wrapped, the set-up failed: ${err?.message}`, use));
  // A multi-line reply is one queue entry, its lines joined by LF without CR.
  assert.deepEqual(
    seen,
    ['220 mx.test ESMTP', '250-mx.test\n250-8BITMIME\n250 SIZE 1000000'],
    broken('_processResponse', 'no longer sees each whole reply at _responseQueue[0]', use),
  );

  // Not calling through is how instrument() refuses a reply: nodemailer must not act on it by
  // another path. Here a malformed greeting gets no EHLO.
  const refused = dial(t, undefined, { greeting: 'hello, no code\r\n' });
  const wrapped = refused.internals._processResponse;
  refused.internals._processResponse = function (this: Internals) {
    if (refused.internals._responseQueue?.[0] === 'hello, no code') {
      refused.internals._responseQueue = [];
      refused.internals._remainder = '';
      refused.internals._onError(new Error('Protocol error: test'), 'EPROTOCOL', false, 'CONN');
      return;
    }
    return wrapped.call(this);
  };
  const failure = await within(
    connect(refused),
    broken('_processResponse', 'refusing a reply no longer ends the set-up', use),
  );
  await tick();
  assert.equal(
    failure?.code,
    'EPROTOCOL',
    broken('_processResponse', 'refusing a reply does not fail the set-up', use),
  );
  assert.deepEqual(
    refused.mx.commands,
    [],
    broken('_processResponse', 'a reply it did not pass on was acted upon anyway', use),
  );
});

test('SMTPConnection#_createSendStream: called through the instance after 354; its stream ends once CRLF.CRLF is written', async (t) => {
  const use =
    'instrument() wraps it to know when DATA starts, whether replies were queued before it, and when the final dot left';
  requireMethod('_createSendStream', 1, use);

  // The peer answers DATA with 354 and, out of turn, a 250 in the same segment.
  const d = await connected(t, (c) => (c === 'DATA' ? '354 go ahead\r\n250 2.0.0 early\r\n' : undefined));
  const calls: { queued: string[] }[] = [];
  let endedAfterDot: boolean | null = null;
  const original = d.internals._createSendStream;
  d.internals._createSendStream = function (this: Internals, callback: unknown) {
    calls.push({ queued: [...(d.internals._responseQueue ?? [])] });
    const stream = original.call(this, callback);
    stream.once('end', () => {
      // DataStream ends after its last chunk went to socket.write; the peer parses synchronously.
      endedAfterDot = d.mx.messages.length === 1;
    });
    return stream;
  };
  await within(
    send(d, ['rcpt@dest.test']),
    broken('_createSendStream', 'wrapped, the send never completes', use),
  );
  assert.equal(
    calls.length,
    1,
    broken('_createSendStream', 'is not called through the instance by send()', use),
  );
  assert.deepEqual(
    calls[0]!.queued,
    ['250 2.0.0 early'],
    broken('_createSendStream', 'is no longer called with replies that came with the 354 still queued', use),
  );
  assert.equal(
    endedAfterDot,
    true,
    broken('_createSendStream', "returns a stream whose 'end' does not follow writing CRLF.CRLF", use),
  );
});

test('SMTPConnection#_socket: the socket the message stream is piped to', async (t) => {
  const use =
    'instrument() corks it while the message and its final dot are written, so both leave in one write';
  const d = await connected(t);
  let socketAtData: unknown = null;
  // A copy: the pipe is undone when the message ends.
  let pipedTo: unknown[] = [];
  const original = d.internals._createSendStream;
  d.internals._createSendStream = function (this: Internals, callback: unknown) {
    const stream = original.call(this, callback);
    socketAtData = d.internals._socket;
    pipedTo = [...(stream as unknown as { _readableState: { pipes: unknown[] } })._readableState.pipes];
    return stream;
  };
  await within(send(d, ['rcpt@dest.test']), broken('_socket', 'observed, the send never completes', use));
  assert.equal(socketAtData, d.mx, broken('_socket', 'is not the connection socket when DATA starts', use));
  assert.ok(pipedTo.includes(d.mx), broken('_socket', 'is not where the message stream is piped', use));
});

test('SMTPConnection#_sendCommand(str): called through the instance with each command line, in order', async (t) => {
  const use = 'traceCommands() wraps it to start a span per SMTP command when tracing is on';
  requireMethod('_sendCommand', 2, use);

  const d = dial(t);
  const lines: string[] = [];
  const original = d.internals._sendCommand;
  d.internals._sendCommand = function (this: Internals, str: string, logStr?: string) {
    lines.push(str);
    original.call(this, str, logStr);
  };
  const err = await within(
    connect(d),
    broken('_sendCommand', 'wrapped, no longer completes the set-up', use),
  );
  assert.equal(err, null, broken('_sendCommand', `wrapped, the set-up failed: ${err?.message}`, use));
  await within(send(d, ['rcpt@dest.test']), broken('_sendCommand', 'wrapped, the send never completes', use));
  assert.deepEqual(
    lines,
    d.mx.commands.filter((c) => c !== '.'),
    broken('_sendCommand', 'no longer carries every command line the peer receives', use),
  );
  assert.deepEqual(
    lines.map((l) => l.split(' ')[0]),
    ['EHLO', 'MAIL', 'RCPT', 'DATA'],
    broken('_sendCommand', 'no longer sends EHLO, MAIL, RCPT and DATA through the instance', use),
  );
});

test('SMTPConnection#_upgradeConnection(callback): called through the instance after 220 to STARTTLS, starting the handshake', async (t) => {
  const use = 'traceCommands() wraps it for a span around the TLS handshake when tracing is on';
  requireMethod('_upgradeConnection', 1, use);

  const d = dial(t, (c) => (c.startsWith('EHLO') ? '250-mx.test\r\n250 STARTTLS\r\n' : undefined), {
    opportunisticTLS: true,
  });
  const calls: unknown[] = [];
  const original = d.internals._upgradeConnection;
  d.internals._upgradeConnection = function (this: Internals, callback) {
    calls.push(callback);
    original.call(this, callback);
  };
  void connect(d);
  // The in-memory peer speaks no TLS: the handshake starts (a ClientHello) and stays pending.
  await until(
    () => d.mx.tlsBytes.length > 0,
    broken('_upgradeConnection', 'wrapped, no TLS handshake starts after 220 to STARTTLS', use),
  );
  assert.equal(calls.length, 1, broken('_upgradeConnection', 'is not called through the instance', use));
  assert.equal(
    typeof calls[0],
    'function',
    broken('_upgradeConnection', 'is no longer given a callback', use),
  );
});

// ---- the method called ----

test('SMTPConnection#_onError(err, type, data, command): fails the send in flight and the connection', async (t) => {
  const use =
    'instrument() calls it to fail a connection with EPROTOCOL, openOnce() to end a TCP connect timeout';
  requireMethod('_onError', 4, use);

  const d = await connected(t, (c) => (c === 'DATA' ? '' : undefined)); // DATA never answered
  const ended = new Promise<void>((resolve) => d.conn.once('end', () => resolve()));
  const sending = send(d, ['rcpt@dest.test']);
  await until(() => d.mx.commands.at(-1) === 'DATA', 'the client never sent DATA');
  d.internals._onError(new Error('Protocol error: test'), 'EPROTOCOL', false, 'CONN');
  const err = await within(sending, broken('_onError', 'no longer calls back the send in flight', use));
  assert.equal(err?.code, 'EPROTOCOL', broken('_onError', 'no longer sets the error code from `type`', use));
  assert.equal(err?.command, 'CONN', broken('_onError', 'no longer sets the command from `command`', use));
  assert.match(err?.message ?? '', /^Protocol error: test/, broken('_onError', 'changes the message', use));
  assert.deepEqual(
    d.errors.map((e) => e.code),
    ['EPROTOCOL'],
    broken('_onError', "no longer emits 'error' once", use),
  );
  await within(ended, broken('_onError', "no longer closes the connection ('end')", use));
});

// ---- the state read and reset ----

test('SMTPConnection#_remainder: the unterminated tail of what the server sent, a string', async (t) => {
  const use = 'instrument() bounds a reply line by its length and clears it when it fails a connection';
  const d = await connected(t);
  assert.equal(d.internals._remainder, '', broken('_remainder', 'is not empty after complete replies', use));
  d.mx.send('250-no line end yet');
  await tick();
  assert.equal(
    d.internals._remainder,
    '250-no line end yet',
    broken('_remainder', 'no longer holds the unterminated line', use),
  );
});

test('SMTPConnection#_responseQueue: replies received and not yet handled, one entry per reply', async (t) => {
  const use = 'SmtpSession.send() treats a reply still queued next to the reply to the dot as unsolicited';
  // The peer answers the dot twice in one segment.
  const d = await connected(t, (c) => (c === '.' ? '250 2.0.0 queued\r\n250 2.0.0 again\r\n' : undefined));
  let queued: string[] | undefined;
  const err = await new Promise<SmtpError | null>((resolve) => {
    d.conn.send({ from: 'sender@client.test', to: ['rcpt@dest.test'] }, Buffer.from('x\r\n'), (e) => {
      queued = Array.isArray(d.internals._responseQueue) ? [...d.internals._responseQueue] : undefined;
      resolve((e ?? null) as SmtpError | null);
    });
  });
  assert.equal(err, null, `the send failed: ${err?.message}`);
  assert.deepEqual(
    queued,
    ['250 2.0.0 again'],
    broken('_responseQueue', 'does not hold the reply after the one handled in the send callback', use),
  );
});

test('SMTPConnection#_destroyed: false while the connection is usable, true once it is torn down', async (t) => {
  const use = 'instrument() checks it so that a connection already torn down is not failed again';
  const d = await connected(t);
  assert.equal(d.internals._destroyed, false, broken('_destroyed', 'is not false on a live connection', use));
  d.mx.push(null); // the server closes
  d.mx.destroy();
  await within(
    new Promise<void>((resolve) => d.conn.once('end', () => resolve())),
    broken('_destroyed', "close by the server gives no 'end'", use),
  );
  assert.equal(
    d.internals._destroyed,
    true,
    broken('_destroyed', 'is not true after the server closed', use),
  );
});

test('SMTPConnection#upgrading: true from the 220 to STARTTLS through a failed handshake', async (t) => {
  const use = 'setupPhase() reads it to file a set-up error under phase "starttls"';
  const d = dial(t, (c) => (c.startsWith('EHLO') ? '250-mx.test\r\n250 STARTTLS\r\n' : undefined), {
    opportunisticTLS: true,
  });
  const settled = connect(d);
  await until(() => d.mx.tlsBytes.length > 0, 'the client never started the TLS handshake');
  assert.equal(d.internals.upgrading, true, broken('upgrading', 'is not true during the TLS handshake', use));
  d.mx.send('this is not TLS\r\n');
  const err = await within(settled, broken('upgrading', 'a failed handshake does not end the set-up', use));
  assert.ok(err, 'a failed handshake must fail the set-up');
  assert.notEqual(
    err.command,
    'STARTTLS',
    'a failed handshake is a CONN error; the phase comes from `upgrading`',
  );
  assert.equal(
    d.internals.upgrading,
    true,
    broken('upgrading', 'is reset before the set-up error reaches the caller', use),
  );
});

test('SMTPConnection#_ehloLines: the EHLO keywords in plaintext, also after a refused STARTTLS', async (t) => {
  const use = 'openSmtpSession() reads it to report STARTTLS offered but refused or not tried (tlsFallback)';
  const ehlo = '250-mx.test greets you\r\n250-PIPELINING\r\n250-STARTTLS\r\n250 SIZE 1000\r\n';
  const expected = ['PIPELINING', 'STARTTLS', 'SIZE 1000'];

  const ignored = dial(t, (c) => (c.startsWith('EHLO') ? ehlo : undefined));
  assert.equal(await within(connect(ignored), 'set-up did not finish'), null);
  assert.deepEqual(
    ignored.internals._ehloLines,
    expected,
    broken('_ehloLines', 'no longer lists the keywords (without codes and greeting) under ignoreTLS', use),
  );

  const refused = dial(
    t,
    (c) => (c.startsWith('EHLO') ? ehlo : c === 'STARTTLS' ? '454 4.7.0 no TLS\r\n' : undefined),
    {
      opportunisticTLS: true,
    },
  );
  assert.equal(await within(connect(refused), 'set-up did not finish'), null);
  assert.equal(refused.conn.secure, false);
  assert.deepEqual(
    refused.internals._ehloLines,
    expected,
    broken('_ehloLines', 'no longer lists the plaintext keywords after a refused STARTTLS', use),
  );
});

test('SMTPConnection#_envelope: accepted, rejected, rejectedErrors and mailError of the last transaction', async (t) => {
  const use = 'sendResultOf() reads it when a send fails after RCPT, to tell which recipients were refused';
  const d = await connected(t, (c) => {
    if (c === 'RCPT TO:<no@dest.test>') return '550 5.1.1 no such user\r\n';
    if (c === '.') return '451 4.3.0 try later\r\n';
    return undefined;
  });
  const err = await within(send(d, ['yes@dest.test', 'no@dest.test']), 'the send never completed');
  assert.equal(err?.code, 'EMESSAGE');
  const env = d.internals._envelope;
  assert.ok(env, broken('_envelope', 'is not kept after the transaction ended', use));
  assert.deepEqual(env.accepted, ['yes@dest.test'], broken('_envelope', 'accepted changed', use));
  assert.deepEqual(env.rejected, ['no@dest.test'], broken('_envelope', 'rejected changed', use));
  assert.deepEqual(
    env.rejectedErrors?.map((e) => [e.recipient, e.response]),
    [['no@dest.test', '550 5.1.1 no such user']],
    broken('_envelope', 'rejectedErrors no longer carry recipient and response', use),
  );
  assert.equal(env.mailError, undefined, broken('_envelope', 'mailError set without a MAIL refusal', use));

  const refusedMail = await connected(t, (c) => (c.startsWith('MAIL') ? '451 4.7.1 later\r\n' : undefined));
  await within(send(refusedMail, ['yes@dest.test']), 'the send never completed');
  const mailEnv = refusedMail.internals._envelope;
  assert.equal(
    mailEnv ? mailEnv.mailError?.response : mailEnv,
    '451 4.7.1 later',
    broken('_envelope', 'mailError no longer holds the refusal of MAIL FROM', use),
  );
});
