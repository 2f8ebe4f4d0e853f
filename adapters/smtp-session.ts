import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { format } from 'node:util';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { parseSmtpReply, type SmtpPhase, type SmtpReply } from '../core/delivery/smtp-reply.js';
import type { DataResult, RcptResult, SmtpSendResult, TlsInfo } from '../core/delivery/smtp-result.js';
import type { Envelope, SessionFailure, TlsMode } from '../core/delivery/smtp-session-types.js';
import type { SmtpTraceBus, SmtpTraceLine, TraceDirection } from './live-smtp-trace.js';
import { type SmtpTrace, smtpTrace } from './smtp-tracing.js';

/**
 * A kept SMTP connection (nodemailer's SMTPConnection) from one source IP to one MX address:
 * connect once, then any number of transactions, RSET after one that failed (RFC 5321
 * §4.1.1.5), QUIT at the end (§4.1.1.10). nodemailer pipelines MAIL, RCPT and DATA when the
 * server offers PIPELINING (RFC 2920). Thin: it reports what the server said as typed values
 * and whether the connection is still fit for reuse; the egress dispatcher decides when to
 * reuse it.
 */
export interface SmtpSessionParams {
  /** The MX address to connect to (already resolved). */
  readonly address: string;
  /** The MX host name, for TLS SNI and for the record. */
  readonly mxHost: string;
  readonly port: number;
  /** Source IP to bind to, or null to let the OS pick. */
  readonly localAddress: string | null;
  /** EHLO name of the source IP (RFC 5321 §4.1.1.1: the client's FQDN). */
  readonly ehloName: string;
  readonly timeouts: SmtpTimeouts;
  /**
   * Whether a failed STARTTLS handshake may be followed by a plaintext session on a new
   * connection (RFC 7435 opportunistic TLS). Default true; false where policy requires TLS
   * (MTA-STS enforce, DANE, REQUIRETLS), which then fails the session in phase "starttls".
   * Only for `tls: 'opportunistic'`: the stricter modes never fall back.
   */
  readonly plaintextFallback?: boolean;
  /**
   * How STARTTLS is used (RFC 3207), default opportunistic:
   * - opportunistic: when offered, without authenticating the server (RFC 7435);
   * - plaintext: not even when offered (a host whose handshake failed recently);
   * - encrypt: required, any certificate (Postfix smtp_tls_security_level = encrypt);
   * - verify: required, and the certificate must chain to `ca` and name `mxHost` (MTA-STS
   *   enforce, RFC 8461 §4.2).
   * Under encrypt and verify a server that does not offer STARTTLS, refuses it or fails the
   * handshake fails the session in phase "starttls"; no command past EHLO is sent in clear.
   */
  readonly tls?: TlsMode;
  /** Trust anchors for `verify`, PEM; default Node's bundled CA list. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** The node's live SMTP trace; absent: the session's lines are never looked at. */
  readonly trace?: SmtpTraceBus;
}

/** The start of `tlsFallback` when a handshake failed and a new plaintext connection was made. */
export const HANDSHAKE_FALLBACK = 'TLS handshake failed';

/** Whether a `tlsFallback` says the handshake itself failed (not a refused STARTTLS). */
export function isHandshakeFallback(tlsFallback: string | null | undefined): boolean {
  return typeof tlsFallback === 'string' && tlsFallback.startsWith(HANDSHAKE_FALLBACK);
}

export interface SmtpTimeouts {
  /** TCP connect, ms. */
  readonly connectMs: number;
  /** Banner after connect, ms (RFC 5321 §4.5.3.2.1 suggests 5 min); also bounds the TLS handshake. */
  readonly greetingMs: number;
  /** Idle time on any command, ms (RFC 5321 §4.5.3.2: 5 min for MAIL/RCPT, 10 min after the dot). */
  readonly socketMs: number;
}

