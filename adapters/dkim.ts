import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPair,
  type KeyObject,
  randomBytes,
  sign,
} from 'node:crypto';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import { dkimTxtValue } from '../core/domains/records.js';
import { deriveSubkey, MASTER_KEY_BYTES } from './hmac.js';

/**
 * DKIM (RFC 6376) for sending domains: per-domain key pairs (RSA-2048 and Ed25519, dual
 * signing per RFC 8463 §1 so that receivers without Ed25519 still see a valid RSA
 * signature), private keys encrypted at rest, the TXT records to publish, and signing.
 *
 * Canonicalization is mailauth's (relaxed header and body, RFC 6376 §3.4.2 and §3.4.4),
 * not hand-written. We drive its header and body canonicalizers ourselves instead of
 * calling `dkimSign`, because `dkimSign` cannot over-sign: it lists in h= only the header
 * instances present, and over-signing From (naming it once more than it occurs, RFC 6376
 * §8.15) is what stops a second From from being added above a valid signature.
 */

const require = createRequire(import.meta.url);

interface ParsedHeader {
  key: string | null;
  casedKey: string | undefined;
  line: Buffer;
}
// mailauth internal (pinned exactly): guarded by test/unit/adapters/mailauth-contract.test.ts.
const mailauthTools = require('mailauth/lib/tools.js') as {
  parseHeaders(buf: Buffer): { parsed: ParsedHeader[] };
  formatSignatureHeaderLine(type: 'DKIM', values: Record<string, unknown>, folded: boolean): string;
};
// mailauth internal (pinned exactly): guarded by test/unit/adapters/mailauth-contract.test.ts.
const mailauthRelaxed = require('mailauth/lib/dkim/header/relaxed.js') as {
  relaxedHeaders(
    type: 'DKIM',
    lines: { keys: string; headers: { line: Buffer }[] },
    options: Record<string, unknown>,
  ): { canonicalizedHeader: Buffer; dkimHeaderOpts: Record<string, unknown> };
};
// mailauth internal (pinned exactly): guarded by test/unit/adapters/mailauth-contract.test.ts.
const mailauthBody = require('mailauth/lib/dkim/body/index.js') as {
  dkimBody(
    canonicalization: 'relaxed',
    hash: 'sha256',
    maxBodyLength: false,
  ): { update(chunk: Buffer): void; digest(encoding: 'base64'): string };
};

export type DkimAlgorithm = 'rsa' | 'ed25519';

/** RSA modulus, bits: RFC 8301 §3.2 requires ≥ 1024, recommends 2048; 2048 fits one TXT record. */
export const RSA_BITS = 2048;

/**
 * Header fields signed when present (RFC 6376 §5.4.1 recommends From, Subject, Date, To,
 * Cc, Reply-To, Message-ID, MIME and List-* fields). RFC 8058 §4 requires the signature
 * to cover List-Unsubscribe and List-Unsubscribe-Post for one-click unsubscribe.
 */
export const SIGNED_HEADERS = [
  'From',
  'To',
  'Cc',
  'Subject',
  'Date',
  'Message-ID',
  'Reply-To',
  'MIME-Version',
  'Content-Type',
  'List-Unsubscribe',
  'List-Unsubscribe-Post',
] as const;

/** Named once more than present in h= (a null instance, RFC 6376 §5.4.2), so none can be added. */
export const OVERSIGNED_HEADERS = ['From'] as const;

// ---------------------------------------------------------------------------------------
// Keys

export interface GeneratedDkimKey {
  readonly algorithm: DkimAlgorithm;
  readonly selector: string;
  /** PKCS#8 PEM. Encrypt with encryptPrivateKey before storing. */
  readonly privateKeyPem: string;
  /** The `p=` value to publish (base64). */
  readonly publicKey: string;
}

/**
 * Selector naming: `ph<yyyymm><r|e>[<n>]`, e.g. `ph202607r` and `ph202607e`. The date
 * (UTC) tells an operator at a glance how old a published key is and keeps the next key
 * of a rotation on a fresh name (old and new records must coexist while mail signed with
 * the old key is still in flight); `n` disambiguates two rotations in one month.
 */
