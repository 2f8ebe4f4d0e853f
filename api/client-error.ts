import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorName } from './errors.js';

/**
 * How long a connection refused before a request could be parsed keeps reading what the
 * client is still sending, in ms. Closing at once while request bytes are in flight makes
 * the kernel answer them with a reset, and a reset discards the error response the client
 * has not read yet: it sees "connection reset" instead of a 431. nginx does the same
 * ("lingering_close", 5 s lingering_timeout).
 */
const LINGER_MS = 5_000;

/**
 * Answers a request the HTTP parser refused (a header or URL over Node's 16 KB limit, bad
 * framing, a request that took too long) with Resend's error body, then half-closes the
 * connection and drains what the client still sends until it closes too or LINGER_MS pass.
 */
export function answerClientError(err: Error & { code?: string }, socket: Socket): void {
  // A reset or a socket already gone has no one to answer (Node http docs, 'clientError').
  // The parser refuses every later chunk again: once answered, the socket only drains.
  if (err.code === 'ECONNRESET' || socket.destroyed || socket.writableEnded) return;
  const { status, message } = describe(err.code);
  const name: ErrorName = 'validation_error';
  const body = JSON.stringify({ statusCode: status, name, message });
  socket.on('error', () => socket.destroy());
  const linger = setTimeout(() => socket.destroy(), LINGER_MS);
  linger.unref();
  socket.on('close', () => clearTimeout(linger));
  socket.on('end', () => socket.destroy());
  socket.resume();
  if (!socket.writable) return void socket.destroy();
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function describe(code: string | undefined): { status: number; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, message: 'The request line or headers are larger than 16 KB.' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, message: 'The request was not received in time.' };
    default:
      return { status: 400, message: 'The request is not valid HTTP/1.1.' };
  }
}
