/**
 * VERP return paths: MAIL FROM is `bounces+<token>@<bounce domain>`, where the token names
 * (message, recipient) so that an asynchronous bounce (a DSN sent to the return path,
 * RFC 5321 §4.5.5, RFC 3464) maps back to the recipient it is about, even when the DSN
 * itself is unparseable.
 *
 * Token bytes: message id (UUID, 16 bytes) ‖ recipient index (unsigned LEB128 varint,
 * 1–3 bytes) ‖ tag (first 10 bytes of HMAC-SHA256 over a domain-separated payload).
 *
 * Why 10 bytes (80 bits) of tag: a forger must guess a tag per try, and each try costs
 * them one inbound SMTP message, so 2^-80 per try is far beyond reach; the full 32 bytes
 * would not fit the local part. Length: 16 + 3 + 10 = 29 bytes → 47 base32 characters,
 * plus "bounces+" (8) = 55 octets, within the 64-octet local-part limit
 * (RFC 5321 §4.5.3.1.1).
 *
 * Encoding: base32 (RFC 4648 §6 alphabet) lowercased, no padding. Some MTAs lowercase
 * local parts (RFC 5321 §2.4 lets only the destination interpret case, but not every
 * relay respects that), so the token must survive case folding; base64url would not.
 *
 * Pure: the MAC is passed in (adapters/hmac.ts binds node:crypto), so core stays free of
 * node builtins.
 */

export const VERP_PREFIX = 'bounces';
/** Truncated HMAC-SHA256 tag length, bytes (80 bits). */
export const VERP_TAG_BYTES = 10;
/** Recipient indexes are encoded in at most 3 varint bytes: 0 … 2^21 − 1. */
export const VERP_MAX_RECIPIENT_INDEX = 2 ** 21 - 1;
/** RFC 5321 §4.5.3.1.1: local part at most 64 octets. */
const MAX_LOCAL_PART = 64;
const UUID_BYTES = 16;

/** Full HMAC-SHA256 of the data with the current secret (32 bytes); core truncates. */
export type VerpMac = (data: Uint8Array) => Uint8Array;
/**
 * True when `tag` equals the first `tag.length` bytes of HMAC-SHA256(secret, data) for
 * any accepted secret (rotation), compared in constant time.
 */
export type VerpVerify = (data: Uint8Array, tag: Uint8Array) => boolean;

export type VerpDecodeFailure =
  | 'not_verp'
  | 'bad_encoding'
  | 'bad_length'
  | 'bad_recipient_index'
  | 'bad_tag';

export type VerpDecoded =
  | { ok: true; messageId: string; recipientIndex: number }
  | { ok: false; reason: VerpDecodeFailure };

