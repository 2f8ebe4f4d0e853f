import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Resend } from 'resend';
import { type Stack, startStack } from '../support/stack.js';
import { settled, tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

/**
 * Delivery under MTA-STS (RFC 8461), tenant require-TLS and opportunistic TLS (RFC 7435),
 * on real sockets: a test CA made by openssl for this run issues the certificates of the MX
 * host `mx.secure.test` and of the policy hosts `mta-sts.<domain>`; the policies are served
 * over HTTPS on 127.0.0.1 (POSTHORN_MTA_STS_PORT) and trusted through POSTHORN_MTA_STS_CA.
 */

const SECURE_MX = '127.0.1.21'; // certificate for mx.secure.test from the test CA
const ELSEWHERE_MX = '127.0.1.22'; // outside its domain's policy: never connected to
const SELF_SIGNED_MX = '127.0.1.23'; // smtp-server's built-in self-signed certificate
const TESTING_MX = '127.0.1.24'; // self-signed, under a policy in mode testing
const NO_STARTTLS_MX = '127.0.1.25'; // does not offer STARTTLS
const BROKEN_TLS_MX = '127.0.1.26'; // offers STARTTLS, every handshake fails

const POLICIES: Record<string, string> = {
  'secure.test': 'mode: enforce\nmx: mx.secure.test',
  'mismatch.test': 'mode: enforce\nmx: mx.policy-only.test',
  'badcert.test': 'mode: enforce\nmx: *.badcert.test',
  'testing.test': 'mode: testing\nmx: mx.testing.test',
  // Replaced during the test under a new TXT id: before failing for good on an MX
  // mismatch the sender looks for an updated policy (RFC 8461 §5).
  'moved.test': 'mode: enforce\nmx: mx.old.test',
};

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore' });
}

/** A CA and one leaf certificate for `names`, signed by it; PEM paths in `dir`. */
function makeCertificates(dir: string, names: string[]) {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const ca = { key: join(dir, 'ca.key'), cert: join(dir, 'ca.pem') };
  openssl([
    'req',
    '-x509',
    ...ec,
    '-days',
    '1',
    '-subj',
    '/CN=posthorn tls-policy test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout',
    ca.key,
    '-out',
    ca.cert,
  ]);
  const leaf = { key: join(dir, 'leaf.key'), csr: join(dir, 'leaf.csr'), cert: join(dir, 'leaf.pem') };
  openssl(['req', ...ec, '-subj', '/CN=posthorn tls-policy test', '-keyout', leaf.key, '-out', leaf.csr]);
  const ext = join(dir, 'leaf.ext');
  writeFileSync(
    ext,
    `subjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`,
  );
  openssl([
    'x509',
    '-req',
    '-in',
    leaf.csr,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    ext,
    '-out',
    leaf.cert,
  ]);
  return { caPath: ca.cert, key: readFileSync(leaf.key), cert: readFileSync(leaf.cert) };
}

