import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createVerpKeys } from '../../../adapters/hmac.js';
import { egressLimitsConfigSchema } from '../../../core/delivery/egress-limits.js';
import { decodeVerpAddress } from '../../../core/verp.js';
import { createReturnPath } from '../../../egress/return-path.js';
import { createLimitsFor } from '../../../egress/smtp-attempt.js';

test('the return path is the VERP address on the subdomain of the sending domain, and decodes back', () => {
  const keys = createVerpKeys([Buffer.alloc(32, 7)]);
  const returnPath = createReturnPath({ subdomain: 'send', mac: keys.mac });
  const id = '0190a4e2-7b1c-7c3d-8e4f-5a6b7c8d9e0f';
  const address = returnPath(id, 3, 'Example.COM');
  assert.match(address, /^bounces\+[a-z2-7]+@send\.example\.com$/);
  assert.deepEqual(decodeVerpAddress(address, keys.verify), { ok: true, messageId: id, recipientIndex: 3 });
});

test('limitsFor: a domain with its own layer gets its own queue and limits; others share the site', () => {
  const config = egressLimitsConfigSchema.parse({
    default: { maxConnections: 4 },
    domains: { 'example.org': { maxConnections: 1 } },
  });
  const limitsFor = createLimitsFor(config);
  const own = limitsFor('Example.org', 'mx.example.net', 'other');
  assert.equal(own.queue, 'domain:example.org');
  assert.equal(own.limits.maxConnections, 1);
  const shared = limitsFor('example.com', 'mx.example.net', 'other');
  assert.equal(shared.queue, 'mx.example.net');
  assert.equal(shared.limits.maxConnections, 4);
});