export interface SmtpSessionOptions {
  /** Longest wait for the reply to RSET before the connection is given up, ms. */
  readonly resetTimeoutMs?: number;
  /** Longest wait for the reply to QUIT and the socket to close, ms. */
  readonly closeTimeoutMs?: number;
}

interface NodemailerError extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  recipient?: string;
  rejectedErrors?: NodemailerError[];
}

interface TransactionState {
  accepted?: unknown[];
  rejected?: unknown[];
  rejectedErrors?: NodemailerError[];
  mailError?: unknown;
}

// ---- what the adapter watches beyond nodemailer's callbacks ----

/**
 * nodemailer internals of SMTPConnection the adapter wraps, calls and reads. They are not part
 * of its typed API, so package.json pins nodemailer exactly;
 * test/unit/adapters/nodemailer-contract.test.ts checks each against the pinned release and
 * test/integration/smtp-faults.test.ts proves each use on real sockets.
 */
interface Internals {
  /** The connection's socket (the TLS socket after STARTTLS); `false` before connect. */
  _socket: Socket | false;
  _responseQueue: string[];
  _remainder: string;
  _destroyed: boolean;
  upgrading?: boolean;
  _ehloLines?: string[];
  _envelope?: TransactionState | false;
  _onConnect(): void;
  _onData(chunk: Buffer): void;
  _processResponse(): unknown;
  _createSendStream(callback: unknown): NodeJS.EventEmitter;
  _sendCommand(str: string, logStr?: string): void;
  _upgradeConnection(callback: (err: Error | null, secured?: boolean) => void): void;
  _onError(err: Error, type: string, data: string | false, command: string): void;
}

/** Longest reply line accepted, octets. RFC 5321 §4.5.3.1.5 allows 512; real MTAs exceed it a little. */
export const MAX_REPLY_LINE = 4096;
/** Longest whole (multi-line) reply buffered before it is a protocol error, octets. */
export const MAX_REPLY_SIZE = 64 * 1024;

/** Facts about one connection that nodemailer's callbacks do not carry. */
interface Probe {
  /** The TCP connection was established. */
  tcpConnected: boolean;
  /** The first reply was a 220 greeting (RFC 5321 §4.2 / §3.1). */
  greeted: boolean;
  /** Complete replies handed to nodemailer. */
  replies: number;
  /** Between 354 and the end of the transaction. */
  inData: boolean;
  /** The whole message and its CRLF.CRLF were handed to the socket. */
  dotWritten: boolean;
  /** Reply bytes arrived while the message was still being sent: no reply can be due then. */
  earlyReply: boolean;
  /** Spans of the connection's commands, when tracing is on. */
  trace?: SmtpTrace | null;
}

const CODE_LINE = /^([2-5]\d\d)(?:[ -]|$)/;
const isPartial = (raw: string) => /^\d+-/.test(raw.slice(raw.lastIndexOf('\n') + 1));

/** Why a complete reply (lines joined by LF) is malformed, or null. */
export function malformedReply(raw: string): string | null {
  let code: string | null = null;
  for (const line of raw.split('\n')) {
    if (line.length > MAX_REPLY_LINE) return `reply line of ${line.length} octets (limit ${MAX_REPLY_LINE})`;
    const m = CODE_LINE.exec(line);
    // RFC 5321 §4.2: every line starts with a 2xx–5xx code and a space or hyphen; §4.2.1: "in a
    // multiline reply, the reply code on each of the lines MUST be the same".
    if (!m) return `reply line without a reply code: ${JSON.stringify(line.slice(0, 80))}`;
    if (code !== null && m[1] !== code) return `multi-line reply with codes ${code} and ${m[1]}`;
    code = m[1]!;
  }
  return null;
}

/** Something is queued or buffered that no command asked for yet. */
function unreadReplyBytes(i: Internals): boolean {
  return i._remainder.length > 0 || i._responseQueue.some((r) => r.trim().length > 0);
}

/**
 * Wraps the connection's reply handling: every reply is checked before nodemailer acts on it,
 * and the message stream tells when the final dot left. A violation fails the connection with
 * EPROTOCOL, which nodemailer reports to the send in flight and to 'error'.
 */
