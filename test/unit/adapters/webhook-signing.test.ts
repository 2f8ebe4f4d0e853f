import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Resend } from 'resend';
import { Webhook } from 'standardwebhooks';
import { newSigningSecret, signWebhook, webhookHeaders } from '../../../adapters/webhook-signing.js';

const resend = new Resend('re_test');

function verifyWithSdk(secret: string, h: Record<string, string>, body: string) {
  return resend.webhooks.verify({
    payload: body,
    headers: { id: h['svix-id']!, timestamp: h['svix-timestamp']!, signature: h['svix-signature']! },
    webhookSecret: secret,
  });
}

test('a known vector from the Standard Webhooks specification', () => {
  // standard-webhooks/spec, "Verifying signatures" example (secret, id, timestamp, payload).
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const sig = signWebhook(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
  assert.equal(sig, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
});

test('secrets look like Svix secrets', () => {
  const s = newSigningSecret();
  assert.match(s, /^whsec_[A-Za-z0-9+/]{32}$/);
  assert.notEqual(s, newSigningSecret());
});

test('signed headers verify with resend.webhooks.verify() and standardwebhooks, and not with another secret', () => {
  const secret = newSigningSecret();
  const body = JSON.stringify({
    type: 'email.sent',
    created_at: new Date().toISOString(),
    data: { email_id: 'x' },
  });
  const h = webhookHeaders([secret], 'evt-1', Math.floor(Date.now() / 1000), body);
  assert.equal(h['svix-id'], 'evt-1');
  assert.equal(h['webhook-signature'], h['svix-signature']);
  assert.deepEqual(verifyWithSdk(secret, h, body), JSON.parse(body));
  assert.deepEqual(new Webhook(secret).verify(body, h), JSON.parse(body));
  assert.throws(() => verifyWithSdk(newSigningSecret(), h, body));
  assert.throws(() => new Webhook(secret).verify(`${body} `, h), 'the body is signed byte for byte');
});

test('during a rotation both secrets sign, space-separated, and either verifies', () => {
  const [oldSecret, newSecret] = [newSigningSecret(), newSigningSecret()];
  const body = '{"type":"email.delivered"}';
  const h = webhookHeaders([newSecret, oldSecret], 'evt-2', Math.floor(Date.now() / 1000), body);
  assert.equal(h['svix-signature']!.split(' ').length, 2);
  verifyWithSdk(oldSecret, h, body);
  verifyWithSdk(newSecret, h, body);
  new Webhook(oldSecret).verify(body, h);
});
