import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  afterCheck,
  type DomainState,
  domainMaySend,
  onVerifyRequest,
  recordStatus,
  summarize,
} from '../../../core/domains/lifecycle.js';
import { type DomainRecord, domainRecords, findRecord, recordKey } from '../../../core/domains/records.js';

const KEYS = [
  {
    selector: 'ph202612r',
    algorithm: 'rsa' as const,
    publicKey: 'MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAx',
  },
  {
    selector: 'ph202612e',
    algorithm: 'ed25519' as const,
    publicKey: '11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=',
  },
];
const SETTINGS = {
  returnPathSubdomain: 'send',
  bounceHost: 'mx.posthorn.test',
  sendingIps: ['127.0.0.2', '::2'],
};

function only(records: DomainRecord[], record: string, type: string): DomainRecord {
  const r = records.find((x) => x.record === record && x.type === type);
  assert.ok(r, `${record} ${type} is there`);
  return r;
}

describe('domain records', () => {
  const records = domainRecords('Acme.TEST', KEYS, SETTINGS);

  test('one DKIM TXT per key, the return path MX and SPF, and a suggested DMARC', () => {
    assert.deepEqual(
      records.map((r) => [r.record, r.type, r.name, r.fqdn, r.required]),
      [
        ['DKIM', 'TXT', 'ph202612r._domainkey', 'ph202612r._domainkey.acme.test', true],
        ['DKIM', 'TXT', 'ph202612e._domainkey', 'ph202612e._domainkey.acme.test', true],
        ['SPF', 'MX', 'send', 'send.acme.test', true],
        ['SPF', 'TXT', 'send', 'send.acme.test', true],
        ['DMARC', 'TXT', '_dmarc', '_dmarc.acme.test', false],
      ],
    );
    assert.equal(records[0]!.value, `v=DKIM1; k=rsa; p=${KEYS[0]!.publicKey}`);
    assert.equal(records[1]!.value, `v=DKIM1; k=ed25519; p=${KEYS[1]!.publicKey}`);
    assert.equal(only(records, 'SPF', 'MX').value, 'mx.posthorn.test');
    assert.equal(only(records, 'SPF', 'MX').priority, 10);
    assert.equal(only(records, 'SPF', 'TXT').value, '"v=spf1 ip4:127.0.0.2 ip6:::2 -all"');
  });

  test('a DKIM key split into 255-octet strings, with extra tags and spaces, is found', () => {
    const rsa = records[0]!;
    const text = `v=DKIM1; t=s; k=rsa; p=${KEYS[0]!.publicKey.slice(0, 10)} ${KEYS[0]!.publicKey.slice(10)}`;
    const split = text.match(/.{1,20}/g)!;
    assert.equal(findRecord(rsa, { kind: 'ok', value: [['v=spf1 -all'], split] }), 'found');
  });

  test('another key, or the right key under the wrong algorithm, is missing', () => {
    const rsa = records[0]!;
    assert.equal(findRecord(rsa, { kind: 'ok', value: [['v=DKIM1; k=rsa; p=AAAA']] }), 'missing');
    assert.equal(
      findRecord(rsa, { kind: 'ok', value: [[`v=DKIM1; k=ed25519; p=${KEYS[0]!.publicKey}`]] }),
      'missing',
    );
  });

  test('NXDOMAIN or no data is missing; a DNS failure proves nothing', () => {
    assert.equal(findRecord(records[0]!, { kind: 'missing' }), 'missing');
    assert.equal(findRecord(records[0]!, { kind: 'error', detail: 'ESERVFAIL' }), 'dns_error');
  });

  test('the MX is found by host name, case and trailing dot aside', () => {
    const mx = only(records, 'SPF', 'MX');
    assert.equal(
      findRecord(mx, { kind: 'ok', value: [{ exchange: 'MX.Posthorn.test.', priority: 5 }] }),
      'found',
    );
    assert.equal(
      findRecord(mx, { kind: 'ok', value: [{ exchange: 'mx.other.test', priority: 10 }] }),
      'missing',
    );
  });

  test('SPF: one v=spf1 record authorising every sending IP; two records are a permerror (RFC 7208 §4.5)', () => {
    const spf = only(records, 'SPF', 'TXT');
    const ok = [['v=spf1 ip4:127.0.0.2 include:other.test ip6:::2 ~all']];
    assert.equal(findRecord(spf, { kind: 'ok', value: ok }), 'found');
    assert.equal(findRecord(spf, { kind: 'ok', value: [['v=spf1 ip4:127.0.0.2 -all']] }), 'missing');
    assert.equal(findRecord(spf, { kind: 'ok', value: [...ok, ['v=spf1 -all']] }), 'missing');
  });

  test('DMARC: any record beginning with v=DMARC1', () => {
    const dmarc = only(records, 'DMARC', 'TXT');
    assert.equal(
      findRecord(dmarc, { kind: 'ok', value: [['v=DMARC1; p=reject; rua=mailto:d@acme.test']] }),
      'found',
    );
    assert.equal(findRecord(dmarc, { kind: 'ok', value: [['v=spf1 -all']] }), 'missing');
  });

  test('record keys name the slot, not the value', () => {
    const other = domainRecords('acme.test', KEYS, { ...SETTINGS, sendingIps: ['127.0.0.9'] });
    assert.deepEqual(records.map(recordKey), other.map(recordKey));
  });
});