function instrument(conn: SMTPConnection, trace: SmtpTrace | null): Probe {
  const i = conn as unknown as Internals;
  const probe: Probe = {
    tcpConnected: false,
    greeted: false,
    replies: 0,
    inData: false,
    dotWritten: false,
    earlyReply: false,
  };
  // Guarded by test/unit/adapters/nodemailer-contract.test.ts, "SMTPConnection#_onError".
  const fail = (problem: string) => {
    i._responseQueue = [];
    i._remainder = '';
    i._onError(new Error(`Protocol error: ${problem}`), 'EPROTOCOL', false, 'CONN');
  };
  const { _onConnect, _onData, _processResponse, _createSendStream } = i;
  // Guarded by test/unit/adapters/nodemailer-contract.test.ts, "SMTPConnection#_onConnect".
  i._onConnect = function () {
    probe.tcpConnected = true;
    trace?.connected();
    _onConnect.call(this);
  };
  // Guarded by test/unit/adapters/nodemailer-contract.test.ts, "SMTPConnection#_onData".
  i._onData = function (chunk) {
    if (probe.inData && !probe.dotWritten && chunk.length > 0) probe.earlyReply = true;
    _onData.call(this, chunk);
    // nodemailer bounds an unterminated reply only at maxResponseSize; a line is bounded here.
    if (!i._destroyed && i._remainder.length > MAX_REPLY_LINE) {
      fail(`unterminated reply line over ${MAX_REPLY_LINE} octets`);
    }
  };
  // Guarded by test/unit/adapters/nodemailer-contract.test.ts, "SMTPConnection#_processResponse".
  i._processResponse = function () {
    const raw = i._responseQueue[0];
    if (!i._destroyed && raw !== undefined && raw.trim() && !isPartial(raw)) {
      const problem =
        malformedReply(raw) ??
        (probe.inData && probe.earlyReply ? 'reply received before the final dot was sent' : null);
      if (problem) return fail(problem);
      if (probe.replies === 0) probe.greeted = raw.startsWith('220');
      probe.replies++;
      trace?.reply(raw);
    }
    return _processResponse.call(this);
  };
  // Guarded by test/unit/adapters/nodemailer-contract.test.ts, "SMTPConnection#_createSendStream".
  i._createSendStream = function (callback) {
    const stream = _createSendStream.call(this, callback);
    trace?.body();
    probe.inData = true;
    probe.dotWritten = false;
    // Replies already queued when the message starts were sent before the server had any of
    // it (e.g. "354" and "250" in one segment): RFC 5321 §4.1.1.4, the reply comes after the dot.
    probe.earlyReply = unreadReplyBytes(i);
    // The DataStream ends once its last chunk, CRLF.CRLF, was handed to socket.write: it may
    // still sit in a buffer, so afterDot errs towards "the server may have it" (never the reverse).
    stream.once('end', () => {
      probe.dotWritten = true;
    });
    // nodemailer's DataStream hands the socket the message and its CRLF.CRLF as two chunks:
    // two syscalls and two segments per message. Corked until the check phase, after the
    // pipe has moved both in this turn, they leave as one write. Uncorking never waits for
    // 'end': a message larger than the socket's buffer must still drain.
    const socket = i._socket;
    if (socket) {
      socket.cork();
      setImmediate(() => socket.uncork());
    }
    return stream;
  };
  if (trace) traceCommands(i, trace);
  return probe;
}

/** Commands and the TLS handshake, seen for spans only (adapters/smtp-tracing.ts). */
function traceCommands(i: Internals, trace: SmtpTrace): void {
  const { _sendCommand, _upgradeConnection } = i;
  // Guarded by test/unit/adapters/nodemailer-contract.test.ts, "SMTPConnection#_sendCommand".
  i._sendCommand = function (str, logStr) {
    if (!i._destroyed) trace.command(str);
    _sendCommand.call(this, str, logStr);
  };
  // Guarded by test/unit/adapters/nodemailer-contract.test.ts, "SMTPConnection#_upgradeConnection".
  i._upgradeConnection = function (callback) {
    const done = trace.handshake();
    _upgradeConnection.call(this, (err, secured) => {
      done(err);
      callback(err, secured);
    });
  };
}

