import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ensureSelfSignedCertificate } from '../../../adapters/tls-certificate.js';
import { isStrippedField } from '../../../api/submission.js';
import { submissionSettings } from '../../../bin/submission-settings.js';
import { loadConfig } from '../../../config/load.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function dataDir() {
  const d = await mkdtemp(join(tmpdir(), 'posthorn-settings-'));
  dirs.push(d);
  return d;
}

function config(env: NodeJS.ProcessEnv) {
  const r = loadConfig(env, { hostname: 'node1.example.test' });
  assert.ok(r.ok, JSON.stringify(!r.ok && r.problems));
  return r.config;
}

test('dev: 2587 and 2465 with a self-signed certificate made once under the data directory', async () => {
  const dir = await dataDir();
  const first = submissionSettings(config({ POSTHORN_DATA_DIR: dir }), 'dev', new Date());
  assert.ok(first.on);
  assert.equal(first.settings.port, 2587);
  assert.equal(first.settings.tlsPort, 2465);
  assert.match(first.settings.certificate, /submission\.crt \(self-signed, new\)$/);
  const cert = new X509Certificate(first.settings.tls.cert);
  assert.match(cert.subjectAltName ?? '', /DNS:node1\.example\.test, DNS:localhost, IP Address:127\.0\.0\.1/);
  assert.ok(cert.checkPrivateKey(createPrivateKey(first.settings.tls.key)));
  assert.equal(statSync(join(dir, 'tls', 'submission.key')).mode & 0o777, 0o600);
  const again = submissionSettings(config({ POSTHORN_DATA_DIR: dir }), 'dev', new Date());
  assert.ok(again.on);
  assert.equal(again.settings.tls.cert, first.settings.tls.cert, 'kept across restarts');
});

test('a certificate near its end is made again', async () => {
  const dir = await dataDir();
  const made = ensureSelfSignedCertificate(dir, 'h.test', new Date());
  const before = readFileSync(made.certPath, 'utf8');
  // 360 days on, five are left of its year.
  const later = new Date(Date.now() + 360 * 86_400_000);
  assert.equal(ensureSelfSignedCertificate(dir, 'h.test', later).created, true);
  assert.notEqual(readFileSync(made.certPath, 'utf8'), before);
});

test('serve: off without a certificate, unless a port was asked for; 587 and 465 with one', async () => {
  const dir = await dataDir();
  const off = submissionSettings(config({ POSTHORN_DATA_DIR: dir }), 'serve', new Date());
  assert.deepEqual(off, { on: false, why: 'no certificate (POSTHORN_TLS_CERT, POSTHORN_TLS_KEY)' });
  assert.throws(
    () => submissionSettings(config({ POSTHORN_SUBMISSION_PORT: '587' }), 'serve', new Date()),
    /needs a certificate/,
  );
  const made = ensureSelfSignedCertificate(dir, 'h.test', new Date());
  assert.throws(
    () => submissionSettings(config({ POSTHORN_TLS_CERT: made.certPath }), 'serve', new Date()),
    /go together/,
  );
  const on = submissionSettings(
    config({
      POSTHORN_TLS_CERT: made.certPath,
      POSTHORN_TLS_KEY: made.keyPath,
      POSTHORN_SUBMISSIONS_PORT: '0',
    }),
    'serve',
    new Date(),
  );
  assert.ok(on.on);
  assert.deepEqual([on.settings.port, on.settings.tlsPort, on.settings.host], [587, 0, '127.0.0.1']);
  assert.deepEqual(
    submissionSettings(
      config({ POSTHORN_DATA_DIR: dir, POSTHORN_SUBMISSION_PORT: '0', POSTHORN_SUBMISSIONS_PORT: '0' }),
      'dev',
      new Date(),
    ),
    { on: false, why: 'both submission ports are 0' },
  );
});

test("submitted messages keep their own fields and lose the API's other reserved ones", () => {
  for (const kept of [
    'from',
    'to',
    'cc',
    'subject',
    'date',
    'message-id',
    'sender',
    'content-type',
    'received',
  ])
    assert.equal(isStrippedField(kept), false, kept);
  for (const custom of ['x-custom', 'list-unsubscribe', 'list-unsubscribe-post', 'reply-to'])
    assert.equal(isStrippedField(custom), false, custom);
  for (const stripped of [
    'bcc',
    'return-path',
    'delivered-to',
    'dkim-signature',
    'arc-seal',
    'authentication-results',
    'received-spf',
    'x-spam-status',
    'errors-to',
    'disposition-notification-to',
    'resent-from',
    'resend-idempotency-key',
  ])
    assert.equal(isStrippedField(stripped), true, stripped);
});
