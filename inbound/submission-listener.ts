import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { type ClientLimits, clientKey } from '../core/submission/client-limits.js';
import { isSubmissionReply, type SubmissionReply } from '../core/submission/reply.js';

/** What the listener asks at each step of a transaction (api/submission.ts answers). */
export interface SubmissionDeskPort {
  authenticate(password: string): Promise<{ tokenHash: Buffer } | null | SubmissionReply>;
  mailFrom(tokenHash: Buffer): Promise<SubmissionReply | null>;
  rcptTo(tokenHash: Buffer, address: string, accepted: number): Promise<SubmissionReply | null>;
  data(
    tokenHash: Buffer,
    recipients: readonly string[],
    raw: Buffer,
  ): Promise<{ id: string } | SubmissionReply>;
}

export interface SubmissionListenerOptions {
  readonly host: string;
  /** STARTTLS port (RFC 6409); 0: off. */
  readonly port: number;
  /** Implicit TLS port (RFC 8314 §3.3); 0: off. */
  readonly tlsPort: number;
  readonly hostname: string;
  /** PEM certificate chain and key. */
  readonly tls: { readonly cert: string; readonly key: string };
  /** Largest message accepted, bytes; advertised with SIZE (RFC 1870). */
  readonly maxMessageBytes: number;
  readonly desk: SubmissionDeskPort;
  readonly limits: ClientLimits;
  readonly logger: Logger;
  readonly now: () => number;
}

// RFC 5321 §4.5.3.2.7: a server waits at least 5 minutes for the next command (ms).
const IDLE_TIMEOUT_MS = 5 * 60_000;
// Connections across all clients, per listener: a bound on sockets, far above real use.
const MAX_CLIENTS = 1_000;
// Commands before a successful AUTH (EHLO, STARTTLS, EHLO, AUTH and a few retries).
const MAX_UNAUTHENTICATED_COMMANDS = 10;

function refusal(r: SubmissionReply): Error {
  return Object.assign(new Error(r.text), { responseCode: r.code });
}

interface Listening {
  /** The ports bound (0 where off), in the order STARTTLS, implicit TLS. */
  readonly ports: { readonly starttls: number; readonly implicit: number };
  close(): Promise<void>;
}

type User = { tokenHash: Buffer };
const userOf = (session: SMTPServerSession) => (session.user as User | undefined) || null;

/**
 * The SMTP submission listeners (RFC 6409): STARTTLS on one port, implicit TLS on another
 * (RFC 8314), AUTH PLAIN and LOGIN with an API key as the password (docs/operations.md,
 * "SMTP submission"). AUTH is offered only under TLS. Each client address may hold a few
 * connections, and a client that fails to authenticate too often is refused for a while.
 */