// ---- mapping nodemailer's callbacks to SmtpSendResult ----

export function replyOf(err: NodemailerError | undefined | null): SmtpReply | null {
  return typeof err?.response === 'string' ? parseSmtpReply(err.response) : null;
}

function describe(err: NodemailerError): string {
  return [err.code, err.message].filter(Boolean).join(': ');
}

function transactionOf(conn: SMTPConnection): TransactionState {
  return (conn as unknown as Internals)._envelope || {};
}

export function tlsOf(conn: SMTPConnection): TlsInfo | null {
  const socket = conn._socket as TLSSocket | null | false;
  if (!conn.secure || !socket || typeof socket.getCipher !== 'function') return null;
  return { version: socket.getProtocol() ?? 'unknown', cipher: socket.getCipher().name };
}

/** Phase a set-up error belongs to, from nodemailer's `command` and what the probe saw. */
function setupPhase(err: NodemailerError, conn: SMTPConnection, probe: Probe): SmtpPhase {
  switch (err.command) {
    case 'EHLO':
    case 'HELO':
    case 'LHLO':
      return 'ehlo';
    case 'STARTTLS':
      return 'starttls';
  }
  if ((conn as unknown as Internals).upgrading) return 'starttls';
  if (!probe.tcpConnected) return 'connect';
  // No reply yet (the greeting timed out) or a greeting other than 220 (421, 554).
  if (!probe.greeted) return 'greeting';
  return 'ehlo';
}

/** A set-up failure as a session_failed result. */
export function sessionFailureOf(err: NodemailerError, phase: SmtpPhase): SessionFailure {
  return { kind: 'session_failed', phase, reply: replyOf(err), detail: describe(err) };
}

/** What the session knew when a send ended, beyond nodemailer's callback. */
export interface SendContext {
  readonly tls: TlsInfo | null;
  readonly tlsFallback: string | null;
  /** The whole message including CRLF.CRLF had been handed to the socket. */
  readonly afterDot: boolean;
}

/**
 * What one `SMTPConnection.send` callback means, phase by phase. A connection lost before
 * the server answered any MAIL or RCPT command (a kept connection the server dropped while
 * idle, a 421 at MAIL) is `session_failed` in phase "mail": no message data went out, so the
 * message is safe to try on another connection.
 */