// Domain separation: a tag made for VERP can never be replayed as a MAC for anything
// else signed with the same secret, and a v2 format gets a different label.
const MAC_LABEL = new TextEncoder().encode('posthorn/verp/v1\0');

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** Decodes lowercase or uppercase unpadded base32; null on a bad character or non-zero pad bits. */
export function base32Decode(text: string): Uint8Array | null {
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of text.toLowerCase()) {
    const value = ALPHABET.indexOf(ch);
    if (value < 0) return null;
    buffer = (buffer << 5) | value;
    bits += 5;
    if (bits >= 8) {
      out.push((buffer >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
    buffer &= (1 << bits) - 1;
  }
  // Canonical form only: leftover bits must be fewer than 5 and all zero (RFC 4648 §3.5).
  if (bits >= 5 || buffer !== 0) return null;
  return Uint8Array.from(out);
}

function uuidToBytes(id: string): Uint8Array | null {
  if (!/^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/.test(id)) return null;
  const hex = id.replace(/-/g, '');
  const out = new Uint8Array(UUID_BYTES);
  for (let i = 0; i < UUID_BYTES; i++) out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function bytesToUuid(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function encodeVarint(n: number): Uint8Array {
  const out: number[] = [];
  let v = n;
  do {
    const low = v & 0x7f;
    v = Math.floor(v / 128);
    out.push(v > 0 ? low | 0x80 : low);
  } while (v > 0);
  return Uint8Array.from(out);
}

/** Strict LEB128: the bytes must be exactly one minimal varint. */
function decodeVarint(bytes: Uint8Array): number | null {
  if (bytes.length === 0 || bytes.length > 3) return null;
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const last = i === bytes.length - 1;
    if (((b & 0x80) === 0) !== last) return null;
    n += (b & 0x7f) * 128 ** i;
  }
  // Overlong forms (a trailing 0x00 byte after a continuation) would give two tokens
  // for one index.
  if (bytes.length > 1 && bytes[bytes.length - 1] === 0) return null;
  return n;
}

function macInput(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(MAC_LABEL.length + payload.length);
  out.set(MAC_LABEL, 0);
  out.set(payload, MAC_LABEL.length);
  return out;
}

/**
 * The VERP local part for (message, recipient). Throws on a non-UUID id or an index out of
 * range: both are programming errors, not message outcomes.
 */
export function encodeVerp(messageId: string, recipientIndex: number, mac: VerpMac): string {
  const id = uuidToBytes(messageId);
  if (!id) throw new Error(`VERP: message id is not a UUID: ${messageId}`);
  if (!Number.isInteger(recipientIndex) || recipientIndex < 0 || recipientIndex > VERP_MAX_RECIPIENT_INDEX) {
    throw new Error(`VERP: recipient index out of range 0…${VERP_MAX_RECIPIENT_INDEX}: ${recipientIndex}`);
  }
  const varint = encodeVarint(recipientIndex);
  const payload = new Uint8Array(UUID_BYTES + varint.length);
  payload.set(id, 0);
  payload.set(varint, UUID_BYTES);
  const full = mac(macInput(payload));
  if (full.length < VERP_TAG_BYTES) throw new Error('VERP: MAC output shorter than the tag');
  const token = new Uint8Array(payload.length + VERP_TAG_BYTES);
  token.set(payload, 0);
  token.set(full.subarray(0, VERP_TAG_BYTES), payload.length);
  const local = `${VERP_PREFIX}+${base32Encode(token)}`;
  if (local.length > MAX_LOCAL_PART) throw new Error('VERP: local part over 64 octets');
  return local;
}

/** `bounces+<token>@<bounceDomain>`: the MAIL FROM address of one delivery to one recipient. */
export function verpAddress(messageId: string, recipientIndex: number, bounceDomain: string, mac: VerpMac) {
  return `${encodeVerp(messageId, recipientIndex, mac)}@${bounceDomain.toLowerCase()}`;
}

/**
 * Maps a local part (as received in RCPT TO of a DSN, any case) back to (message,
 * recipient), or says why it cannot. A failed tag check is `bad_tag`: treat the report as
 * unmatched, never trust its ids.
 */
export function decodeVerp(localPart: string, verify: VerpVerify): VerpDecoded {
  if (localPart.length > MAX_LOCAL_PART) return { ok: false, reason: 'not_verp' };
  const lower = localPart.toLowerCase();
  const prefix = `${VERP_PREFIX}+`;
  if (!lower.startsWith(prefix)) return { ok: false, reason: 'not_verp' };
  const bytes = base32Decode(lower.slice(prefix.length));
  if (!bytes) return { ok: false, reason: 'bad_encoding' };
  const varintLength = bytes.length - UUID_BYTES - VERP_TAG_BYTES;
  if (varintLength < 1 || varintLength > 3) return { ok: false, reason: 'bad_length' };
  const payload = bytes.subarray(0, UUID_BYTES + varintLength);
  const tag = bytes.subarray(UUID_BYTES + varintLength);
  // Check the tag before interpreting anything else, so a forged token learns nothing.
  if (!verify(macInput(payload), tag)) return { ok: false, reason: 'bad_tag' };
  const recipientIndex = decodeVarint(payload.subarray(UUID_BYTES));
  if (recipientIndex === null) return { ok: false, reason: 'bad_recipient_index' };
  return { ok: true, messageId: bytesToUuid(payload.subarray(0, UUID_BYTES)), recipientIndex };
}

/** Same as decodeVerp, for a whole address `local@domain` (the domain is not checked). */
export function decodeVerpAddress(address: string, verify: VerpVerify): VerpDecoded {
  const at = address.lastIndexOf('@');
  return decodeVerp(at < 0 ? address : address.slice(0, at), verify);
}
