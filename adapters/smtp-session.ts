import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { parseSmtpReply, type SmtpPhase, type SmtpReply } from '../core/smtp-reply.js';
import type { DataResult, RcptResult, SmtpSendResult, TlsInfo } from '../core/smtp-result.js';

/**
 * A kept SMTP connection (nodemailer's SMTPConnection) from one source IP to one MX address:
 * connect once, then any number of transactions, RSET between them (RFC 5321 §4.1.1.5), QUIT
 * at the end (§4.1.1.10). nodemailer pipelines MAIL, RCPT and DATA when the server offers
 * PIPELINING (RFC 2920). Thin: it reports what the server said
 * as typed values and whether the connection is still fit for reuse; the egress dispatcher
 * decides when to reuse it.
 */
export interface SmtpSessionParams {
  /** The MX address to connect to (already resolved). */
  readonly address: string;
  /** The MX host name, for TLS SNI and for the record. */
  readonly mxHost: string;
  readonly port: number;
  /** Source IP to bind to, or undefined to let the OS pick. */
  readonly localAddress: string | undefined;
  /** EHLO name of the source IP (RFC 5321 §4.1.1.1: the client's FQDN). */
  readonly ehloName: string;
  readonly timeouts: SmtpTimeouts;
}

export interface SmtpTimeouts {
  /** TCP connect, ms. */
  readonly connectMs: number;
  /** Banner after connect, ms (RFC 5321 §4.5.3.2.1 suggests 5 min). */
  readonly greetingMs: number;
  /** Idle time on any command, ms (RFC 5321 §4.5.3.2: 5 min for MAIL/RCPT, 10 min after the dot). */
  readonly socketMs: number;
}

export interface SmtpEnvelope {
  readonly mailFrom: string;
  readonly recipients: readonly string[];
}

export type SessionFailure = Extract<SmtpSendResult, { kind: 'session_failed' }>;

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

// ---- mapping nodemailer's callbacks to SmtpSendResult ----

export function replyOf(err: NodemailerError | undefined | null): SmtpReply | null {
  return typeof err?.response === 'string' ? parseSmtpReply(err.response) : null;
}

function describe(err: NodemailerError): string {
  return [err.code, err.message].filter(Boolean).join(': ');
}

function transactionOf(conn: SMTPConnection): TransactionState {
  return (conn as unknown as { _envelope?: TransactionState | false })._envelope || {};
}

export function tlsOf(conn: SMTPConnection): TlsInfo | null {
  const socket = conn._socket as TLSSocket | null | false;
  if (!conn.secure || !socket || typeof socket.getCipher !== 'function') return null;
  return { version: socket.getProtocol() ?? 'unknown', cipher: socket.getCipher().name };
}

/** Phase a set-up error belongs to, from nodemailer's `command` field. */
function setupPhase(err: NodemailerError, greeted: boolean): SmtpPhase {
  switch (err.command) {
    case 'EHLO':
    case 'HELO':
    case 'LHLO':
      return 'ehlo';
    case 'STARTTLS':
      return 'starttls';
    default:
      return greeted ? 'ehlo' : err.code === 'EPROTOCOL' ? 'greeting' : 'connect';
  }
}

/** A connect() failure as a session_failed result. */
export function sessionFailureOf(err: NodemailerError, greeted: boolean): SessionFailure {
  return {
    kind: 'session_failed',
    phase: setupPhase(err, greeted),
    reply: replyOf(err),
    detail: describe(err),
  };
}

/**
 * What one `SMTPConnection.send` callback means, phase by phase. A connection lost before
 * the server answered any MAIL or RCPT command (a kept connection the server dropped while
 * idle, a 421 at MAIL) is `session_failed` in phase "mail": no message data went out, so the
 * message is safe to try on another connection.
 */