export function dkimSelector(algorithm: DkimAlgorithm, at: Date, sequence = 0): string {
  const yyyymm = `${at.getUTCFullYear()}${String(at.getUTCMonth() + 1).padStart(2, '0')}`;
  return `ph${yyyymm}${algorithm === 'rsa' ? 'r' : 'e'}${sequence > 0 ? sequence : ''}`;
}

const generateKeyPairAsync = promisify(generateKeyPair);

export async function generateDkimKey(
  algorithm: DkimAlgorithm,
  at: Date,
  sequence = 0,
): Promise<GeneratedDkimKey> {
  const { privateKey, publicKey } =
    algorithm === 'rsa'
      ? await generateKeyPairAsync('rsa', { modulusLength: RSA_BITS })
      : await generateKeyPairAsync('ed25519');
  return {
    algorithm,
    selector: dkimSelector(algorithm, at, sequence),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKey: publicKeyValue(publicKey),
  };
}

/** Both keys for a new sending domain: RSA-2048 and Ed25519 (RFC 8463 dual signing). */
export async function generateDomainKeys(at: Date, sequence = 0): Promise<GeneratedDkimKey[]> {
  return Promise.all([generateDkimKey('rsa', at, sequence), generateDkimKey('ed25519', at, sequence)]);
}

/**
 * The `p=` value: RSA as base64 DER SubjectPublicKeyInfo (RFC 6376 §3.6.1); Ed25519 as the
 * base64 raw 32-byte public key, NOT wrapped in SPKI (RFC 8463 §4.2).
 */
export function publicKeyValue(key: KeyObject | string): string {
  const pub =
    typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  if (pub.asymmetricKeyType === 'rsa') return pub.export({ type: 'spki', format: 'der' }).toString('base64');
  if (pub.asymmetricKeyType === 'ed25519') {
    const x = pub.export({ format: 'jwk' }).x;
    if (!x) throw new Error('ed25519 key without x');
    return Buffer.from(x, 'base64url').toString('base64');
  }
  throw new Error(`unsupported DKIM key type ${pub.asymmetricKeyType}`);
}

export interface DkimTxtRecord {
  /** `<selector>._domainkey.<domain>` */
  readonly name: string;
  /** The full value, for display. */
  readonly value: string;
  /**
   * The value split into character-strings of at most 255 octets (RFC 1035 §3.3.14; RFC
   * 6376 §3.6.2.2 says verifiers concatenate them). A 2048-bit RSA record needs two.
   */
  readonly strings: readonly string[];
}

export function dkimTxtRecord(domain: string, selector: string, algorithm: DkimAlgorithm, publicKey: string) {
  const value = dkimTxtValue(algorithm, publicKey);
  const strings: string[] = [];
  for (let i = 0; i < value.length; i += 255) strings.push(value.slice(i, i + 255));
  return { name: `${selector}._domainkey.${domain.toLowerCase()}`, value, strings } satisfies DkimTxtRecord;
}

// ---------------------------------------------------------------------------------------
// At-rest encryption

const KEY_INFO = 'posthorn/dkim-private-key/v1';
const IV_BYTES = 12; // 96-bit nonce, the GCM default (NIST SP 800-38D §8.2)
const TAG_BYTES = 16;

/**
 * Encrypts a private key PEM with AES-256-GCM under a subkey derived from the master key.
 * `context` (use `<domain>/<selector>`) is bound as additional authenticated data, so a
 * ciphertext copied onto another domain's row does not decrypt there.
 * Output: `v1:<iv b64>:<tag b64>:<ciphertext b64>`.
 */
export function encryptPrivateKey(pem: string, masterKey: Buffer, context: string): string {
  const key = deriveSubkey(checkMaster(masterKey), KEY_INFO);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ct = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
  return `v1:${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${ct.toString('base64')}`;
}

/** Inverse of encryptPrivateKey; throws when the blob, master key or context is wrong. */
export function decryptPrivateKey(blob: string, masterKey: Buffer, context: string): string {
  const parts = blob.split(':');
  if (parts.length !== 4 || parts[0] !== 'v1') throw new Error('encrypted DKIM key: unknown format');
  const [iv, tag, ct] = parts.slice(1).map((p) => Buffer.from(p, 'base64')) as [Buffer, Buffer, Buffer];
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES)
    throw new Error('encrypted DKIM key: bad iv or tag');
  const key = deriveSubkey(checkMaster(masterKey), KEY_INFO);
  const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ct), decipher.final()]).toString('utf8');
}

