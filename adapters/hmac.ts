import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import type { VerpMac, VerpVerify } from '../core/verp.js';

/**
 * node:crypto bindings for keyed hashes: HMAC-SHA256 for VERP tokens (core/verp.ts) and
 * HKDF-SHA256 to derive purpose-bound subkeys from the one master secret, so that the key
 * that encrypts DKIM private keys is never the key that tags VERP addresses.
 */

/** Master secrets are 32 bytes (256 bits), given base64-encoded in config. */
export const MASTER_KEY_BYTES = 32;

/** Decodes a base64 master key and checks its length; throws with a config-friendly message. */
export function decodeMasterKey(base64: string): Buffer {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== MASTER_KEY_BYTES) {
    throw new Error(`secret key must be ${MASTER_KEY_BYTES} bytes, base64-encoded (got ${key.length} bytes)`);
  }
  return key;
}

/**
 * HKDF-SHA256 (RFC 5869) subkey for one purpose, e.g. `posthorn/verp/v1`. No salt: the
 * master key is already uniformly random, and `info` separates the purposes.
 */
export function deriveSubkey(master: Buffer, info: string, length = 32): Buffer {
  if (master.length !== MASTER_KEY_BYTES) throw new Error(`master key must be ${MASTER_KEY_BYTES} bytes`);
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, length));
}

export interface VerpKeys {
  readonly mac: VerpMac;
  readonly verify: VerpVerify;
}

/**
 * HMAC-SHA256 for VERP. `secrets[0]` tags new addresses; every secret is accepted when
 * verifying, so a rotated secret keeps matching bounces of mail sent before the rotation
 * (keep the old one for at least the queue lifetime plus a few days of late DSNs).
 */
export function createVerpKeys(secrets: readonly Buffer[]): VerpKeys {
  const current = secrets[0];
  if (!current || secrets.some((s) => s.length < 16)) {
    throw new Error('VERP needs at least one secret of 16 bytes or more');
  }
  const hmac = (secret: Buffer, data: Uint8Array) => createHmac('sha256', secret).update(data).digest();
  return {
    mac: (data) => hmac(current, data),
    verify(data, tag) {
      if (tag.length === 0) return false;
      let ok = false;
      // Try every secret without stopping early, so timing does not tell which one matched.
      for (const secret of secrets) {
        const expected = hmac(secret, data).subarray(0, tag.length);
        if (expected.length === tag.length && timingSafeEqual(expected, tag)) ok = true;
      }
      return ok;
    },
  };
}

/** The VERP keys derived from the master secret (one secret to configure, not two). */
export function verpKeysFromMaster(masters: readonly Buffer[]): VerpKeys {
  return createVerpKeys(masters.map((m) => deriveSubkey(m, 'posthorn/verp/v1')));
}
