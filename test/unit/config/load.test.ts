import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../config/load.js';

test('defaults apply and the environment overrides them; the result is frozen', () => {
  const r = loadConfig(
    {
      POSTHORN_API_PORT: '3100',
      POSTHORN_EGRESS_IPS: '127.0.0.2=mta1.example.com, 127.0.0.3',
      POSTHORN_RETRY_INITIAL: '1s',
    },
    { hostname: 'node1' },
  );
  assert.ok(r.ok);
  assert.equal(r.config.apiPort, 3100);
  assert.equal(r.config.smtpPort, 25);
  assert.equal(r.config.retryInitial, 1000);
  assert.equal(r.config.retryMaxAge, 3 * 86_400_000);
  assert.deepEqual(r.config.egressIps, [
    { address: '127.0.0.2', ehloName: 'mta1.example.com' },
    { address: '127.0.0.3', ehloName: null },
  ]);
  assert.ok(Object.isFrozen(r.config));
});

test('every problem is reported together, named by its variable', () => {
  const r = loadConfig(
    { POSTHORN_API_PORT: 'http', POSTHORN_EGRESS_IPS: 'mta1', POSTHORN_RETRY_MAX: 'soon' },
    { hostname: 'node1' },
  );
  assert.equal(r.ok, false);
  assert.equal(r.ok ? 0 : r.problems.length, 3);
  const text = r.ok ? '' : r.problems.join('\n');
  assert.match(text, /POSTHORN_API_PORT/);
  assert.match(text, /POSTHORN_EGRESS_IPS: "mta1" is not an IP address/);
  assert.match(text, /POSTHORN_RETRY_MAX: "soon" is not a duration/);
});

test('POSTHORN_ALLOW_LOOPBACK is off by default; the MX-only name stays an alias', () => {
  const off = loadConfig({}, { hostname: 'node1' });
  const on = loadConfig({ POSTHORN_ALLOW_LOOPBACK: 'true' }, { hostname: 'node1' });
  const alias = loadConfig({ POSTHORN_ALLOW_LOOPBACK_MX: 'true' }, { hostname: 'node1' });
  assert.ok(off.ok && on.ok && alias.ok);
  assert.equal(off.config.allowLoopback, false);
  assert.equal(on.config.allowLoopback, true);
  assert.equal(alias.config.allowLoopback, true);
});