describe('domain lifecycle', () => {
  const HOUR = 3_600_000;
  const o = { giveUpMs: 72 * HOUR };
  const at = (status: DomainState['status'], sinceMs = 0): DomainState => ({ status, sinceMs });

  test('the required records decide; DMARC does not', () => {
    assert.equal(
      summarize([
        { required: true, finding: 'found' },
        { required: false, finding: 'missing' },
      ]),
      'all_found',
    );
    assert.equal(
      summarize([
        { required: true, finding: 'dns_error' },
        { required: true, finding: 'missing' },
      ]),
      'missing',
    );
    assert.equal(
      summarize([
        { required: true, finding: 'dns_error' },
        { required: true, finding: 'found' },
      ]),
      'dns_error',
    );
  });

  test('pending → verified when every record is seen, rechecked later', () => {
    assert.deepEqual(afterCheck(at('pending'), 'all_found', HOUR, o), {
      state: at('verified', HOUR),
      next: 'later',
    });
  });

  test('pending stays pending (same give-up clock) until the give-up, then failed and the actor stops', () => {
    assert.deepEqual(afterCheck(at('pending'), 'missing', HOUR, o), { state: at('pending'), next: 'soon' });
    assert.deepEqual(afterCheck(at('pending'), 'dns_error', 71 * HOUR, o), {
      state: at('pending'),
      next: 'soon',
    });
    assert.deepEqual(afterCheck(at('pending'), 'missing', 72 * HOUR, o), {
      state: at('failed', 72 * HOUR),
      next: 'stop',
    });
  });

  test('verified whose records vanish → temporary_failure, checked soon; back to verified when they return', () => {
    const flagged = afterCheck(at('verified'), 'missing', 10 * HOUR, o);
    assert.deepEqual(flagged, { state: at('temporary_failure', 10 * HOUR), next: 'soon' });
    assert.deepEqual(afterCheck(flagged.state, 'all_found', 11 * HOUR, o), {
      state: at('verified', 11 * HOUR),
      next: 'later',
    });
    assert.deepEqual(afterCheck(flagged.state, 'missing', 82 * HOUR, o), {
      state: at('failed', 82 * HOUR),
      next: 'stop',
    });
  });

  test('a DNS failure never flags a verified domain', () => {
    assert.deepEqual(afterCheck(at('verified'), 'dns_error', HOUR, o), {
      state: at('verified'),
      next: 'soon',
    });
    assert.deepEqual(afterCheck(at('verified'), 'all_found', HOUR, o), {
      state: at('verified'),
      next: 'later',
    });
  });

  test('not_started reaching a check counts as pending; failed stops', () => {
    assert.deepEqual(afterCheck(at('not_started'), 'missing', HOUR, o), {
      state: at('pending', HOUR),
      next: 'soon',
    });
    assert.deepEqual(afterCheck(at('failed'), 'all_found', HOUR, o), { state: at('failed'), next: 'stop' });
  });

  test('record statuses follow the finding and the domain', () => {
    assert.equal(recordStatus('found', 'failed'), 'verified');
    assert.equal(recordStatus('missing', 'pending'), 'pending');
    assert.equal(recordStatus('missing', 'temporary_failure'), 'temporary_failure');
    assert.equal(recordStatus('missing', 'failed'), 'failed');
    assert.equal(recordStatus('dns_error', 'pending'), 'temporary_failure');
  });

  test('verify requests start over only from not_started and failed', () => {
    assert.equal(onVerifyRequest('not_started'), 'start_pending');
    assert.equal(onVerifyRequest('failed'), 'start_pending');
    assert.equal(onVerifyRequest('pending'), 'check_now');
    assert.equal(onVerifyRequest('verified'), 'check_now');
    assert.equal(onVerifyRequest('temporary_failure'), 'check_now');
  });

  test('verified and flagged domains send; the others do not', () => {
    assert.deepEqual(
      ['not_started', 'pending', 'verified', 'temporary_failure', 'failed'].filter(domainMaySend),
      ['verified', 'temporary_failure'],
    );
  });
});