function checkMaster(masterKey: Buffer): Buffer {
  if (masterKey.length !== MASTER_KEY_BYTES) throw new Error(`master key must be ${MASTER_KEY_BYTES} bytes`);
  return masterKey;
}

// ---------------------------------------------------------------------------------------
// Wire format

/** RFC 5322 §2.1.1: at most 998 octets per line, CRLF excluded. */
export const MAX_LINE_OCTETS = 998;

export type WireProblem =
  | { kind: 'no_header_end' }
  | { kind: 'bare_cr_or_lf'; offset: number }
  | { kind: 'line_too_long'; line: number; octets: number };

/**
 * Checks that a message can go on the wire unchanged: CRLF line ends only (RFC 5321
 * §2.3.8) and no line over 998 octets. Signing must happen after any re-encoding, since a
 * relay that re-wraps a long line would break the body hash (RFC 6376 §5.3: encode before
 * signing). MailComposer already produces such messages; this catches other sources.
 */
export function checkWireFormat(message: Buffer): WireProblem | null {
  // Line by line with indexOf (memchr) rather than byte by byte in JavaScript: this runs at
  // accept and before each signature, about 11 µs per 5 KB message the other way.
  let lineStart = 0;
  let line = 1;
  let headerEnd = false;
  for (;;) {
    const lf = message.indexOf(0x0a, lineStart);
    const cr = message.indexOf(0x0d, lineStart);
    if (lf === -1) {
      // The last line, unterminated: any CR in it is bare.
      if (cr !== -1) return { kind: 'bare_cr_or_lf', offset: cr };
      break;
    }
    // The first CR of the line is the LF's partner, or a bare one before it; an LF without
    // its CR is bare.
    if (cr !== -1 && cr < lf - 1) return { kind: 'bare_cr_or_lf', offset: cr };
    if (cr === -1 || cr !== lf - 1) return { kind: 'bare_cr_or_lf', offset: lf };
    const octets = cr - lineStart;
    if (octets > MAX_LINE_OCTETS) return { kind: 'line_too_long', line, octets };
    if (octets === 0 && !headerEnd && line > 1) headerEnd = true;
    lineStart = lf + 1;
    line++;
  }
  const last = message.length - lineStart;
  if (last > MAX_LINE_OCTETS) return { kind: 'line_too_long', line, octets: last };
  return headerEnd ? null : { kind: 'no_header_end' };
}

export class DkimWireError extends Error {
  constructor(readonly problem: WireProblem) {
    super(`message not fit for the wire: ${JSON.stringify(problem)}`);
    this.name = 'DkimWireError';
  }
}

// ---------------------------------------------------------------------------------------
// Signing

export interface DkimSigningKey {
  readonly algorithm: DkimAlgorithm;
  readonly selector: string;
  /** PEM (decrypted) or a KeyObject; build KeyObjects once per domain and reuse them. */
  readonly privateKey: KeyObject | string;
}

export interface DkimSignParams {
  /** d= (RFC 6376 §3.5): the sending domain, aligned with the From domain for DMARC. */
  readonly domain: string;
  readonly keys: readonly DkimSigningKey[];
  /** t= (seconds are taken from it); injected so tests and retries are deterministic. */
  readonly signTime: Date;
  readonly signedHeaders?: readonly string[];
  readonly oversignedHeaders?: readonly string[];
}

/**
 * The private-key operation on libuv's thread pool (crypto.sign with a callback): an RSA
 * 2048 signature is the largest single cost of a delivery on the node's main thread
 * (about a tenth of its CPU under load, measured with the bench's CPU profile), and on the
 * main thread it holds up the API and every SMTP session meanwhile.
 */
const signOffThread = promisify(sign) as PrivateKeySign;

/** The private-key operation: off the thread (the default) or in place (a worker thread's own). */
export type PrivateKeySign = (
  algorithm: string | null,
  data: Buffer,
  key: KeyObject,
) => Promise<Buffer> | Buffer;

