import { createServer, type Socket } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { peerIp } from './ports.js';

/**
 * A raw-TCP SMTP peer for misbehaviour smtp-server cannot produce: a script decides, for each
 * thing the client does, which raw bytes go back, after what delay, and whether the peer then
 * closes (FIN) or resets (RST). It records what a receiver would: connections, command lines,
 * and complete messages (copies).
 */

/** What the script is asked to react to, in the order it happened on the connection. */
export type PeerEvent =
  | { readonly kind: 'connect' }
  /** One command line (without CRLF); `verb` is its first word in upper case. */
  | { readonly kind: 'command'; readonly line: string; readonly verb: string }
  /** A chunk of message content arrived after 354, before the final dot. */
  | { readonly kind: 'data'; readonly bytes: number }
  /** The final CRLF.CRLF arrived (RFC 5321 §4.1.1.4): the message is complete. */
  | { readonly kind: 'message'; readonly message: Buffer };

/** Raw bytes to write, a pause (ms), or the end of the connection: FIN (`close`) or RST (`reset`). */
export type Step = string | Buffer | { readonly delayMs: number } | 'close' | 'reset';

/** Returns the steps for an event; `undefined` means "behave like a correct server" (standard). */
export type Script = (event: PeerEvent, conn: PeerConnection) => readonly Step[] | undefined;

export interface PeerConnection {
  /** 0 for the first connection the peer accepted, then 1, 2, … */
  readonly index: number;
  /** The client's source address (the Posthorn sending IP). */
  readonly remoteAddress: string;
  /** Every command line received, in order, including ones after the peer stopped answering. */
  readonly commands: string[];
  /** Complete messages received (each ends with the CRLF before the final dot). */
  readonly messages: Buffer[];
  /** Message bytes received after 354 that never got their final dot. */
  partialBytes: number;
  /** Resolves once the socket is closed, whoever closed it. */
  readonly closed: Promise<void>;
}

export interface ScriptedPeer {
  readonly address: string;
  readonly port: number;
  readonly connections: PeerConnection[];
  /** Complete messages over all connections: what a sink would count as copies. */
  copies(): number;
  /** Verbs of one connection's commands, e.g. ['EHLO', 'MAIL', 'RCPT', 'DATA']. */
  verbs(index: number): string[];
  close(): Promise<void>;
}

const EHLO_REPLY = '250-mx.peer.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n';

/** A correct server's answer to each event; scripts fall back to it. */
export function standard(event: PeerEvent): readonly Step[] {
  switch (event.kind) {
    case 'connect':
      return ['220 mx.peer.test ESMTP scripted\r\n'];
    case 'data':
      return [];
    case 'message':
      return ['250 2.0.0 Ok: queued as SCRIPTED\r\n'];
    case 'command':
      switch (event.verb) {
        case 'EHLO':
          return [EHLO_REPLY];
        case 'HELO':
          return ['250 mx.peer.test\r\n'];
        case 'MAIL':
          return ['250 2.1.0 Ok\r\n'];
        case 'RCPT':
          return ['250 2.1.5 Ok\r\n'];
        case 'DATA':
          return ['354 End data with <CR><LF>.<CR><LF>\r\n'];
        case 'RSET':
        case 'NOOP':
          return ['250 2.0.0 Ok\r\n'];
        case 'QUIT':
          return ['221 2.0.0 Bye\r\n', 'close'];
        default:
          return ['502 5.5.2 Command not recognized\r\n'];
      }
  }
}

/** The EHLO reply of `standard`, with STARTTLS added (RFC 3207). */
export const EHLO_WITH_STARTTLS = EHLO_REPLY.replace('250-PIPELINING', '250-PIPELINING\r\n250-STARTTLS');

const DOT = Buffer.from('\r\n.\r\n');

/** `port` 0 picks a free one; a node under test sends to every MX on one port (POSTHORN_SMTP_PORT). */
export async function startScriptedPeer(address: string, script: Script, port = 0): Promise<ScriptedPeer> {
  const connections: PeerConnection[] = [];
  const sockets = new Set<Socket>();

  const server = createServer((socket) => {
    sockets.add(socket);
    let markClosed = () => {};
    const conn: PeerConnection = {
      index: connections.length,
      remoteAddress: peerIp(socket.remoteAddress),
      commands: [],
      messages: [],
      partialBytes: 0,
      closed: new Promise<void>((resolve) => {
        markClosed = resolve;
      }),
    };
    connections.push(conn);
    socket.on('error', () => {}); // the client resetting is part of several scripts
    socket.on('close', () => {
      sockets.delete(socket);
      markClosed();
    });

    // Replies are produced strictly in order, one event at a time, so a delayed reply holds
    // back the ones after it as a real (slow) server would.
    let done = false; // after FIN or RST: record, never answer
    let inData = false;
    let buffered = Buffer.alloc(0);
    let chain: Promise<void> = Promise.resolve();

    const run = async (event: PeerEvent): Promise<void> => {
      if (done) return;
      for (const step of script(event, conn) ?? standard(event)) {
        if (done || socket.destroyed) return;
        if (step === 'close') {
          done = true;
          socket.end();
          return;
        }
        if (step === 'reset') {
          done = true;
          socket.resetAndDestroy();
          return;
        }
        if (typeof step === 'object' && 'delayMs' in step) {
          await delay(step.delayMs);
          continue;
        }
        // The peer follows its own replies: a 354 to DATA starts the message content.
        if (event.kind === 'command' && event.verb === 'DATA' && step.toString().startsWith('354'))
          inData = true;
        socket.write(step);
      }
    };

    /** Takes what can be taken from the buffer: command lines, or message content up to the dot. */
    const consume = async (): Promise<void> => {
      for (;;) {
        if (inData) {
          // A message may be empty, in which case the dot follows the DATA line directly.
          const at = buffered.subarray(0, 3).equals(DOT.subarray(2))
            ? -2
            : buffered.indexOf(DOT, Math.max(0, conn.partialBytes - DOT.length));
          if (at === -1) {
            if (buffered.length > conn.partialBytes) {
              conn.partialBytes = buffered.length;
              await run({ kind: 'data', bytes: buffered.length });
            }
            return;
          }
          const message = Buffer.from(buffered.subarray(0, at + 2));
          buffered = buffered.subarray(at + DOT.length);
          inData = false;
          conn.partialBytes = 0;
          if (!done) conn.messages.push(message);
          await run({ kind: 'message', message });
          continue;
        }
        const eol = buffered.indexOf('\n');
        if (eol === -1) return;
        const line = buffered.subarray(0, eol).toString('latin1').replace(/\r$/, '');
        buffered = buffered.subarray(eol + 1);
        conn.commands.push(line);
        await run({ kind: 'command', line, verb: (line.split(' ')[0] ?? '').toUpperCase() });
      }
    };

    socket.on('data', (chunk: Buffer) => {
      // After FIN or RST the peer reads on (so the client is not stalled) but keeps nothing.
      if (done) return;
      chain = chain.then(() => {
        buffered = Buffer.concat([buffered, chunk]);
        return consume();
      });
    });
    chain = chain.then(() => run({ kind: 'connect' }));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => resolve());
  });
  return {
    address,
    port: (server.address() as { port: number }).port,
    connections,
    copies: () => connections.reduce((n, c) => n + c.messages.length, 0),
    verbs: (index) => (connections[index]?.commands ?? []).map((l) => (l.split(' ')[0] ?? '').toUpperCase()),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
