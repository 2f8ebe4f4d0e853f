import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTenantsArgs } from '../../../bin/tenant-commands.js';
import { loadConfig } from '../../../config/load.js';

test('tenant limits and trust and safety: defaults are unlimited, no ramp, 5 % / 0.3 % over a day', () => {
  const r = loadConfig({}, { hostname: 'node1' });
  assert.ok(r.ok);
  const c = r.config;
  assert.deepEqual(
    [c.tenantDailyQuota, c.tenantMonthlyQuota, c.tenantRamp.newTenants, c.safety],
    [null, null, false, true],
  );
  assert.deepEqual(
    [c.safetyBounceRate, c.safetyComplaintRate, c.safetyMinVolume, c.safetyWindow, c.safetyInterval],
    [0.05, 0.003, 100, 86_400_000, 60_000],
  );
});

test('quotas, the ramp and rates as operators write them', () => {
  const r = loadConfig(
    {
      POSTHORN_TENANT_DAILY_QUOTA: '1000',
      POSTHORN_TENANT_MONTHLY_QUOTA: 'unlimited',
      POSTHORN_TENANT_RAMP: '200, max=50000',
      POSTHORN_SAFETY_BOUNCE_RATE: '2%',
      POSTHORN_SAFETY_COMPLAINT_RATE: '0.001',
      POSTHORN_SAFETY: 'off',
    },
    { hostname: 'node1' },
  );
  assert.ok(r.ok, r.ok ? '' : r.problems.join('; '));
  const c = r.config;
  assert.deepEqual([c.tenantDailyQuota, c.tenantMonthlyQuota], [1000, null]);
  assert.deepEqual(c.tenantRamp, { newTenants: true, startPerDay: 200, maxPerDay: 50_000 });
  assert.deepEqual([c.safetyBounceRate, c.safetyComplaintRate, c.safety], [0.02, 0.001, false]);
});

test('bad limits are reported by their variable', () => {
  const r = loadConfig(
    {
      POSTHORN_TENANT_DAILY_QUOTA: 'lots',
      POSTHORN_TENANT_RAMP: '500,max=100',
      POSTHORN_SAFETY_BOUNCE_RATE: '150%',
    },
    { hostname: 'node1' },
  );
  assert.equal(r.ok, false);
  const text = r.ok ? '' : r.problems.join('\n');
  assert.match(text, /POSTHORN_TENANT_DAILY_QUOTA: "lots" is not a whole number/);
  assert.match(text, /POSTHORN_TENANT_RAMP: "500,max=100" is not "off" or START/);
  assert.match(text, /POSTHORN_SAFETY_BOUNCE_RATE: "150%" is not a rate/);
});

test('posthorn tenants set takes quotas, unlimited, default and the ramp; a typo opens nothing', () => {
  assert.deepEqual(parseTenantsArgs(['set', 'acme', '--daily-quota', '10', '--monthly-quota', 'unlimited']), {
    action: 'set',
    name: 'acme',
    limits: { dailyQuota: 10, monthlyQuota: -1 },
  });
  assert.deepEqual(parseTenantsArgs(['set', 'acme', '--daily-quota', 'default', '--ramp', 'off']), {
    action: 'set',
    name: 'acme',
    limits: { dailyQuota: null, rampCap: null },
  });
  assert.deepEqual(parseTenantsArgs(['set', 'acme', '--require-tls', 'true']), {
    action: 'set',
    name: 'acme',
    requireTls: true,
    limits: {},
  });
  assert.match(
    String(parseTenantsArgs(['set', 'acme', '--daily-quota=-5'])),
    /whole number, unlimited or default/,
  );
  assert.match(String(parseTenantsArgs(['set', 'acme', '--ramp', '0'])), /--ramp must be/);
  assert.match(String(parseTenantsArgs(['set', 'acme'])), /^usage:/);
});
