import { randomUUID } from 'node:crypto';
import type { DkimAlgorithm } from '../dkim.js';
import type { Db } from './db.js';

export interface StoredDkimKey {
  algorithm: DkimAlgorithm;
  selector: string;
  publicKey: string;
  privateKeyEnc: string;
}

/** DKIM keys per sending domain; private keys arrive and leave encrypted. */
export function dkimKeyStore(db: Db) {
  return {
    async add(domainId: string, key: StoredDkimKey): Promise<void> {
      await db.query(
        `INSERT INTO dkim_keys (id, domain_id, algorithm, selector, public_key, private_key_enc) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (domain_id, selector) DO NOTHING`,
        [randomUUID(), domainId, key.algorithm, key.selector, key.publicKey, key.privateKeyEnc],
      );
    },

    /** Active keys of a domain by name, newest first. */
    async activeFor(domainName: string): Promise<StoredDkimKey[]> {
      const r = await db.query<StoredDkimKey>(
        `SELECT k.algorithm, k.selector, k.public_key AS "publicKey", k.private_key_enc AS "privateKeyEnc"
         FROM dkim_keys k JOIN domains d ON d.id = k.domain_id
         WHERE d.name = $1 AND k.status = 'active' ORDER BY k.created_at DESC`,
        [domainName],
      );
      return r.rows;
    },
  };
}

export type DkimKeyStore = ReturnType<typeof dkimKeyStore>;
