import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createMtaStsResolver, type MtaStsOptions, type TxtLookup } from '../../adapters/mta-sts.js';

/**
 * A real HTTPS policy server on 127.0.0.1 with a certificate made by openssl for this run;
 * the resolver trusts it through `ca` and reaches it through the egress guard with the
 * loopback test switch. Each test domain is its own virtual host.
 */

const POLICY =
  'version: STSv1\r\nmode: enforce\r\nmx: mx1.good.test\r\nmx: *.mx.good.test\r\nmax_age: 86400\r\n';
const hosts = ['good', 'redirect', 'big', 'html', 'broken', 'guarded', 'untrusted'].map(
  (d) => `mta-sts.${d}.test`,
);

let dir: string;
let cert: Buffer;
let server: Server;
let port: number;
const hits = new Map<string, number>();
let goodPolicy = POLICY;

function hitsFor(domain: string): number {
  return hits.get(`mta-sts.${domain}`) ?? 0;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'posthorn-mta-sts-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=posthorn mta-sts test',
      '-addext',
      `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',')}`,
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  );
  cert = readFileSync(join(dir, 'cert.pem'));
  server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    hits.set(host, (hits.get(host) ?? 0) + 1);
    if (req.url !== '/.well-known/mta-sts.txt') {
      res.writeHead(404).end();
      return;
    }
    switch (host) {
      case 'mta-sts.good.test':
      case 'mta-sts.guarded.test':
      case 'mta-sts.untrusted.test':
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(goodPolicy);
        return;
      case 'mta-sts.redirect.test':
        res.writeHead(302, { location: `https://mta-sts.good.test:${port}/.well-known/mta-sts.txt` }).end();
        return;
      case 'mta-sts.big.test': {
        // Chunked, no Content-Length: the cap must be enforced while reading.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write(POLICY);
        const pad = `# ${'x'.repeat(1022)}\n`;
        for (let i = 0; i < 80; i++) res.write(pad);
        res.end();
        return;
      }
      case 'mta-sts.html.test':
        res.writeHead(200, { 'content-type': 'text/html' }).end(POLICY);
        return;
      case 'mta-sts.broken.test':
        res.writeHead(200, { 'content-type': 'text/plain' }).end('version: STSv1\nmode: sometimes\n');
        return;
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** A TXT zone the test can change, answering like adapters/dns.ts would. */
function zone(initial: Record<string, string[][] | 'nxdomain' | 'temporary'>) {
  const records = new Map(Object.entries(initial));
  const txt: TxtLookup = async (name) => records.get(name) ?? 'nxdomain';
  return {
    txt,
    set: (name: string, value: string[][] | 'nxdomain' | 'temporary') => records.set(name, value),
  };
}

function resolverWith(txt: TxtLookup, extra: Partial<MtaStsOptions> = {}) {
  return createMtaStsResolver({
    txt,
    addresses: async () => ['127.0.0.1'],
    ca: cert,
    port,
    allowLoopback: true,
    timeoutMs: 5000,
    ...extra,
  });
}

test('a valid policy is fetched once and served from cache while the TXT id is unchanged', async () => {
  const z = zone({ '_mta-sts.good.test': [['v=STSv1; id=20260101;']] });
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const r = resolverWith(z.txt, { now: () => clock });
  try {
    const before = hitsFor('good.test');
    const first = await r.lookup('good.test');
    assert.deepEqual(first, {
      kind: 'policy',
      mode: 'enforce',
      mx: ['mx1.good.test', '*.mx.good.test'],
      maxAge: 86400,
      id: '20260101',
      cached: false,
    });
    assert.equal(hitsFor('good.test'), before + 1);

    const second = await r.lookup('GOOD.test.');
    assert.equal(second.kind === 'policy' && second.cached, true);
    assert.equal(hitsFor('good.test'), before + 1, 'same id: no HTTP request');

    // New id → refetch (RFC 8461 §5.1).
    goodPolicy = POLICY.replace('mx1.good.test', 'mx9.good.test');
    z.set('_mta-sts.good.test', [['v=STSv1; id=20260102;']]);
    const third = await r.lookup('good.test');
    assert.equal(hitsFor('good.test'), before + 2);
    assert.equal(third.kind === 'policy' && third.mx[0], 'mx9.good.test');
    assert.equal(third.kind === 'policy' && third.id, '20260102');

    // Past max_age (86400 s) → refetch even with the same id.
    clock += 86_401_000;
    const fourth = await r.lookup('good.test');
    assert.equal(fourth.kind === 'policy' && fourth.cached, false);
    assert.equal(hitsFor('good.test'), before + 3);
    assert.equal(r.fetches, 3);
  } finally {
    goodPolicy = POLICY;
    await r.close();
  }
});

test('DNS: no record is no policy; a temporary failure is temporary, unless a policy is cached', async () => {
  const z = zone({ '_mta-sts.good.test': 'temporary' });
  const r = resolverWith(z.txt);
  try {
    assert.deepEqual(await r.lookup('nothing.test'), {
      kind: 'none',
      reason: 'no_record',
      detail: 'no TXT record starting with v=STSv1;',
    });
    assert.equal((await r.lookup('good.test')).kind, 'temporary');
    z.set('_mta-sts.good.test', [['v=STSv1; id=a1;']]);
    assert.equal((await r.lookup('good.test')).kind, 'policy');
    z.set('_mta-sts.good.test', 'temporary');
    const cached = await r.lookup('good.test');
    assert.equal(cached.kind === 'policy' && cached.cached, true);
    z.set('_mta-sts.good.test', 'nxdomain');
    assert.equal((await r.lookup('good.test')).kind, 'policy', 'a removed TXT does not void the cache');
    z.set('_mta-sts.other.test', [['v=STSv1; id=a;'], ['v=STSv1; id=b;']]);
    const two = await r.lookup('other.test');
    assert.equal(two.kind === 'none' && two.reason, 'invalid_record');
  } finally {
    await r.close();
  }
});

test('a 302 redirect is not followed', async () => {
  const r = resolverWith(zone({ '_mta-sts.redirect.test': [['v=STSv1; id=1;']] }).txt);
  try {
    const good = hitsFor('good.test');
    const result = await r.lookup('redirect.test');
    assert.equal(result.kind, 'none');
    assert.equal(result.kind === 'none' && result.reason, 'fetch_failed');
    assert.match(result.kind === 'none' ? result.detail : '', /http_status: HTTP 302/);
    assert.equal(hitsFor('good.test'), good, 'redirect target never requested');
  } finally {
    await r.close();
  }
});

test('a body over 64 KB is aborted', async () => {
  const r = resolverWith(zone({ '_mta-sts.big.test': [['v=STSv1; id=1;']] }).txt);
  try {
    const result = await r.lookup('big.test');
    assert.equal(result.kind === 'none' && result.reason, 'fetch_failed');
    assert.match(result.kind === 'none' ? result.detail : '', /too_large: body over 65536 bytes/);
  } finally {
    await r.close();
  }
});

test('a content-type other than text/plain is refused', async () => {
  const r = resolverWith(zone({ '_mta-sts.html.test': [['v=STSv1; id=1;']] }).txt);
  try {
    const result = await r.lookup('html.test');
    assert.match(result.kind === 'none' ? result.detail : '', /content_type: content-type text\/html/);
  } finally {
    await r.close();
  }
});

test('an unparseable policy is no policy, with the reason', async () => {
  const r = resolverWith(zone({ '_mta-sts.broken.test': [['v=STSv1; id=1;']] }).txt);
  try {
    const result = await r.lookup('broken.test');
    assert.equal(result.kind === 'none' && result.reason, 'invalid_policy');
  } finally {
    await r.close();
  }
});

test('the egress guard refuses loopback without the test switch, and private addresses always', async () => {
  const z = zone({ '_mta-sts.guarded.test': [['v=STSv1; id=1;']] });
  for (const [addresses, allowLoopback] of [
    [['127.0.0.1'], false],
    [['10.0.0.5'], true],
    [['169.254.169.254'], true],
    [['::1'], false],
    [['8.8.8.8', '10.0.0.5'], true],
  ] as const) {
    const r = resolverWith(z.txt, { addresses: async () => addresses, allowLoopback });
    try {
      const result = await r.lookup('guarded.test');
      assert.equal(result.kind === 'none' && result.reason, 'fetch_failed', addresses.join());
      assert.match(result.kind === 'none' ? result.detail : '', /egress_refused/, addresses.join());
    } finally {
      await r.close();
    }
  }
  assert.equal(hitsFor('guarded.test'), 0, 'no request ever reached the server');
});

test('the certificate is validated: an untrusted server yields no policy', async () => {
  const r = resolverWith(zone({ '_mta-sts.untrusted.test': [['v=STSv1; id=1;']] }).txt, { ca: undefined });
  try {
    const result = await r.lookup('untrusted.test');
    assert.equal(result.kind === 'none' && result.reason, 'fetch_failed');
    assert.match(result.kind === 'none' ? result.detail : '', /network/);
    assert.equal(hitsFor('untrusted.test'), 0);
  } finally {
    await r.close();
  }
});

test('concurrent look-ups for one domain share one fetch', async () => {
  const r = resolverWith(zone({ '_mta-sts.good.test': [['v=STSv1; id=shared1;']] }).txt);
  try {
    const before = hitsFor('good.test');
    const results = await Promise.all([r.lookup('good.test'), r.lookup('good.test'), r.lookup('good.test')]);
    assert.ok(results.every((x) => x.kind === 'policy'));
    assert.equal(hitsFor('good.test'), before + 1);
  } finally {
    await r.close();
  }
});
