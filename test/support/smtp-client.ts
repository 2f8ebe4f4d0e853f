import { connect as netConnect, type Socket } from 'node:net';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';

/** One SMTP reply: its code and its lines' text (RFC 5321 §4.2). */
export interface Reply {
  readonly code: number;
  readonly lines: readonly string[];
  readonly text: string;
}

/**
 * A bare SMTP client on one socket, command by command, for the protocol steps a mail
 * library will not take (AUTH before STARTTLS, a command after a refusal). Binds to
 * `localAddress` so a test can speak from an address of its own.
 */
export class RawSmtpClient {
  private buffer = '';
  private waiting: ((r: Reply) => void) | null = null;
  private replies: Reply[] = [];
  private closed = false;

  private constructor(private socket: Socket | TLSSocket) {
    this.listen(socket);
  }

  static async open(host: string, port: number, options: { localAddress: string; tls?: { ca: string } }) {
    const plain = netConnect({ host, port, localAddress: options.localAddress });
    await new Promise<void>((resolve, reject) => {
      plain.once('connect', () => resolve());
      plain.once('error', reject);
    });
    if (!options.tls) return new RawSmtpClient(plain);
    const secure = tlsConnect({ socket: plain, ca: options.tls.ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    return new RawSmtpClient(secure);
  }

  private listen(socket: Socket | TLSSocket): void {
    socket.on('data', (d: Buffer) => {
      this.buffer += d.toString('latin1');
      for (;;) {
        const m = /^(\d{3}) (.*)\r\n/m.exec(this.buffer);
        if (!m) break;
        const end = m.index + m[0].length;
        const lines = this.buffer
          .slice(0, end)
          .split('\r\n')
          .filter(Boolean)
          .map((l) => l.slice(4));
        this.buffer = this.buffer.slice(end);
        this.push({ code: Number(m[1]), lines, text: lines.join('\n') });
      }
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('error', () => {});
  }

  private push(r: Reply): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(r);
    } else this.replies.push(r);
  }

  /** The next reply (the greeting first). */
  reply(): Promise<Reply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  async command(line: string): Promise<Reply> {
    this.socket.write(`${line}\r\n`);
    return this.reply();
  }

  /** STARTTLS and the TLS handshake on the same socket (RFC 3207), trusting `ca`. */
  async startTls(ca: string): Promise<Reply> {
    const r = await this.command('STARTTLS');
    if (r.code !== 220) return r;
    const plain = this.socket;
    plain.removeAllListeners('data');
    const secure = tlsConnect({ socket: plain, ca, servername: 'localhost' });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.listen(secure);
    return r;
  }

  /** Whether the server closed the connection. */
  isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** AUTH PLAIN's initial response (RFC 4616): authzid NUL authcid NUL password, base64. */
export function plainCredentials(user: string, password: string): string {
  return Buffer.from(`\0${user}\0${password}`).toString('base64');
}
