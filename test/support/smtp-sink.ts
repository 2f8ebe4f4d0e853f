import { setTimeout as delay } from 'node:timers/promises';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { peerIp } from './ports.js';

export interface SinkReply {
  code: number;
  /** Text after the code, e.g. "5.1.1 <x@y>: user unknown". */
  message: string;
}

/** Scripted behaviour: return a reply to refuse, or null to accept. */
export interface SinkScript {
  /**
   * Refuses a new connection with this greeting instead of 220 (then closes it), e.g. 421
   * "too many connections"; `openFromIp` counts this one with the others open from its IP.
   */
  connect?(session: SMTPServerSession, openFromIp: number): SinkReply | null;
  rcpt?(address: string, session: SMTPServerSession): SinkReply | null;
  data?(session: SMTPServerSession, body: Buffer): SinkReply | null;
  /** Wait this long before answering the final dot, ms: a slow receiver. */
  dataDelayMs?: number;
  /** Awaited before the greeting, before each RCPT reply, and before the reply to the final dot. */
  hooks?: {
    beforeGreeting?(): Promise<void>;
    beforeRcptReply?(address: string): Promise<void>;
    beforeDataReply?(session: SMTPServerSession): Promise<void>;
  };
  /** STARTTLS set-up: own certificate, TLS versions, or not offered (hideSTARTTLS). */
  tls?: Pick<SMTPServerOptions, 'key' | 'cert' | 'minVersion' | 'maxVersion' | 'hideSTARTTLS'>;
}

/**
 * A receiver script that answers RCPT for an address with a 451 (RFC 5321 §4.2.2, try again
 * later) once after `deferNext(address)`, and accepts it from then on.
 */
export function deferOnce(): { script: SinkScript; deferNext(address: string): void } {
  const pending = new Set<string>();
  return {
    script: {
      rcpt(address) {
        if (!pending.delete(address)) return null;
        return { code: 451, message: '4.3.0 temporary failure, try again' };
      },
    },
    deferNext: (address) => void pending.add(address),
  };
}

export interface ReceivedMessage {
  /** The address the connection came from: Posthorn's source IP. */
  readonly sourceIp: string;
  readonly ehloName: string;
  readonly mailFrom: string;
  readonly rcptTo: readonly string[];
  readonly data: Buffer;
  readonly tls: boolean;
  /** When the final dot arrived, before any reply to it (ms since the epoch). */
  readonly dotAt: number;
}

export interface SmtpSink {
  readonly host: string;
  readonly port: number;
  readonly received: ReceivedMessage[];
  /** Source IPs of every connection, in order. */
  readonly connections: string[];
  /** Most connections open at once, per source IP. */
  peakConcurrent(sourceIp: string): number;
  close(): Promise<void>;
}

function refusal(reply: SinkReply): Error {
  return Object.assign(new Error(reply.message), { responseCode: reply.code });
}

/** An SMTP receiver (nodemailer's smtp-server) on host:port that records everything. */
export async function startSink(host: string, port: number, script: SinkScript = {}): Promise<SmtpSink> {
  const received: ReceivedMessage[] = [];
  const connections: string[] = [];
  const open = new Map<string, number>();
  const peak = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH'],
    logger: false,
    // smtp-server's built-in self-signed certificate unless the script brings one: STARTTLS
    // is offered, as real MXs do.
    ...script.tls,
    onConnect(session, cb) {
      const ip = peerIp(session.remoteAddress);
      connections.push(ip);
      const now = (open.get(ip) ?? 0) + 1;
      open.set(ip, now);
      peak.set(ip, Math.max(peak.get(ip) ?? 0, now));
      void (script.hooks?.beforeGreeting?.() ?? Promise.resolve()).then(() => {
        const r = script.connect?.(session, now);
        cb(r ? refusal(r) : undefined);
      });
    },
    onClose(session) {
      const ip = peerIp(session.remoteAddress);
      open.set(ip, (open.get(ip) ?? 1) - 1);
    },
    onRcptTo(address, session, cb) {
      void (script.hooks?.beforeRcptReply?.(address.address) ?? Promise.resolve()).then(() => {
        const r = script.rcpt?.(address.address, session);
        cb(r ? refusal(r) : undefined);
      });
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const dotAt = Date.now();
        if (script.dataDelayMs) await delay(script.dataDelayMs);
        await script.hooks?.beforeDataReply?.(session);
        const data = Buffer.concat(chunks);
        const r = script.data?.(session, data);
        if (r) return cb(refusal(r));
        received.push({
          sourceIp: peerIp(session.remoteAddress),
          ehloName: session.hostNameAppearsAs,
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          data,
          tls: session.secure,
          dotAt,
        });
        cb();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const actualPort = (server.server.address() as { port: number }).port;
  return {
    host,
    port: actualPort,
    received,
    connections,
    peakConcurrent: (ip) => peak.get(ip) ?? 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
