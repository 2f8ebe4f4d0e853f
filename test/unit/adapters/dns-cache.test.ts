import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cachingResolver, type DnsAnswer, type DnsResolver } from '../../../adapters/dns.js';
import type { MxRecord } from '../../../core/delivery/mx.js';

/** A resolver that answers from a table and counts the questions it was asked. */
function table(answers: Record<string, DnsAnswer<unknown>>) {
  const asked: string[] = [];
  const answer = async <T>(key: string) => {
    asked.push(key);
    await Promise.resolve();
    return (answers[key] ?? { kind: 'nxdomain' }) as DnsAnswer<T>;
  };
  const inner: DnsResolver = {
    mx: (d) => answer<MxRecord[]>(`mx ${d}`),
    addresses: (h) => answer<string[]>(`a ${h}`),
    txt: (n) => answer<string[][]>(`txt ${n}`),
  };
  return { inner, asked, answers };
}

function clock() {
  let t = 1_000_000;
  return {
    now: () => t,
    advance(ms: number) {
      t += ms;
    },
  };
}

const options = (now: () => number) => ({ now, maxTtlMs: 300_000, shortTtlMs: 10_000, maxEntries: 100 });

test('concurrent identical questions share one query', async () => {
  const t = table({ 'mx d.test': { kind: 'ok', value: [{ exchange: 'mx.d.test', priority: 10 }] } });
  const dns = cachingResolver(t.inner, options(clock().now));
  const answers = await Promise.all(Array.from({ length: 50 }, () => dns.mx('d.test')));
  assert.equal(t.asked.length, 1);
  assert.ok(answers.every((a) => a.kind === 'ok'));
});

test('addresses live for their TTL, capped; MX and TXT for the short bound', async () => {
  const c = clock();
  const t = table({
    'a mx.d.test': { kind: 'ok', value: ['127.0.1.1'], ttlMs: 60_000 },
    'a long.d.test': { kind: 'ok', value: ['127.0.1.2'], ttlMs: 86_400_000 },
    'txt _mta-sts.d.test': { kind: 'ok', value: [['v=STSv1; id=1;']] },
  });
  const dns = cachingResolver(t.inner, options(c.now));
  await dns.addresses('mx.d.test');
  await dns.addresses('long.d.test');
  await dns.txt('_mta-sts.d.test');
  c.advance(9_000);
  await dns.txt('_mta-sts.d.test');
  assert.equal(t.asked.length, 3, 'all three still cached');
  c.advance(2_000);
  await dns.txt('_mta-sts.d.test');
  await dns.addresses('mx.d.test');
  assert.equal(t.asked.length, 4, 'the TXT answer expired after 10 s; the A record lives 60 s');
  c.advance(50_000);
  await dns.addresses('mx.d.test');
  assert.equal(t.asked.length, 5, 'the A record expired after its TTL');
  c.advance(250_000);
  await dns.addresses('long.d.test');
  assert.equal(t.asked.length, 6, 'a day-long TTL is capped at 5 minutes');
});

test('negative answers are cached briefly; temporary failures are not cached', async () => {
  const c = clock();
  const t = table({ 'mx flaky.test': { kind: 'temporary', detail: 'ESERVFAIL' } });
  const dns = cachingResolver(t.inner, options(c.now));
  assert.equal((await dns.mx('gone.test')).kind, 'nxdomain');
  assert.equal((await dns.mx('gone.test')).kind, 'nxdomain');
  assert.equal(t.asked.filter((k) => k === 'mx gone.test').length, 1);
  await dns.mx('flaky.test');
  t.answers['mx flaky.test'] = { kind: 'ok', value: [{ exchange: 'mx.flaky.test', priority: 10 }] };
  assert.equal((await dns.mx('flaky.test')).kind, 'ok', 'asked again after a temporary failure');
  c.advance(10_001);
  await dns.mx('gone.test');
  assert.equal(t.asked.filter((k) => k === 'mx gone.test').length, 2);
});