/**
 * Signs a full RFC 5322 message (CRLF line ends) with every key given (RFC 8463: one
 * signature per algorithm, Ed25519 and RSA) and returns it with the DKIM-Signature fields
 * prepended. Rejects with DkimWireError for a message that is not wire-ready, and Error for
 * a key that does not match its algorithm: both are bugs upstream, not delivery outcomes.
 */
export async function signMessage(message: Buffer, params: DkimSignParams): Promise<Buffer> {
  const fields = await dkimSignatureFields(message, params);
  return fields ? Buffer.concat([fields, message]) : message;
}

/**
 * The DKIM-Signature fields signMessage prepends (CRLF-terminated), or null with no keys:
 * what a worker thread hands back (adapters/cpu-pool.ts), so that the message itself is
 * not copied back.
 */
export async function dkimSignatureFields(
  message: Buffer,
  params: DkimSignParams,
  privateKeySign: PrivateKeySign = signOffThread,
): Promise<Buffer | null> {
  const problem = checkWireFormat(message);
  if (problem) throw new DkimWireError(problem);
  const split = message.indexOf('\r\n\r\n');
  const headerBuf = message.subarray(0, split + 4);
  const body = message.subarray(split + 4);

  // One body hash serves both signatures: same body canonicalization and hash (SHA-256).
  const hasher = mailauthBody.dkimBody('relaxed', 'sha256', false);
  hasher.update(body);
  const bodyHash = hasher.digest('base64');

  const parsed = mailauthTools.parseHeaders(headerBuf).parsed;
  const { keys, headers } = signingHeaderList(
    parsed,
    params.signedHeaders ?? SIGNED_HEADERS,
    params.oversignedHeaders ?? OVERSIGNED_HEADERS,
  );

  const signatures: string[] = [];
  for (const k of params.keys) {
    const privateKey = typeof k.privateKey === 'string' ? createPrivateKey(k.privateKey) : k.privateKey;
    if (privateKey.asymmetricKeyType !== k.algorithm) {
      throw new Error(`DKIM key ${k.selector} is ${privateKey.asymmetricKeyType}, expected ${k.algorithm}`);
    }
    const algorithm = `${k.algorithm}-sha256`;
    const { canonicalizedHeader, dkimHeaderOpts } = mailauthRelaxed.relaxedHeaders(
      'DKIM',
      { keys, headers },
      {
        algorithm,
        canonicalization: 'relaxed/relaxed',
        selector: k.selector,
        signingDomain: params.domain.toLowerCase(),
        bodyHash,
        signTime: params.signTime,
      },
    );
    // RFC 8463 §3: Ed25519-SHA256 signs the SHA-256 hash of the canonicalized header with
    // PureEdDSA; RSA-SHA256 is PKCS#1 v1.5 over the data itself (RFC 6376 §3.3.1).
    const signature =
      k.algorithm === 'rsa'
        ? await privateKeySign('sha256', canonicalizedHeader, privateKey)
        : await privateKeySign(null, createHash('sha256').update(canonicalizedHeader).digest(), privateKey);
    signatures.push(
      mailauthTools.formatSignatureHeaderLine(
        'DKIM',
        { ...dkimHeaderOpts, b: signature.toString('base64') },
        true,
      ),
    );
  }
  if (signatures.length === 0) return null;
  return Buffer.from(`${signatures.join('\r\n')}\r\n`, 'binary');
}

/**
 * h= and the header instances it covers, in RFC 6376 §5.4.2 order: for each name, the
 * present instances from the bottom up (the order a verifier consumes them), then, for an
 * over-signed name, one extra mention that matches nothing and so signs "absent".
 */
function signingHeaderList(
  parsed: readonly ParsedHeader[],
  names: readonly string[],
  oversigned: readonly string[],
): { keys: string; headers: { line: Buffer }[] } {
  const keys: string[] = [];
  const headers: { line: Buffer }[] = [];
  const over = new Set(oversigned.map((n) => n.toLowerCase()));
  for (const name of names) {
    const lower = name.toLowerCase();
    for (let i = parsed.length - 1; i >= 0; i--) {
      const h = parsed[i]!;
      if (h.key === lower) {
        keys.push(name);
        headers.push({ line: h.line });
      }
    }
    if (over.has(lower)) keys.push(name);
  }
  return { keys: keys.join(':'), headers };
}