export function sendResultOf(
  conn: SMTPConnection,
  envelope: SmtpEnvelope,
  err: NodemailerError | null,
  info: { response: string; rejectedErrors?: NodemailerError[] } | undefined,
  tls: TlsInfo | null,
): SmtpSendResult {
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
    };
  }
  const e: NodemailerError = err ?? new Error('send ended without a result');
  if (e.command === 'MAIL FROM') return { kind: 'mail_rejected', reply: replyOf(e), tls };
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
    };
  }
  const state = transactionOf(conn);
  const answered = (state.accepted?.length ?? 0) + (state.rejected?.length ?? 0);
  if (answered === 0 && !state.mailError && e.code !== 'EMESSAGE' && e.command !== 'DATA') {
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
      : { kind: 'interrupted', detail: describe(e) };
  return { kind: 'transaction', recipients: rcpts, data, tls };
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

// ---- the kept session ----

export class SmtpSession {
  #healthy = true;
  #closing: Promise<void> | null = null;
  readonly #ended: Promise<void>;

  constructor(
    private readonly conn: SMTPConnection,
    readonly tls: TlsInfo | null,
    private readonly options: Required<SmtpSessionOptions>,
  ) {
    // nodemailer emits 'end' once the connection is torn down for any reason (our close, the
    // server's close, an error); 'error' for protocol errors, timeouts and drops.
    this.#ended = new Promise((resolve) => conn.once('end', () => resolve()));
    void this.#ended.then(() => {
      this.#healthy = false;
    });
    conn.on('error', () => {
      this.#healthy = false;
    });
  }

  get healthy(): boolean {
    return this.#healthy;
  }

  send(envelope: SmtpEnvelope, message: Buffer): Promise<SmtpSendResult> {
    if (!this.#healthy) {
      return Promise.resolve({
        kind: 'session_failed',
        phase: 'mail',
        reply: null,
        detail: 'connection closed',
      });
    }
    return new Promise((resolve) => {
      this.conn.send({ from: envelope.mailFrom, to: [...envelope.recipients] }, message, (err, info) => {
        const e = (err ?? null) as NodemailerError | null;
        if (e && !leavesSessionUsable(e)) this.#healthy = false;
        resolve(sendResultOf(this.conn, envelope, e, info, this.tls));
      });
    });
  }

  /** RSET (RFC 5321 §4.1.1.5): true when the server answered 2xx within resetTimeoutMs. */
  reset(): Promise<boolean> {
    if (!this.#healthy) return Promise.resolve(false);
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

/**
 * Connects, reads the greeting, EHLO, STARTTLS when offered (RFC 7435 opportunistic: not
 * authenticated, plaintext when the upgrade fails), EHLO again.
 */
export async function openSmtpSession(
  params: SmtpSessionParams,
  options: SmtpSessionOptions = {},
): Promise<{ ok: true; handle: SmtpSession } | { ok: false; failure: SessionFailure }> {
  const conn = new SMTPConnection({
    host: params.address,
    port: params.port,
    servername: params.mxHost,
    localAddress: params.localAddress,
    name: params.ehloName,
    secure: false,
    opportunisticTLS: true,
    tls: { rejectUnauthorized: false, servername: params.mxHost },
    connectionTimeout: params.timeouts.connectMs,
    greetingTimeout: params.timeouts.greetingMs,
    socketTimeout: params.timeouts.socketMs,
    // A server reply longer than this is a protocol error, not something to buffer (bytes).
    maxResponseSize: 64 * 1024,
    allowInternalNetworkInterfaces: true,
    logger: false,
  });
  let greeted = false;
  conn.once('connect', () => {
    greeted = true;
  });
  const setupError = await new Promise<NodemailerError | null>((resolve) => {
    conn.once('error', (err: NodemailerError) => resolve(err));
    conn.connect((err?: NodemailerError) => resolve(err ?? null));
  });
  if (setupError) {
    conn.close();
    return { ok: false, failure: sessionFailureOf(setupError, greeted) };
  }
  return {
    ok: true,
    handle: new SmtpSession(conn, tlsOf(conn), {
      resetTimeoutMs: options.resetTimeoutMs ?? Math.min(params.timeouts.socketMs, 30_000),
      closeTimeoutMs: options.closeTimeoutMs ?? 5_000,
    }),
  };
}
