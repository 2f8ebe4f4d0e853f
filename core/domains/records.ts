/**
 * The DNS records a sending domain publishes, and whether what DNS answers matches them.
 * Pure: the caller does the lookups (activities/domains.ts) and passes the answers in.
 *
 * The shape follows Resend's domain records (`record`, `name` relative to the domain,
 * `type`, `value`, `ttl`, `priority`; Resend API reference, resend.com/docs/api-reference/
 * domains/create-domain), with our own values: DKIM public keys in TXT records, the return
 * path's MX pointing at this deployment's bounce intake and its SPF listing the sending IPs.
 */

export type DkimAlgorithmName = 'rsa' | 'ed25519';

export interface DkimPublicKey {
  readonly selector: string;
  readonly algorithm: DkimAlgorithmName;
  /** Base64 of the public key as published in `p=` (RFC 6376 §3.6.1, RFC 8463 §4). */
  readonly publicKey: string;
}

export type RecordKind = 'DKIM' | 'SPF' | 'DMARC';

export interface DomainRecord {
  readonly record: RecordKind;
  /** Relative to the domain, as Resend shows it ("send", "sel._domainkey"). */
  readonly name: string;
  /** The fully qualified name that is looked up. */
  readonly fqdn: string;
  readonly type: 'TXT' | 'MX';
  readonly value: string;
  readonly priority?: number;
  /**
   * Verification needs every required record. The DMARC record is a suggestion: Resend
   * recommends one but does not verify it (resend.com/docs/dashboard/domains/dmarc).
   */
  readonly required: boolean;
}

export interface RecordSettings {
  /** The return path's label (POSTHORN_RETURN_PATH_SUBDOMAIN): MAIL FROM is bounces+…@<label>.<domain>. */
  readonly returnPathSubdomain: string;
  /** The host receiving DSNs for the return path (the MX target). */
  readonly bounceHost: string;
  /** Every sending IP of the deployment: SPF on the return path authorises them. */
  readonly sendingIps: readonly string[];
}

/** The suggested DMARC policy: monitoring only, so publishing it cannot lose mail (RFC 7489 §6.3). */
export const SUGGESTED_DMARC = 'v=DMARC1; p=none;';

/** A DKIM key record's value (RFC 6376 §3.6.1; k=ed25519 from RFC 8463 §4). */
export function dkimTxtValue(algorithm: DkimAlgorithmName, publicKey: string): string {
  return `v=DKIM1; k=${algorithm}; p=${publicKey}`;
}

/** The SPF mechanisms authorising the sending IPs (RFC 7208 §5.6), IPv6 written ip6:. */
export function spfMechanisms(ips: readonly string[]): string[] {
  return ips.map((ip) => (ip.includes(':') ? `ip6:${ip}` : `ip4:${ip}`));
}

export function domainRecords(
  domain: string,
  keys: readonly DkimPublicKey[],
  s: RecordSettings,
): DomainRecord[] {
  const d = domain.toLowerCase();
  const rp = s.returnPathSubdomain;
  // `-all`: mail from the return path comes only from our IPs. With no IP configured (the
  // OS picks the source address) there is nothing to list: `?all` says so without failing.
  const mechanisms = spfMechanisms(s.sendingIps);
  const spf = mechanisms.length > 0 ? `v=spf1 ${mechanisms.join(' ')} -all` : 'v=spf1 ?all';
  return [
    ...keys.map(
      (k): DomainRecord => ({
        record: 'DKIM',
        name: `${k.selector}._domainkey`,
        fqdn: `${k.selector}._domainkey.${d}`,
        type: 'TXT',
        value: dkimTxtValue(k.algorithm, k.publicKey),
        required: true,
      }),
    ),
    {
      record: 'SPF',
      name: rp,
      fqdn: `${rp}.${d}`,
      type: 'MX',
      value: s.bounceHost,
      priority: 10,
      required: true,
    },
    // Resend shows the SPF value in quotes, as zone files write a TXT string.
    { record: 'SPF', name: rp, fqdn: `${rp}.${d}`, type: 'TXT', value: `"${spf}"`, required: true },
    {
      record: 'DMARC',
      name: '_dmarc',
      fqdn: `_dmarc.${d}`,
      type: 'TXT',
      value: SUGGESTED_DMARC,
      required: false,
    },
  ];
}

/** A stable key for a record's stored status: the expected value may change (new IPs), the slot does not. */
export function recordKey(r: Pick<DomainRecord, 'record' | 'type' | 'fqdn'>): string {
  return `${r.record}/${r.type}/${r.fqdn}`;
}

/** What a DNS lookup said, in the terms verification needs. */
export type Lookup<T> =
  | { readonly kind: 'ok'; readonly value: T }
  /** NXDOMAIN or no records of the type: the record is not published. */
  | { readonly kind: 'missing' }
  /** SERVFAIL, time-out, refusal: nothing can be concluded (RFC 2308 §7). */
  | { readonly kind: 'error'; readonly detail: string };

export type TxtAnswer = Lookup<readonly (readonly string[])[]>;
export type MxAnswer = Lookup<readonly { readonly exchange: string; readonly priority: number }[]>;

/** One record's finding: published as expected, absent or different, or unknown for now. */
export type RecordFinding = 'found' | 'missing' | 'dns_error';

/** DKIM tag-list parsing (RFC 6376 §3.2): tags separated by ";", whitespace around them ignored. */
function tags(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of text.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).replace(/\s+/g, ''));
  }
  return out;
}

const unquote = (v: string) => v.replace(/^"(.*)"$/, '$1');
const hostEq = (a: string, b: string) =>
  a.toLowerCase().replace(/\.$/, '') === b.toLowerCase().replace(/\.$/, '');

/**
 * Whether DNS publishes the record. A TXT record's character-strings are joined before
 * comparison (RFC 6376 §3.6.2.2, RFC 7208 §3.3): long DKIM keys are split at 255 octets.
 */
export function findRecord(r: DomainRecord, answer: TxtAnswer | MxAnswer): RecordFinding {
  if (answer.kind === 'error') return 'dns_error';
  if (answer.kind === 'missing') return 'missing';
  if (r.type === 'MX') {
    const mx = answer.value as readonly { exchange: string }[];
    return mx.some((m) => hostEq(m.exchange, r.value)) ? 'found' : 'missing';
  }
  const texts = (answer.value as readonly (readonly string[])[]).map((strings) => strings.join(''));
  switch (r.record) {
    case 'DKIM': {
      const want = tags(r.value);
      // The key is what matters; a record with other tags (t=s, n=…) around it still verifies.
      return texts.some((t) => {
        const got = tags(t);
        return got.get('p') === want.get('p') && (got.get('k') ?? 'rsa') === want.get('k');
      })
        ? 'found'
        : 'missing';
    }
    case 'SPF': {
      // RFC 7208 §4.5: exactly one v=spf1 record, else permerror.
      const spf = texts.filter((t) => /^v=spf1(\s|$)/i.test(t.trim()));
      if (spf.length !== 1) return 'missing';
      const terms = new Set(spf[0]!.trim().toLowerCase().split(/\s+/));
      const needed = unquote(r.value)
        .toLowerCase()
        .split(/\s+/)
        .filter((t) => t.startsWith('ip4:') || t.startsWith('ip6:'));
      return needed.every((t) => terms.has(t)) ? 'found' : 'missing';
    }
    case 'DMARC':
      // RFC 7489 §6.6.3: the record must begin with v=DMARC1.
      return texts.some((t) => /^v=DMARC1\s*(;|$)/i.test(t.trim())) ? 'found' : 'missing';
  }
}