export function sendResultOf(
  conn: SMTPConnection,
  envelope: Envelope,
  err: NodemailerError | null,
  info: { response: string; rejectedErrors?: NodemailerError[] } | undefined,
  ctx: SendContext,
): SmtpSendResult {
  const { tls } = ctx;
  const fallback = ctx.tlsFallback === null ? {} : { tlsFallback: ctx.tlsFallback };
  if (!err && info) {
    const rejected = new Map((info.rejectedErrors ?? []).map((e) => [e.recipient, e]));
    return {
      kind: 'transaction',
      recipients: envelope.recipients.map((address) =>
        rejected.has(address)
          ? { address, accepted: false, reply: replyOf(rejected.get(address)) }
          : { address, accepted: true },
      ),
      data: {
        kind: 'accepted',
        reply: parseSmtpReply(info.response) ?? { code: 250, enhanced: null, text: info.response },
      },
      tls,
      ...fallback,
    };
  }
  const e: NodemailerError = err ?? new Error('send ended without a result');
  if (e.command === 'MAIL FROM') return { kind: 'mail_rejected', reply: replyOf(e), tls, ...fallback };
  if (e.command === 'RCPT TO' && e.rejectedErrors) {
    const byAddress = new Map(e.rejectedErrors.map((r) => [r.recipient, r]));
    return {
      kind: 'transaction',
      recipients: envelope.recipients.map((address) => ({
        address,
        accepted: false,
        reply: replyOf(byAddress.get(address)),
      })),
      data: { kind: 'not_sent' },
      tls,
      ...fallback,
    };
  }
  const state = transactionOf(conn);
  const answered = (state.accepted?.length ?? 0) + (state.rejected?.length ?? 0);
  if (answered === 0 && !state.mailError && e.code !== 'EMESSAGE' && e.command !== 'DATA' && !ctx.afterDot) {
    return { kind: 'session_failed', phase: 'mail', reply: replyOf(e), detail: describe(e) };
  }
  // Past RCPT: DATA refused, the final reply negative, or the connection lost. The error
  // does not carry the RCPT refusals, so they are read from the connection's envelope.
  const refused = new Map((state.rejectedErrors ?? []).map((r) => [r.recipient, r]));
  const rcpts: RcptResult[] = envelope.recipients.map((address) =>
    refused.has(address)
      ? { address, accepted: false, reply: replyOf(refused.get(address)) }
      : { address, accepted: true },
  );
  const data: DataResult =
    e.code === 'EMESSAGE' || (e.command === 'DATA' && typeof e.response === 'string')
      ? { kind: 'rejected', reply: replyOf(e) }
      : { kind: 'interrupted', detail: describe(e), afterDot: ctx.afterDot };
  return { kind: 'transaction', recipients: rcpts, data, tls, ...fallback };
}

/**
 * A refusal the server answered cleanly (a 4xx/5xx reply to MAIL, RCPT, DATA or the final
 * dot) leaves the connection fit for another transaction. Anything else (a timeout, a drop, a
 * malformed or oversized reply, a 421 which announces the server is closing, RFC 5321 §3.8)
 * does not.
 */
function leavesSessionUsable(err: NodemailerError): boolean {
  if (err.code !== 'EENVELOPE' && err.code !== 'EMESSAGE') return false;
  const reply = replyOf(err);
  return reply !== null && reply.code !== 421;
}

// ---- the live trace ----

/**
 * One connection's side of the live SMTP trace: nodemailer's transaction log (its `logger`
 * option with `transactionLog`: client commands and server replies, never message data)
 * turned into trace lines, tagged with the transaction in progress. With no subscriber a
 * line costs one check.
 */
class SessionTracer {
  /** The transaction in progress; undefined during set-up, RSET and QUIT. */
  tag: SmtpTraceLine['tag'];
  /** Lines before the first transaction are the session's set-up. */
  setup = true;
  readonly session: number;
  readonly logger: Record<
    'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal',
    (...args: unknown[]) => void
  >;

  constructor(
    private readonly bus: SmtpTraceBus,
    private readonly params: SmtpSessionParams,
  ) {
    this.session = bus.nextSession();
    // nodemailer logs commands and replies at debug with `tnx` client or server, and
    // connection events (connected, TLS upgraded, closed) at info.
    const line = (entry: unknown, message: unknown, ...args: unknown[]) => {
      if (!this.bus.active) return;
      const tnx = (entry as { tnx?: string } | undefined)?.tnx;
      const direction: TraceDirection = tnx === 'client' || tnx === 'server' ? tnx : 'info';
      this.publish(direction, typeof message === 'string' ? format(message, ...args) : String(message));
    };
    this.logger = { trace: () => {}, debug: line, info: line, warn: line, error: line, fatal: line };
  }

  publish(direction: TraceDirection, text: string): void {
    if (!this.bus.active) return;
    this.bus.publish(
      {
        atMs: Date.now(),
        session: this.session,
        ip: this.params.localAddress,
        mxHost: this.params.mxHost,
        mxAddress: this.params.address,
        direction,
        text,
        ...(this.tag ? { tag: this.tag } : {}),
      },
      this.setup,
    );
  }

