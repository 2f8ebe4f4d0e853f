import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkEndpoint } from '../../../core/webhooks/endpoint.js';
import {
  MAX_RETRY_AFTER_MS,
  parseRetryAfter,
  shouldDisable,
  WEBHOOK_MAX_ATTEMPTS,
  webhookRetryDelay,
} from '../../../core/webhooks/retry.js';
import { signingSecrets } from '../../../core/webhooks/secrets.js';

const S = 1000;
const M = 60 * S;
const H = 60 * M;

test("the retry schedule is Resend's: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h", () => {
  assert.equal(WEBHOOK_MAX_ATTEMPTS, 8);
  const delays = [];
  for (let made = 1; made <= 8; made++) delays.push(webhookRetryDelay(made, 1, null));
  assert.deepEqual(delays, [5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, 10 * H, null]);
  assert.equal(webhookRetryDelay(0, 1, null), 0, 'the first attempt goes at once');
});

test('the schedule scales for tests', () => {
  assert.equal(webhookRetryDelay(1, 0.001, null), 5);
  assert.equal(webhookRetryDelay(2, 0.001, null), 300);
  assert.equal(webhookRetryDelay(8, 0.001, null), null);
});

test('Retry-After lengthens a wait, never shortens it, and is capped', () => {
  assert.equal(webhookRetryDelay(1, 1, 60 * S), 60 * S);
  assert.equal(webhookRetryDelay(2, 1, 1 * S), 5 * M);
  assert.equal(webhookRetryDelay(1, 1, 100 * H), MAX_RETRY_AFTER_MS);
  assert.equal(webhookRetryDelay(8, 1, 1 * S), null, 'the schedule still ends');
});

test('Retry-After is read as seconds or an HTTP-date (RFC 9110 §10.2.3)', () => {
  const now = Date.parse('2026-12-06T12:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120 * S);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Sun, 06 Dec 2026 12:01:00 GMT', now), 60 * S);
  assert.equal(parseRetryAfter('Sun, 06 Dec 2026 11:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), null);
  assert.equal(parseRetryAfter(undefined, now), null);
  assert.equal(parseRetryAfter('-5', now), null);
});

test('an endpoint is disabled once it has failed for the whole period', () => {
  const day = 24 * H;
  assert.equal(shouldDisable(null, 10 * day, 5 * day), false, 'not failing');
  assert.equal(shouldDisable(0, 5 * day - 1, 5 * day), false);
  assert.equal(shouldDisable(0, 5 * day, 5 * day), true);
});

test('endpoints: https only; http only to loopback when allowed; never private, link-local or metadata', () => {
  const ok = (u: string, loop = false) => checkEndpoint(u, loop).ok;
  assert.equal(ok('https://hooks.example.com/posthorn'), true);
  assert.equal(ok('https://93.184.216.34:8443/x'), true);
  assert.equal(ok('http://hooks.example.com/x'), false);
  assert.equal(ok('http://127.0.0.1:9000/x'), false);
  assert.equal(ok('http://127.0.0.1:9000/x', true), true);
  assert.equal(ok('http://localhost:9000/x', true), true);
  assert.equal(ok('https://localhost/x'), false);
  assert.equal(ok('https://127.0.0.1/x'), false);
  assert.equal(ok('https://10.0.0.1/x', true), false);
  assert.equal(ok('https://169.254.169.254/latest/meta-data', true), false);
  assert.equal(ok('https://[fd00::1]/x', true), false);
  assert.equal(ok('https://[::ffff:10.0.0.1]/x', true), false);
  assert.equal(ok('https://0x7f000001/x'), false, 'legacy forms are normalised by the URL parser first');
  assert.equal(ok('ftp://hooks.example.com/x'), false);
  assert.equal(ok('https://u:p@hooks.example.com/x'), false);
  assert.equal(ok('hooks.example.com'), false);
  assert.equal(ok(''), false);
  const bad = checkEndpoint('http://hooks.example.com/x', false);
  assert.equal(bad.ok === false && bad.message, 'The `endpoint` must be an https URL.');
});

test('a rotated secret signs beside the new one for its grace period, then no more', () => {
  const rotatedAt = Date.parse('2026-12-06T12:00:00Z');
  const w = {
    signingSecret: 'whsec_new',
    previousSecret: 'whsec_old',
    previousSecretUntil: new Date(rotatedAt + 24 * H),
  };
  assert.deepEqual(signingSecrets(w, rotatedAt + H), ['whsec_new', 'whsec_old']);
  assert.deepEqual(signingSecrets(w, rotatedAt + 24 * H), ['whsec_new']);
  assert.deepEqual(
    signingSecrets({ signingSecret: 's', previousSecret: null, previousSecretUntil: null }, 0),
    ['s'],
  );
});