export async function startSubmissionListener(options: SubmissionListenerOptions): Promise<Listening> {
  const log = options.logger;
  const { limits, desk, now } = options;
  const counted = new WeakSet<SMTPServerSession>();

  const blockedReply = (key: string) => {
    const minutes = Math.max(1, Math.ceil((limits.blockedUntil(key, now()) - now()) / 60_000));
    return `4.7.0 Too many failed authentications from your address, try again in ${minutes} min`;
  };

  const common: SMTPServerOptions = {
    name: options.hostname,
    banner: 'Posthorn submission',
    key: options.tls.key,
    cert: options.tls.cert,
    // RFC 8996: TLS 1.0 and 1.1 are deprecated.
    minVersion: 'TLSv1.2',
    size: options.maxMessageBytes,
    rejectOversized: true,
    authMethods: ['PLAIN', 'LOGIN'],
    authOptional: false,
    allowInsecureAuth: false,
    // Mail is delivered with the recipients' addresses as given (no SMTPUTF8, RFC 6531).
    hideSMTPUTF8: true,
    disableReverseLookup: true,
    socketTimeout: IDLE_TIMEOUT_MS,
    maxClients: MAX_CLIENTS,
    maxAllowedUnauthenticatedCommands: MAX_UNAUTHENTICATED_COMMANDS,
    logger: false,

    onConnect(session, cb) {
      const key = clientKey(session.remoteAddress);
      const admission = limits.connect(key, now());
      if (!admission.ok) {
        log.info(
          { event: 'submission.refused', client: key, why: admission.why },
          'submission connection refused',
        );
        const text =
          admission.why === 'blocked' ? blockedReply(key) : '4.7.0 Too many connections from your address';
        return cb(refusal({ code: 421, text }));
      }
      counted.add(session);
      // AUTH is neither offered nor taken before TLS (RFC 4954 §4, RFC 8314 §3): onSecure
      // lifts this once the session is encrypted.
      session.disabledCommands = ['AUTH'];
      cb();
    },

    onSecure(_socket, session, cb) {
      session.disabledCommands = [];
      cb();
    },

    onClose(session) {
      if (counted.has(session)) {
        counted.delete(session);
        limits.disconnect(clientKey(session.remoteAddress));
      }
    },

    onAuth(auth, session, cb) {
      const key = clientKey(session.remoteAddress);
      if (limits.blocked(key, now())) return cb(refusal({ code: 454, text: blockedReply(key) }));
      void desk.authenticate(auth.password ?? '').then((found) => {
        if (isSubmissionReply(found)) return cb(refusal(found));
        if (found) return cb(null, { user: found });
        const blocked = limits.authFailed(key, now());
        log.info(
          { event: 'submission.auth_failed', client: key, blocked },
          'submission authentication failed',
        );
        cb(null, { responseCode: 535, message: '5.7.8 Authentication credentials invalid' });
      });
    },

    onMailFrom(_address, session, cb) {
      const user = userOf(session);
      // Only a session without TLS gets here unauthenticated (AUTH is off there).
      if (!user) return cb(refusal({ code: 530, text: '5.7.0 Must issue a STARTTLS command first' }));
      void desk.mailFrom(user.tokenHash).then((r) => cb(r ? refusal(r) : undefined));
    },

    onRcptTo(address, session, cb) {
      const user = userOf(session);
      if (!user) return cb(refusal({ code: 530, text: '5.7.0 Must issue a STARTTLS command first' }));
      void desk
        .rcptTo(user.tokenHash, address.address, session.envelope.rcptTo.length)
        .then((r) => cb(r ? refusal(r) : undefined));
    },

    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      let bytes = 0;
      stream.on('data', (c: Buffer) => {
        bytes += c.length;
        if (bytes <= options.maxMessageBytes) chunks.push(c);
      });
      stream.on('end', () => {
        const user = userOf(session);
        // Over SIZE: smtp-server answers 552 itself (rejectOversized); nothing is stored.
        if (stream.sizeExceeded || bytes > options.maxMessageBytes) {
          return cb(refusal({ code: 552, text: '5.3.4 Message too big' }));
        }
        if (!user) return cb(refusal({ code: 530, text: '5.7.0 Authentication required' }));
        const recipients = session.envelope.rcptTo.map((r) => r.address);
        void desk.data(user.tokenHash, recipients, Buffer.concat(chunks)).then((r) => {
          if (isSubmissionReply(r)) return cb(refusal(r));
          log.info(
            { event: 'submission.accepted', messageId: r.id, client: clientKey(session.remoteAddress) },
            'message submitted',
          );
          // 250 only now: the message, its recipients and events are committed.
          cb(null, `2.0.0 Ok: queued as ${r.id}`);
        });
      });
    },
  };

  const servers: SMTPServer[] = [];
  const listen = async (port: number, secure: boolean): Promise<number> => {
    if (port === 0) return 0;
    const server = new SMTPServer({ ...common, secure });
    server.on('error', (err) =>
      log.warn({ err, event: 'submission.smtp_error' }, 'submission listener error'),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, options.host, () => resolve());
    });
    servers.push(server);
    return (server.server.address() as { port: number }).port;
  };
  try {
    const starttls = await listen(options.port, false);
    const implicit = await listen(options.tlsPort, true);
    return {
      ports: { starttls, implicit },
      close: () =>
        Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => {}),
    };
  } catch (err) {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    throw err;
  }
}
