import { dkimTxtRecord, encryptPrivateKey, generateDomainKeys } from '../adapters/dkim.js';
import type { Db } from '../adapters/postgres/db.js';
import { dkimKeyStore } from '../adapters/postgres/dkim-keys.js';

/** Generates the domain's DKIM keys (RSA and Ed25519) unless it has active ones. */
export async function ensureDkimKeys(
  db: Db,
  domain: { id: string; name: string },
  masterKey: Buffer,
): Promise<void> {
  const store = dkimKeyStore(db);
  if ((await store.activeFor(domain.name)).length > 0) return;
  for (const k of await generateDomainKeys(new Date())) {
    await store.add(domain.id, {
      algorithm: k.algorithm,
      selector: k.selector,
      publicKey: k.publicKey,
      privateKeyEnc: encryptPrivateKey(k.privateKeyPem, masterKey, `${domain.name}/${k.selector}`),
    });
  }
}

/** The DNS records a sending domain publishes, in the shape of Resend's domain records. */
export async function domainRecords(
  db: Db,
  domain: string,
  node: { returnPathSubdomain: string; hostname: string; egressIps: readonly string[] },
) {
  const returnPath = `${node.returnPathSubdomain}.${domain}`;
  const spf = node.egressIps.map((ip) => (ip.includes(':') ? `ip6:${ip}` : `ip4:${ip}`)).join(' ');
  const keys = await dkimKeyStore(db).activeFor(domain);
  return [
    ...keys.map((k) => {
      const rec = dkimTxtRecord(domain, k.selector, k.algorithm, k.publicKey);
      return { record: 'DKIM', name: rec.name, type: 'TXT', ttl: 'Auto', value: rec.value };
    }),
    // The return path receives DSNs at the bounce listener; SPF on it authorises our IPs.
    { record: 'SPF', name: returnPath, type: 'MX', ttl: 'Auto', value: node.hostname, priority: 10 },
    { record: 'SPF', name: returnPath, type: 'TXT', ttl: 'Auto', value: `"v=spf1 ${spf || 'a'} -all"` },
  ];
}
