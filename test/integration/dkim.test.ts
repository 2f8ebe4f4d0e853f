import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import MailComposer from 'nodemailer/lib/mail-composer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import {
  checkWireFormat,
  DkimWireError,
  decryptPrivateKey,
  dkimTxtRecord,
  encryptPrivateKey,
  type GeneratedDkimKey,
  generateDomainKeys,
  publicKeyValue,
  signMessage,
} from '../../adapters/dkim.js';
import { type SmtpSink, startSink } from '../support/smtp-sink.js';

const domain = 'send.example.test';
const master = randomBytes(32);
let keys: GeneratedDkimKey[] = [];
const zone = new Map<string, string[][]>();
let sink: SmtpSink;

/**
 * mailauth's resolver hook: serves the TXT records we would publish, split into
 * character-strings exactly as a DNS answer would carry them.
 */
async function resolver(name: string, rrtype: string): Promise<string[][]> {
  const found = rrtype === 'TXT' ? zone.get(name.toLowerCase()) : undefined;
  if (!found) throw Object.assign(new Error(`no ${rrtype} for ${name}`), { code: 'ENOTFOUND' });
  return found;
}

async function compose(): Promise<Buffer> {
  // A long unbroken HTML line (must be encoded to ≤ 998-octet lines before signing) and a
  // text line holding a lone dot (dot-stuffed by the SMTP client, RFC 5321 §4.5.2).
  const longLine = `<p>${'x'.repeat(4000)}</p>`;
  return new MailComposer({
    from: { name: 'Sender Ünïcode', address: `hello@${domain}` },
    to: ['alice@receiver.test', 'bob@receiver.test'],
    cc: ['carol@receiver.test'],
    replyTo: 'support@send.example.test',
    subject: 'Your receipt — héllo',
    text: 'line one\n.\nline after a lone dot\n..two dots\n',
    html: `<html><body>${longLine}</body></html>`,
    headers: {
      'List-Unsubscribe': '<https://send.example.test/u/abc>, <mailto:u+abc@send.example.test>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
    messageId: '<0b9f6a3e-6c1d-4f57-9a2e-1c7d8e9fa0b1@send.example.test>',
    date: new Date('2026-01-02T03:04:05Z'),
    newline: '\r\n',
    disableFileAccess: true,
    disableUrlAccess: true,
    xMailer: false,
  })
    .compile()
    .build();
}

function decryptedKeys() {
  return keys.map((k) => {
    const blob = encryptPrivateKey(k.privateKeyPem, master, `${domain}/${k.selector}`);
    return {
      algorithm: k.algorithm,
      selector: k.selector,
      privateKey: decryptPrivateKey(blob, master, `${domain}/${k.selector}`),
    };
  });
}

function sign(message: Buffer): Promise<Buffer> {
  return signMessage(message, { domain, keys: decryptedKeys(), signTime: new Date() });
}

async function verify(message: Buffer) {
  const result = await dkimVerify(message, { resolver });
  // The runtime result names the algorithm `algo` (index.d.ts says `algorithm`).
  return result.results.map((r) => ({
    algorithm: (r as { algo?: string }).algo,
    result: r.status.result,
    info: r.info,
  }));
}

before(async () => {
  keys = await generateDomainKeys(new Date('2026-07-15T00:00:00Z'));
  for (const k of keys) {
    const rec = dkimTxtRecord(domain, k.selector, k.algorithm, k.publicKey);
    zone.set(rec.name, [[...rec.strings]]);
  }
  sink = await startSink('127.0.0.1', 0);
});

after(async () => {
  await sink?.close();
});

test('keys: RSA-2048 and Ed25519, selectors named by month, TXT values per RFC 6376 / RFC 8463', () => {
  assert.deepEqual(
    keys.map((k) => [k.algorithm, k.selector]),
    [
      ['rsa', 'ph202607r'],
      ['ed25519', 'ph202607e'],
    ],
  );
  const [rsa, ed] = keys as [GeneratedDkimKey, GeneratedDkimKey];
  const rsaRec = dkimTxtRecord(domain, rsa.selector, 'rsa', rsa.publicKey);
  assert.equal(rsaRec.name, 'ph202607r._domainkey.send.example.test');
  assert.match(rsaRec.value, /^v=DKIM1; k=rsa; p=MIIBIjAN/);
  assert.ok(rsaRec.strings.length >= 2 && rsaRec.strings.every((s) => s.length <= 255));
  assert.equal(rsaRec.strings.join(''), rsaRec.value);
  // RFC 8463 §4.2: raw 32-byte key, not SubjectPublicKeyInfo.
  assert.equal(Buffer.from(ed.publicKey, 'base64').length, 32);
  assert.equal(publicKeyValue(ed.privateKeyPem), ed.publicKey);
  assert.equal(publicKeyValue(rsa.privateKeyPem), rsa.publicKey);
});

test('private keys: AES-256-GCM round trip, bound to master key and context', () => {
  const [rsa] = keys as [GeneratedDkimKey];
  const blob = encryptPrivateKey(rsa.privateKeyPem, master, `${domain}/${rsa.selector}`);
  assert.match(blob, /^v1:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
  assert.ok(!blob.includes('PRIVATE KEY'));
  assert.equal(decryptPrivateKey(blob, master, `${domain}/${rsa.selector}`), rsa.privateKeyPem);
  assert.notEqual(
    encryptPrivateKey(rsa.privateKeyPem, master, 'x'),
    encryptPrivateKey(rsa.privateKeyPem, master, 'x'),
  );
  assert.throws(() => decryptPrivateKey(blob, randomBytes(32), `${domain}/${rsa.selector}`));
  assert.throws(() => decryptPrivateKey(blob, master, `other.test/${rsa.selector}`));
  const parts = blob.split(':');
  const ct = Buffer.from(parts[3]!, 'base64');
  ct[0]! ^= 1;
  const tampered = [parts[0], parts[1], parts[2], ct.toString('base64')].join(':');
  assert.throws(() => decryptPrivateKey(tampered, master, `${domain}/${rsa.selector}`));
  assert.throws(() => encryptPrivateKey('x', Buffer.alloc(16), 'c'));
});

test('both signatures verify with mailauth against the published records', async () => {
  const message = await compose();
  assert.equal(checkWireFormat(message), null);
  const signed = await sign(message);
  const results = await verify(signed);
  assert.deepEqual(
    results.map((r) => [r.algorithm, r.result]),
    [
      ['rsa-sha256', 'pass'],
      ['ed25519-sha256', 'pass'],
    ],
  );
  const header = signed
    .subarray(0, signed.indexOf('\r\n\r\n'))
    .toString('binary')
    .replace(/\r\n[ \t]+/g, ' ');
  const sig = header.split('\r\n').find((l) => l.startsWith('DKIM-Signature:'))!;
  assert.match(sig, /c=relaxed\/relaxed/);
  assert.match(sig, / d=send\.example\.test;/);
  // From over-signed; List-Unsubscribe(-Post) covered (RFC 8058 §4).
  const h = /h=([^;]+);/.exec(sig)![1]!.replace(/\s+/g, '');
  assert.equal(h.split(':').filter((n) => n === 'From').length, 2);
  assert.ok(h.includes('List-Unsubscribe:List-Unsubscribe-Post'));
  assert.equal(checkWireFormat(signed), null, 'signed message stays within 998-octet lines');
});

test('a modified body fails both signatures', async () => {
  const signed = await sign(await compose());
  const text = signed.toString('binary').replace('line after a lone dot', 'line after a lone DOT');
  const results = await verify(Buffer.from(text, 'binary'));
  assert.equal(results.length, 2);
  for (const r of results) assert.notEqual(r.result, 'pass', r.info);
});

test('a second From added above the signature fails (over-signing)', async () => {
  const signed = await sign(await compose());
  const forged = Buffer.concat([Buffer.from('From: ceo@send.example.test\r\n'), signed]);
  for (const r of await verify(forged)) assert.notEqual(r.result, 'pass', r.info);
});

test('signatures survive SMTP transfer (dot-stuffing) to a real smtp-server peer', async () => {
  const signed = await sign(await compose());
  const conn = new SMTPConnection({ host: sink.host, port: sink.port, ignoreTLS: true, name: 'client.test' });
  await new Promise<void>((resolve, reject) => {
    conn.once('error', reject);
    conn.connect(() => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    conn.send({ from: `bounces@${domain}`, to: ['alice@receiver.test'] }, signed, (err) =>
      err ? reject(err) : resolve(),
    );
  });
  conn.quit();
  const received = sink.received.at(-1)!;
  assert.ok(received.data.includes(Buffer.from('\r\n.\r\n')), 'the lone dot arrived unstuffed');
  const results = await verify(received.data);
  assert.deepEqual(
    results.map((r) => r.result),
    ['pass', 'pass'],
  );
});

test('messages that are not wire-ready are refused before signing', async () => {
  const long = Buffer.from(`From: a@b.test\r\nSubject: x\r\n\r\n${'y'.repeat(999)}\r\n`);
  assert.deepEqual(checkWireFormat(long), { kind: 'line_too_long', line: 4, octets: 999 });
  await assert.rejects(sign(long), DkimWireError);
  const bareLf = Buffer.from('From: a@b.test\nSubject: x\r\n\r\nbody\r\n');
  assert.equal(checkWireFormat(bareLf)?.kind, 'bare_cr_or_lf');
  assert.equal(checkWireFormat(Buffer.from('From: a@b.test\r\n'))?.kind, 'no_header_end');
  assert.equal(checkWireFormat(Buffer.from('\r\nno headers\r\n'))?.kind, 'no_header_end');
  assert.equal(checkWireFormat(Buffer.from(`From: a@b.test\r\n\r\n${'y'.repeat(998)}`)), null);
});

test('a key of the wrong type is a programming error', async () => {
  const [rsa, ed] = keys as [GeneratedDkimKey, GeneratedDkimKey];
  await assert.rejects(
    () =>
      signMessage(Buffer.from('From: a@b.test\r\n\r\nx\r\n'), {
        domain,
        keys: [{ algorithm: 'ed25519', selector: rsa.selector, privateKey: rsa.privateKeyPem }],
        signTime: new Date(),
      }),
    /expected ed25519/,
  );
  assert.ok(ed);
});