describe('TLS policy: MTA-STS, require-TLS, TLS-broken memory', () => {
  let dir: string;
  let policyServer: Server;
  let stack: Stack;
  let acme: Resend;
  let strict: Resend;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'posthorn-tls-policy-'));
    const names = ['mx.secure.test', 'mx.moved.test', ...Object.keys(POLICIES).map((d) => `mta-sts.${d}`)];
    const pki = makeCertificates(dir, names);

    policyServer = createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
      const host = (req.headers.host ?? '').replace(/:\d+$/, '');
      const policy = POLICIES[host.replace(/^mta-sts\./, '')];
      if (req.url !== '/.well-known/mta-sts.txt' || !policy) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`version: STSv1\n${policy}\nmax_age: 86400\n`);
    });
    await new Promise<void>((resolve) => policyServer.listen(0, '127.0.0.1', resolve));
    const policyPort = (policyServer.address() as { port: number }).port;

    const zones: Parameters<typeof startStack>[0]['zones'] = {};
    const domain = (name: string, mxHost: string, address: string) => {
      zones[name] = { mx: [{ exchange: mxHost, priority: 10 }] };
      zones[mxHost] = { a: [address] };
    };
    domain('secure.test', 'mx.secure.test', SECURE_MX);
    domain('mismatch.test', 'mx.mismatch.test', ELSEWHERE_MX);
    domain('badcert.test', 'mx.badcert.test', SELF_SIGNED_MX);
    domain('testing.test', 'mx.testing.test', TESTING_MX);
    domain('plain.test', 'mx.plain.test', NO_STARTTLS_MX);
    domain('broken.test', 'mx.broken.test', BROKEN_TLS_MX);
    domain('moved.test', 'mx.moved.test', SECURE_MX);
    for (const d of Object.keys(POLICIES)) {
      zones[`_mta-sts.${d}`] = { txt: [['v=STSv1; id=20250101;']] };
      zones[`mta-sts.${d}`] = { a: ['127.0.0.1'] };
    }

    stack = await startStack({
      zones,
      sinks: {
        [SECURE_MX]: { tls: { key: pki.key, cert: pki.cert } },
        [ELSEWHERE_MX]: {},
        [SELF_SIGNED_MX]: {},
        [TESTING_MX]: {},
        [NO_STARTTLS_MX]: { tls: { hideSTARTTLS: true } },
        // Node's client refuses anything below TLS 1.2: the handshake always fails.
        [BROKEN_TLS_MX]: { tls: { minVersion: 'TLSv1', maxVersion: 'TLSv1' } },
      },
      env: {
        POSTHORN_MTA_STS_CA: pki.caPath,
        POSTHORN_MTA_STS_PORT: String(policyPort),
        POSTHORN_ALLOW_LOOPBACK_MX: 'true',
        POSTHORN_RETRY_INITIAL: '1s',
        POSTHORN_RETRY_MAX: '1s',
        POSTHORN_RETRY_MAX_AGE: '3s',
        // A policy change must be seen within the 3 s the messages live here.
        POSTHORN_DNS_SHORT_TTL: '0ms',
      },
    });
    ({ resend: acme } = await tenantClient(stack, 'acme', 'acme.test'));
    ({ resend: strict } = await tenantClient(stack, 'strict', 'strict.test'));
    // `posthorn tenants set strict --require-tls true` does this.
    await stack.db.query(`UPDATE tenants SET require_tls = true WHERE name = 'strict'`);
  });

  after(async () => {
    await stack?.stop();
    await new Promise<void>((resolve) => (policyServer ? policyServer.close(() => resolve()) : resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function send(client: Resend, from: string, to: string): Promise<string> {
    const { data, error } = await client.emails.send({ from, to, subject: 's', text: 't' });
    assert.equal(error, null);
    return data!.id;
  }

  interface EventRow {
    event: string;
    category: string | null;
    detail: string | null;
    tls: string | null;
    mx_host: string | null;
  }

  async function events(id: string, event: string): Promise<EventRow[]> {
    const r = await stack.db.query<EventRow>(
      `SELECT event, category, detail, tls, mx_host FROM delivery_events
       WHERE message_id = $1 AND event = $2 ORDER BY id`,
      [id, event],
    );
    return r.rows;
  }

  test('enforce, valid certificate on a matching MX: delivered over TLS, recorded as mta-sts=enforce', async () => {
    const id = await send(acme, 'a@acme.test', 'x@secure.test');
    assert.equal((await settled(stack, id))[0]!.state, 'delivered');
    const [ev] = await events(id, 'delivered');
    assert.match(ev!.tls ?? '', /^TLSv1\.[23] \S+ mta-sts=enforce$/);
    const sink = stack.sinks[SECURE_MX]!;
    assert.equal(sink.received.length, 1);
    assert.equal(sink.received[0]!.tls, true);
  });

  test('enforce, no MX matches the policy: deferred as tls_failure, the MX is never connected to', async () => {
    const id = await send(acme, 'a@acme.test', 'x@mismatch.test');
    const rows = await settled(stack, id);
    assert.equal(rows[0]!.state, 'failed');
    assert.ok(rows[0]!.attempts >= 2, `retried (${rows[0]!.attempts} attempts)`);
    const deferred = await events(id, 'deferred');
    assert.ok(deferred.length >= 1);
    for (const ev of deferred) {
      assert.equal(ev.category, 'tls_failure');
      assert.match(ev.detail ?? '', /^451 4\.7\.5 MTA-STS: no MX matches the policy/);
      assert.equal(ev.tls, 'mta-sts=enforce');
    }
    assert.equal(stack.sinks[ELSEWHERE_MX]!.connections.length, 0);
  });

  test('enforce, certificate not valid for the MX: deferred as tls_failure, never plaintext', async () => {
    const id = await send(acme, 'a@acme.test', 'x@badcert.test');
    assert.equal((await settled(stack, id))[0]!.state, 'failed');
    const deferred = await events(id, 'deferred');
    assert.ok(deferred.length >= 1);
    for (const ev of deferred) {
      assert.equal(ev.category, 'tls_failure');
      assert.match(ev.detail ?? '', /mta-sts=enforce.*mx\.badcert\.test.*starttls/);
    }
    const sink = stack.sinks[SELF_SIGNED_MX]!;
    assert.ok(sink.connections.length >= 1, 'STARTTLS was tried');
    assert.equal(sink.received.length, 0, 'nothing was sent in plaintext');
  });

  test('testing mode, certificate not valid: delivered (opportunistic), recorded as mta-sts=testing', async () => {
    const id = await send(acme, 'a@acme.test', 'x@testing.test');
    assert.equal((await settled(stack, id))[0]!.state, 'delivered');
    const [ev] = await events(id, 'delivered');
    assert.match(ev!.tls ?? '', /^TLSv1\.[23] \S+ mta-sts=testing$/);
    assert.equal(stack.sinks[TESTING_MX]!.received.length, 1);
  });

  test('tenant require-TLS, receiver without STARTTLS: deferred as tls_failure; other tenants go plaintext', async () => {
    const sink = stack.sinks[NO_STARTTLS_MX]!;
    const id = await send(strict, 'a@strict.test', 'x@plain.test');
    assert.equal((await settled(stack, id))[0]!.state, 'failed');
    const deferred = await events(id, 'deferred');
    assert.ok(deferred.length >= 1);
    for (const ev of deferred) {
      assert.equal(ev.category, 'tls_failure');
      assert.match(ev.detail ?? '', /require-tls.*not offered/);
    }
    assert.ok(sink.connections.length >= 1);
    assert.equal(sink.received.length, 0, 'nothing was sent in plaintext');

    const other = await send(acme, 'a@acme.test', 'y@plain.test');
    assert.equal((await settled(stack, other))[0]!.state, 'delivered');
    assert.equal(sink.received.length, 1);
    assert.equal(sink.received[0]!.tls, false);
  });

  test('enforce, MX not in the policy until the domain publishes a new one: the new TXT id is picked up', async () => {
    const sink = stack.sinks[SECURE_MX]!;
    const before = sink.received.length;
    const id = await send(acme, 'a@acme.test', 'x@moved.test');
    await waitFor('the first deferral', async () =>
      (await events(id, 'deferred')).length > 0 ? true : undefined,
    );
    assert.equal(sink.received.length, before);
    // The cached policy would last a day (max_age); a new id replaces it (RFC 8461 §3.1, §5.1).
    POLICIES['moved.test'] = 'mode: enforce\nmx: mx.moved.test';
    stack.dns.set('_mta-sts.moved.test', { txt: [['v=STSv1; id=20250102;']] });
    assert.equal((await settled(stack, id))[0]!.state, 'delivered');
    const [ev] = await events(id, 'delivered');
    assert.match(ev!.tls ?? '', /^TLSv1\.[23] \S+ mta-sts=enforce$/);
    assert.equal(sink.received.length, before + 1);
  });

  test('a failed STARTTLS handshake: plaintext once after a retry, then plaintext directly', async () => {
    const sink = stack.sinks[BROKEN_TLS_MX]!;
    const first = await send(acme, 'a@acme.test', 'x@broken.test');
    assert.equal((await settled(stack, first))[0]!.state, 'delivered');
    const [ev1] = await events(first, 'delivered');
    assert.match(ev1!.tls ?? '', /^plaintext \(STARTTLS failed: TLS handshake failed/);
    // The failed handshake's connection, then the plaintext one.
    assert.equal(sink.connections.length, 2);

    const second = await send(acme, 'a@acme.test', 'y@broken.test');
    assert.equal((await settled(stack, second))[0]!.state, 'delivered');
    const [ev2] = await events(second, 'delivered');
    assert.match(ev2!.tls ?? '', /^plaintext \(STARTTLS skipped/);
    // At most one new connection and no handshake: a STARTTLS attempt would have cost two.
    await waitFor('the second message', async () => (sink.received.length === 2 ? true : undefined));
    assert.equal(sink.connections.length, 3);
    assert.deepEqual(
      sink.received.map((m) => m.tls),
      [false, false],
    );
  });
});
