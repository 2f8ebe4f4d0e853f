import type { TLSSocket } from 'node:tls';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { parseSmtpReply, type SmtpPhase, type SmtpReply } from '../core/smtp-reply.js';
import type { DataResult, RcptResult, SmtpSendResult, TlsInfo } from '../core/smtp-result.js';

/**
 * One SMTP session to one MX address from one source IP, with nodemailer's
 * SMTPConnection. Thin: it reports what the server said, phase by phase, as typed values;
 * what that means for the message is decided elsewhere.
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

interface NodemailerError extends Error {
  code?: string;
  response?: string;
  responseCode?: number;
  command?: string;
  recipient?: string;
  rejectedErrors?: NodemailerError[];
}

function replyOf(err: NodemailerError | undefined | null): SmtpReply | null {
  return typeof err?.response === 'string' ? parseSmtpReply(err.response) : null;
}

function describe(err: NodemailerError): string {
  return [err.code, err.message].filter(Boolean).join(': ');
}

function rcptRefusalsOf(conn: SMTPConnection): NodemailerError[] {
  return (
    (conn as unknown as { _envelope?: { rejectedErrors?: NodemailerError[] } })._envelope?.rejectedErrors ??
    []
  );
}

function tlsOf(conn: SMTPConnection): TlsInfo | null {
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

export async function sendOverSmtp(
  params: SmtpSessionParams,
  envelope: SmtpEnvelope,
  message: Buffer,
  onProgress: (phase: SmtpPhase) => void = () => {},
): Promise<SmtpSendResult> {
  const conn = new SMTPConnection({
    host: params.address,
    port: params.port,
    servername: params.mxHost,
    localAddress: params.localAddress,
    name: params.ehloName,
    secure: false,
    // RFC 7435 opportunistic security: encrypt when offered, do not authenticate the peer,
    // carry on in plaintext when the upgrade fails.
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
  try {
    onProgress('connect');
    const setupError = await new Promise<NodemailerError | null>((resolve) => {
      conn.once('error', (err: NodemailerError) => resolve(err));
      conn.connect((err?: NodemailerError) => resolve(err ?? null));
    });
    if (setupError) {
      return {
        kind: 'session_failed',
        phase: setupPhase(setupError, greeted),
        reply: replyOf(setupError),
        detail: describe(setupError),
      };
    }
    const tls = tlsOf(conn);
    onProgress('mail');
    // Late errors (the server hanging up between commands) are reported through send's callback.
    conn.on('error', () => {});
    return await new Promise<SmtpSendResult>((resolve) => {
      conn.send({ from: envelope.mailFrom, to: [...envelope.recipients] }, message, (err, info) => {
        if (!err && info) {
          const rejected = new Map((info.rejectedErrors ?? []).map((e: NodemailerError) => [e.recipient, e]));
          resolve({
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
          });
          return;
        }
        const e = err as NodemailerError;
        if (e.command === 'MAIL FROM') {
          resolve({ kind: 'mail_rejected', reply: replyOf(e), tls });
          return;
        }
        if (e.command === 'RCPT TO' && e.rejectedErrors) {
          const byAddress = new Map(e.rejectedErrors.map((r) => [r.recipient, r]));
          resolve({
            kind: 'transaction',
            recipients: envelope.recipients.map((address) => ({
              address,
              accepted: false,
              reply: replyOf(byAddress.get(address)),
            })),
            data: { kind: 'not_sent' },
            tls,
          });
          return;
        }
        // Past RCPT: DATA refused, the final reply negative, or the connection lost. The error
        // does not carry the RCPT refusals, so they are read from the connection's envelope.
        const refused = new Map(rcptRefusalsOf(conn).map((r) => [r.recipient, r]));
        const rcpts: RcptResult[] = envelope.recipients.map((address) =>
          refused.has(address)
            ? { address, accepted: false, reply: replyOf(refused.get(address)) }
            : { address, accepted: true },
        );
        const data: DataResult =
          e.code === 'EMESSAGE' || (e.command === 'DATA' && typeof e.response === 'string')
            ? { kind: 'rejected', reply: replyOf(e) }
            : { kind: 'interrupted', detail: describe(e) };
        resolve({ kind: 'transaction', recipients: rcpts, data, tls });
      });
    });
  } finally {
    conn.quit();
    conn.close();
  }
}
