import { createServer } from 'node:net';

/**
 * The IPv4 address a peer connected from, without the "::ffff:" of a v4-mapped address. A
 * socket that closed before it was looked at has no address (undefined), e.g. while the
 * node under test is killed mid-session: ''.
 */
export function peerIp(remoteAddress: string | undefined): string {
  return (remoteAddress ?? '').replace(/^::ffff:/, '');
}

/** A TCP port free on 127.0.0.1 right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