  begin(envelope: Envelope): void {
    this.setup = false;
    this.tag = envelope.trace
      ? {
          ...envelope.trace,
          recipientDomains: [
            ...new Set(envelope.recipients.map((r) => r.slice(r.lastIndexOf('@') + 1).toLowerCase())),
          ],
        }
      : undefined;
  }

  end(): void {
    this.tag = undefined;
  }

  closed(): void {
    this.bus.closed(this.session);
  }
}

// ---- the kept session ----

export class SmtpSession {
  #healthy = true;
  /**
   * The last transaction ended with a 2xx to its final dot, so the server has cleared its
   * transaction state (RFC 5321 §4.1.1.4) and the next MAIL needs no RSET before it.
   */
  #settled = true;
  #closing: Promise<void> | null = null;
  readonly #ended: Promise<void>;

  constructor(
    private readonly conn: SMTPConnection,
    private readonly probe: Probe,
    readonly tls: TlsInfo | null,
    /** Why this session is in plaintext although STARTTLS was offered, or null (see SmtpSendResult). */
    readonly tlsFallback: string | null,
    private readonly options: Required<SmtpSessionOptions>,
    private readonly tracer: SessionTracer | null = null,
  ) {
    // nodemailer emits 'end' once the connection is torn down for any reason (our close, the
    // server's close, an error); 'error' for protocol errors, timeouts, drops, and a reply that
    // arrives when no command is waiting for one (test/integration/smtp-faults.test.ts).
    this.#ended = new Promise((resolve) => conn.once('end', () => resolve()));
    void this.#ended.then(() => {
      this.#healthy = false;
      tracer?.closed();
    });
    conn.on('error', () => {
      this.#healthy = false;
    });
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  send(envelope: Envelope, message: Buffer): Promise<SmtpSendResult> {
    if (!this.#healthy) {
      return Promise.resolve({
        kind: 'session_failed',
        phase: 'mail',
        reply: null,
        detail: 'connection closed',
      });
    }
    const probe = this.probe;
    probe.trace?.adopt();
    probe.inData = false;
    probe.dotWritten = false;
    probe.earlyReply = false;
    this.#settled = false;
    this.tracer?.begin(envelope);
    return new Promise((resolve) => {
      this.conn.send({ from: envelope.mailFrom, to: [...envelope.recipients] }, message, (err, info) => {
        let e = (err ?? null) as NodemailerError | null;
        if (!e && unreadReplyBytes(this.conn as unknown as Internals)) {
          // More reply bytes came in with the one taken as the reply to the dot: one of them
          // answered no command (RFC 5321 §4.2, one reply per command), so which one was the
          // dot's is unknown. Not a success; the connection is out of step and is dropped.
          e = Object.assign(new Error('Protocol error: unsolicited reply next to the reply to the dot'), {
            code: 'EPROTOCOL',
            command: 'CONN',
          });
          this.conn.close();
        }
        if (e && !leavesSessionUsable(e)) this.#healthy = false;
        this.#settled = !e;
        const ctx = { tls: this.tls, tlsFallback: this.tlsFallback, afterDot: probe.dotWritten };
        probe.inData = false;
        this.tracer?.end();
        resolve(sendResultOf(this.conn, envelope, e, e ? undefined : info, ctx));
      });
    });
  }

  /**
   * RSET (RFC 5321 §4.1.1.5) when the last transaction left state behind (a refusal, a
   * failure): true when the server answered 2xx within resetTimeoutMs. After a transaction
   * whose dot got a 2xx there is nothing to reset, and no round trip is spent: a connection
   * the server dropped meanwhile fails at MAIL, before any message byte, and the dispatcher
   * tries once more on a fresh one (nodemailer's own pool does both the same way).
   */
  reset(): Promise<boolean> {
    if (!this.#healthy) return Promise.resolve(false);
    if (this.#settled) return Promise.resolve(true);
    this.probe.trace?.adopt();
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => done(false), this.options.resetTimeoutMs);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        if (!ok) this.#healthy = false;
        resolve(ok);
      };
      // A connection torn down while RSET is in flight drops its callback.
      void this.#ended.then(() => done(false));
      this.conn.reset((err) => done(!err));
    });
  }

  /** QUIT (RFC 5321 §4.1.1.10), then wait for the socket to be closed, at most closeTimeoutMs. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const socket = this.conn._socket as Socket | null | false;
    const gone =
      socket && !socket.destroyed
        ? new Promise<void>((resolve) => socket.once('close', () => resolve()))
        : Promise.resolve();
    const wasHealthy = this.#healthy;
    this.#healthy = false;
    if (wasHealthy) this.conn.quit();
    else this.conn.close();
    this.#closing = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.conn.close();
        if (socket) socket.destroy();
        resolve();
      }, this.options.closeTimeoutMs);
      void gone.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.#closing;
  }
}

type Opened =
  | { ok: true; conn: SMTPConnection; probe: Probe; tracer: SessionTracer | null }
  /** `gone` resolves once the failed connection's socket is closed. */
  | { ok: false; failure: SessionFailure; gone: Promise<void> };

