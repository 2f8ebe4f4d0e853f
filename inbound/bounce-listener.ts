import type { Logger } from 'pino';
import { SMTPServer } from 'smtp-server';
import type { Intake, VerpTarget } from './intake.js';

export interface BounceListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly hostname: string;
  /** Maps a recipient address to the message it was the return path of, or null. */
  readonly decodeReturnPath: (address: string) => VerpTarget | null;
  readonly intake: Intake;
  readonly logger: Logger;
}

// Bounces quote at most the headers or the original message; 10 MB leaves room (bytes).
const MAX_REPORT_BYTES = 10 * 1024 * 1024;

function reply(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/**
 * The SMTP listener for the bounce domain: accepts DSNs, ARF complaints and auto-replies
 * addressed to VERP return paths, and refuses mail to anything else (it is not a relay,
 * nor a mailbox). Null reverse-paths are expected: DSNs are sent with MAIL FROM:<>
 * (RFC 3464 §2, RFC 5321 §4.5.5).
 */
export async function startBounceListener(
  options: BounceListenerOptions,
): Promise<{ port: number; close(): Promise<void> }> {
  const log = options.logger;
  const server = new SMTPServer({
    name: options.hostname,
    banner: 'Posthorn bounce intake',
    authOptional: true,
    disabledCommands: ['AUTH'],
    size: MAX_REPORT_BYTES,
    logger: false,
    onRcptTo(address, _session, cb) {
      if (!options.decodeReturnPath(address.address)) return cb(reply(550, '5.1.1 No such recipient here'));
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) {
          return cb(reply(552, '5.3.4 Report too large'));
        }
        const raw = Buffer.concat(chunks);
        // This transaction's recipients (smtp-server resets the envelope at each MAIL FROM):
        // a second report on the same connection is taken in for its own targets only.
        const targets = session.envelope.rcptTo
          .map((r) => options.decodeReturnPath(r.address))
          .filter((t): t is VerpTarget => t !== null);
        try {
          for (const target of targets) {
            const result = await options.intake(raw, target);
            log.info({ event: 'inbound.report', messageId: target.messageId, result }, 'report received');
          }
          cb();
        } catch (err) {
          // Infrastructure trouble: the sender keeps the report and tries again later.
          log.error({ err, event: 'inbound.intake_failed' }, 'report intake failed');
          cb(reply(451, '4.3.0 Temporary failure, try again later'));
        }
      });
    },
  });
  server.on('error', (err) => log.warn({ err, event: 'inbound.smtp_error' }, 'bounce listener error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const port = (server.server.address() as { port: number }).port;
  return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
