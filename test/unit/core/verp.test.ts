import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createVerpKeys } from '../../../adapters/hmac.js';
import {
  base32Decode,
  base32Encode,
  decodeVerp,
  decodeVerpAddress,
  encodeVerp,
  VERP_MAX_RECIPIENT_INDEX,
  verpAddress,
} from '../../../core/verp.js';

const keys = createVerpKeys([Buffer.alloc(32, 7)]);
const otherKeys = createVerpKeys([Buffer.alloc(32, 8)]);
const id = '0b9f6a3e-6c1d-4f57-9a2e-1c7d8e9fa0b1';

test('base32 (RFC 4648 §10 vectors, lowercased, unpadded) round trips', () => {
  const vectors: [string, string][] = [
    ['', ''],
    ['f', 'my'],
    ['fo', 'mzxq'],
    ['foo', 'mzxw6'],
    ['foob', 'mzxw6yq'],
    ['fooba', 'mzxw6ytb'],
    ['foobar', 'mzxw6ytboi'],
  ];
  for (const [plain, encoded] of vectors) {
    assert.equal(base32Encode(new TextEncoder().encode(plain)), encoded);
    assert.equal(new TextDecoder().decode(base32Decode(encoded)!), plain);
  }
  assert.equal(base32Decode('mz'), null, 'non-zero pad bits are not canonical');
  assert.equal(base32Decode('m1'), null, '1 is not in the alphabet');
});

test('round trip for small and large recipient indexes, within 64 octets', () => {
  for (const idx of [0, 1, 127, 128, 16383, 16384, VERP_MAX_RECIPIENT_INDEX]) {
    const local = encodeVerp(id, idx, keys.mac);
    assert.ok(local.length <= 64, `${local} is ${local.length} octets`);
    assert.match(local, /^bounces\+[a-z2-7]+$/);
    assert.deepEqual(decodeVerp(local, keys.verify), { ok: true, messageId: id, recipientIndex: idx });
  }
});

test('a lowercased or uppercased local part still decodes', () => {
  const local = encodeVerp(id.toUpperCase(), 3, keys.mac);
  assert.deepEqual(decodeVerp(local.toUpperCase(), keys.verify), {
    ok: true,
    messageId: id,
    recipientIndex: 3,
  });
  const addr = verpAddress(id, 3, 'Bounce.Example.COM', keys.mac);
  assert.ok(addr.endsWith('@bounce.example.com'));
  assert.deepEqual(decodeVerpAddress(addr.toUpperCase(), keys.verify), {
    ok: true,
    messageId: id,
    recipientIndex: 3,
  });
});

test('tampering is detected: every single-character change fails', () => {
  const local = encodeVerp(id, 5, keys.mac);
  const token = local.slice('bounces+'.length);
  for (let i = 0; i < token.length; i++) {
    const ch = token[i] === 'a' ? 'b' : 'a';
    const forged = `bounces+${token.slice(0, i)}${ch}${token.slice(i + 1)}`;
    const result = decodeVerp(forged, keys.verify);
    assert.equal(result.ok, false, `position ${i} accepted`);
  }
  assert.deepEqual(decodeVerp(local, otherKeys.verify), { ok: false, reason: 'bad_tag' });
});

test('malformed local parts give a reason, not an exception', () => {
  assert.deepEqual(decodeVerp('postmaster', keys.verify), { ok: false, reason: 'not_verp' });
  assert.deepEqual(decodeVerp('bounces+0189', keys.verify), { ok: false, reason: 'bad_encoding' });
  assert.deepEqual(decodeVerp('bounces+aaaa', keys.verify), { ok: false, reason: 'bad_length' });
  assert.deepEqual(decodeVerp(`bounces+${'a'.repeat(60)}`, keys.verify), { ok: false, reason: 'not_verp' });
});

test('secret rotation: tokens under the old secret still verify', () => {
  const oldKey = Buffer.alloc(32, 1);
  const newKey = Buffer.alloc(32, 2);
  const before = createVerpKeys([oldKey]);
  const after = createVerpKeys([newKey, oldKey]);
  const local = encodeVerp(id, 9, before.mac);
  assert.equal(decodeVerp(local, after.verify).ok, true);
  assert.equal(decodeVerp(local, createVerpKeys([newKey]).verify).ok, false);
});

test('bad inputs to encode are programming errors', () => {
  assert.throws(() => encodeVerp('not-a-uuid', 0, keys.mac));
  assert.throws(() => encodeVerp(id, -1, keys.mac));
  assert.throws(() => encodeVerp(id, VERP_MAX_RECIPIENT_INDEX + 1, keys.mac));
  assert.throws(() => encodeVerp(id, 1.5, keys.mac));
});
