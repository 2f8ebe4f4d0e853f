import type { DnsAnswer, DnsResolver } from '../adapters/dns.js';
import type { DomainStore } from '../adapters/postgres/domains.js';
import {
  type DomainRecord,
  domainRecords,
  findRecord,
  type Lookup,
  type RecordSettings,
  recordKey,
} from '../core/domains/records.js';
import type { DomainActivities } from '../workflows/contract.js';

function lookup<T>(a: DnsAnswer<T>): Lookup<T> {
  switch (a.kind) {
    case 'ok':
      return { kind: 'ok', value: a.value };
    case 'nxdomain':
    case 'nodata':
      return { kind: 'missing' };
    case 'temporary':
      return { kind: 'error', detail: a.detail };
  }
}

/**
 * The domain actor's activities: look up every record of the domain through the configured
 * resolvers (POSTHORN_DNS_SERVERS), uncached, since a customer who just published a record
 * wants it seen; then store what the workflow decided.
 */
export function createDomainActivities(deps: {
  readonly domains: Pick<DomainStore, 'forCheck' | 'dkimKeys' | 'recordCheck'>;
  readonly dns: Pick<DnsResolver, 'txt' | 'mx'>;
  readonly recordSettings: () => Promise<RecordSettings>;
}): DomainActivities {
  async function find(r: DomainRecord) {
    const answer = r.type === 'MX' ? lookup(await deps.dns.mx(r.fqdn)) : lookup(await deps.dns.txt(r.fqdn));
    return { key: recordKey(r), required: r.required, finding: findRecord(r, answer) };
  }

  return {
    async checkDomain({ domainId }) {
      const row = await deps.domains.forCheck(domainId);
      if (!row || row.deletedAt) return { kind: 'gone' };
      const records = domainRecords(
        row.name,
        await deps.domains.dkimKeys(row.id),
        await deps.recordSettings(),
      );
      return {
        kind: 'checked',
        status: row.status,
        statusSinceMs: row.sinceMs,
        records: await Promise.all(records.map(find)),
      };
    },
    recordDomainCheck: (c) =>
      deps.domains.recordCheck({
        id: c.domainId,
        expected: c.expected,
        status: c.status,
        sinceMs: c.sinceMs,
        records: c.records,
        checkedAtMs: c.checkedAtMs,
      }),
  };
}