/**
 * One connection attempt: connect, greeting, EHLO, STARTTLS when offered and `tls` allows,
 * EHLO again. Every step has its own bound: connectMs for TCP, greetingMs for the banner and
 * for the TLS handshake, socketMs for each reply.
 */
async function openOnce(params: SmtpSessionParams, tls: TlsMode): Promise<Opened> {
  const t = params.timeouts;
  const verify = tls === 'verify';
  const tracer = params.trace ? new SessionTracer(params.trace, params) : null;
  const conn = new SMTPConnection({
    host: params.address,
    port: params.port,
    servername: params.mxHost,
    localAddress: params.localAddress ?? undefined,
    name: params.ehloName,
    secure: false,
    // encrypt/verify: STARTTLS when offered and no plaintext after a refusal (nodemailer's
    // requireTLS would also send STARTTLS to a server that does not offer it; whether it is
    // offered is checked after set-up instead).
    opportunisticTLS: tls === 'opportunistic',
    ignoreTLS: tls === 'plaintext',
    // verify: Node checks the chain against `ca` and the name against servername (the MX
    // host, RFC 8461 §4.2), and refuses below TLS 1.2 by default.
    tls: {
      rejectUnauthorized: verify,
      servername: params.mxHost,
      ...(verify && params.ca ? { ca: params.ca as string | Buffer | (string | Buffer)[] } : {}),
    },
    // nodemailer's connectionTimeout bounds the whole set-up and cuts the greeting and TLS
    // timeouts short to what is left of it: with connectMs 30 s a banner tarpitted for 60 s
    // (RFC 5321 §4.5.3.2.1 allows 5 min) would fail. TCP connect is bounded by our own timer
    // below instead, and this deadline only backs up the per-step timeouts.
    connectionTimeout: t.connectMs + 2 * t.greetingMs + 3 * t.socketMs,
    greetingTimeout: t.greetingMs,
    socketTimeout: t.socketMs,
    // A multi-line reply longer than this is a protocol error, not something to buffer (bytes);
    // single lines are held to MAX_REPLY_LINE by instrument().
    maxResponseSize: MAX_REPLY_SIZE,
    allowInternalNetworkInterfaces: true,
    // The transaction log feeds the live trace (commands and replies, not message data).
    logger: tracer ? (tracer.logger as never) : false,
    transactionLog: tracer !== null,
  });
  const trace = smtpTrace({
    mxHost: params.mxHost,
    address: params.address,
    port: params.port,
    sourceIp: params.localAddress ?? null,
  });
  const probe = instrument(conn, trace);
  probe.trace = trace;
  conn.once('end', () => trace?.closed('connection closed'));
  const internals = conn as unknown as Internals;
  const connectTimer = setTimeout(() => {
    if (!probe.tcpConnected) {
      internals._onError(new Error('Connection timeout'), 'ETIMEDOUT', false, 'CONN');
    }
  }, t.connectMs);
  const setupError = await new Promise<NodemailerError | null>((resolve) => {
    conn.once('error', (err: NodemailerError) => resolve(err));
    conn.connect((err?: NodemailerError) => resolve(err ?? null));
  });
  clearTimeout(connectTimer);
  if (setupError) {
    const phase = setupPhase(setupError, conn, probe);
    const socket = conn._socket as Socket | null | false;
    const gone =
      socket && !socket.destroyed
        ? new Promise<void>((resolve) => socket.once('close', () => resolve()))
        : Promise.resolve();
    conn.close();
    // Nothing more can be said on a connection whose set-up failed (RFC 5321 §3.1 asks for
    // QUIT after a 554 greeting, but nodemailer has already closed it).
    if (socket) socket.destroy();
    tracer?.publish('info', `session set-up failed (${phase}): ${setupError.message}`);
    tracer?.closed();
    return { ok: false, failure: sessionFailureOf(setupError, phase), gone };
  }
  return { ok: true, conn, probe, tracer };
}

