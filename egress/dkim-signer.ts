import { createPrivateKey } from 'node:crypto';
import {
  type DkimSigningKey,
  type DkimSignParams,
  decryptPrivateKey,
  dkimSignatureFields,
} from '../adapters/dkim.js';
import type { DkimKeyStore } from '../adapters/postgres/dkim-keys.js';

/** How long decrypted keys stay cached before the table is read again, ms (picks up rotations). */
const CACHE_MS = 5 * 60_000;

export interface DkimSigner {
  /** The message with DKIM-Signature fields prepended; unchanged when the domain has no key. */
  sign(domain: string, message: Buffer): Promise<Buffer>;
  /** Drops the cached keys: a domain was deleted, created again or its keys changed. */
  forget(): void;
}

/**
 * Signs outgoing messages with the sending domain's active DKIM keys. Keys are decrypted
 * and parsed once per domain and cached as KeyObjects: a PEM parse per message would cost
 * more than the signature itself.
 */
export function createDkimSigner(deps: {
  keys: Pick<DkimKeyStore, 'activeFor'>;
  masterKey: Buffer;
  now: () => number;
  /** Signs (adapters/dkim.ts); the node hands this to its CPU workers (adapters/cpu-pool.ts). */
  signatureFields?: (message: Buffer, params: DkimSignParams) => Promise<Buffer | null>;
}): DkimSigner {
  const signatureFields = deps.signatureFields ?? dkimSignatureFields;
  const cache = new Map<string, { at: number; keys: DkimSigningKey[] }>();

  async function keysFor(domain: string): Promise<DkimSigningKey[]> {
    const hit = cache.get(domain);
    if (hit && deps.now() - hit.at < CACHE_MS) return hit.keys;
    const rows = await deps.keys.activeFor(domain);
    // One key per algorithm: the newest (RFC 8463 §3 signs with both, once each).
    const newest = new Map(rows.map((r) => [r.algorithm, r] as const).reverse());
    const keys = [...newest.values()].map((r) => ({
      algorithm: r.algorithm,
      selector: r.selector,
      privateKey: createPrivateKey(
        decryptPrivateKey(r.privateKeyEnc, deps.masterKey, `${domain}/${r.selector}`),
      ),
    }));
    cache.set(domain, { at: deps.now(), keys });
    return keys;
  }

  return {
    async sign(domain, message) {
      const keys = await keysFor(domain);
      if (keys.length === 0) return message;
      const fields = await signatureFields(message, { domain, keys, signTime: new Date(deps.now()) });
      return fields ? Buffer.concat([fields, message]) : message;
    },
    forget: () => cache.clear(),
  };
}
