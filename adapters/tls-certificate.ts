import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

/** A certificate and its key as PEM, for a TLS server. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
}

/** Paths of the generated pair under a data directory. */
export function selfSignedPaths(dataDir: string): { certPath: string; keyPath: string } {
  const dir = join(dataDir, 'tls');
  return { certPath: join(dir, 'submission.crt'), keyPath: join(dir, 'submission.key') };
}

// A year, like the short-lived certificates CAs issue; made again a week before it ends.
const VALIDITY_DAYS = 365;
const RENEW_BEFORE_MS = 7 * 86_400_000;

/**
 * A self-signed certificate for `hostname` (and localhost, 127.0.0.1, ::1), RSA-2048 with
 * SHA-256, kept under the data directory so that a client can trust it once and keep
 * trusting it across restarts; made again when it is missing or within a week of its end.
 * For `posthorn dev` only: production brings its own (POSTHORN_TLS_CERT, POSTHORN_TLS_KEY).
 * The key pair comes from node:crypto (forge's pure-JavaScript RSA generation takes
 * seconds); `selfsigned` builds and signs the X.509 structure.
 */
export function ensureSelfSignedCertificate(
  dataDir: string,
  hostname: string,
  now: Date,
): { certPath: string; keyPath: string; created: boolean } {
  const { certPath, keyPath } = selfSignedPaths(dataDir);
  if (existsSync(certPath) && existsSync(keyPath)) {
    const existing = new X509Certificate(readFileSync(certPath));
    if (Date.parse(existing.validTo) - now.getTime() > RENEW_BEFORE_MS) {
      return { certPath, keyPath, created: false };
    }
  }
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const dns = [...new Set([hostname, 'localhost'])].map((value) => ({ type: 2, value }));
  // `keyPair` is in selfsigned 2.4's code (index.js) but not in its type declarations.
  const options: Parameters<typeof selfsigned.generate>[1] & {
    keyPair: { privateKey: string; publicKey: string };
  } = {
    days: VALIDITY_DAYS,
    // selfsigned counts the validity from the clock, whatever `now` says: `now` only
    // decides whether the certificate on disk is near its end. A minute back for clients
    // whose clocks lag.
    notBeforeDate: new Date(Date.now() - 60_000),
    algorithm: 'sha256',
    keyPair: {
      privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    },
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      // GeneralName types (RFC 5280 §4.2.1.6): 2 dNSName, 7 iPAddress.
      { name: 'subjectAltName', altNames: [...dns, { type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' }] },
    ],
  };
  const generated = selfsigned.generate([{ name: 'commonName', value: hostname }], options);
  mkdirSync(join(dataDir, 'tls'), { recursive: true });
  writeFileSync(keyPath, generated.private, { mode: 0o600 });
  writeFileSync(certPath, generated.cert);
  return { certPath, keyPath, created: true };
}

/** Reads a PEM pair from files; throws with the path when one cannot be read. */
export function readTlsMaterial(certPath: string, keyPath: string): TlsMaterial {
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the TLS ${what} ${path}: ${(err as Error).message}`);
    }
  };
  return { cert: read(certPath, 'certificate'), key: read(keyPath, 'key') };
}