/**
 * Connects and sets the session up. In the default `tls` mode STARTTLS is used when offered
 * (RFC 3207) without authenticating the server (RFC 7435 opportunistic). When the upgrade
 * fails: a refusal to STARTTLS (454) leaves nodemailer in plaintext on the same connection;
 * a failed or timed-out handshake leaves the connection unusable, so unless
 * `plaintextFallback` is false one new connection is made without STARTTLS. Either way the
 * session reports `tlsFallback` so the attempt records it. The `encrypt` and `verify` modes
 * (tenant require-TLS, MTA-STS enforce) never fall back: see SmtpSessionParams.tls.
 */
export async function openSmtpSession(
  params: SmtpSessionParams,
  options: SmtpSessionOptions = {},
): Promise<{ ok: true; handle: SmtpSession } | { ok: false; failure: SessionFailure }> {
  const mode = params.tls ?? 'opportunistic';
  const sessionOptions = {
    resetTimeoutMs: options.resetTimeoutMs ?? Math.min(params.timeouts.socketMs, 30_000),
    closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
  };
  let tlsFallback: string | null = null;
  let opened = await openOnce(params, mode);
  if (
    !opened.ok &&
    mode === 'opportunistic' &&
    opened.failure.phase === 'starttls' &&
    params.plaintextFallback !== false
  ) {
    tlsFallback = `${HANDSHAKE_FALLBACK} (${opened.failure.detail}); reconnected without STARTTLS`;
    // The dispatcher counts this as one connection: the broken one is gone before the next opens.
    await opened.gone;
    opened = await openOnce(params, 'plaintext');
  }
  if (!opened.ok) return { ok: false, failure: opened.failure };
  const { conn, probe, tracer } = opened;
  if (!conn.secure && (mode === 'encrypt' || mode === 'verify')) {
    // STARTTLS not offered (a refusal or a failed handshake already failed the set-up): the
    // session ends here, before MAIL FROM, with a polite QUIT.
    await new SmtpSession(conn, probe, null, null, sessionOptions, tracer).close();
    return {
      ok: false,
      failure: {
        kind: 'session_failed',
        phase: 'starttls',
        reply: null,
        detail: `STARTTLS required (${mode}) but not offered by ${params.mxHost}`,
      },
    };
  }
  if (!conn.secure && tlsFallback === null) {
    const offered = ((conn as unknown as Internals)._ehloLines ?? []).some((l) => /^STARTTLS\b/i.test(l));
    if (offered && mode === 'plaintext') tlsFallback = 'STARTTLS offered, not tried (plaintext requested)';
    else if (offered)
      tlsFallback = `STARTTLS refused (${conn.lastServerResponse || 'no reply'}); continued in plaintext`;
  }
  return {
    ok: true,
    handle: new SmtpSession(conn, probe, tlsOf(conn), tlsFallback, sessionOptions, tracer),
  };
}
