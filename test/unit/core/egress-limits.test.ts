import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_EGRESS_LIMITS,
  describeLimits,
  type EgressLimits,
  egressLimitsConfigSchema,
  limitsFromConfig,
  readyQueueSite,
  resolveLimits,
} from '../../../core/delivery/egress-limits.js';
import { siteHosts, siteKey } from '../../../core/delivery/site.js';

const base: EgressLimits = {
  maxConnections: 10,
  maxMessagesPerConnection: 100,
  messageRate: { count: 100, periodMs: 60_000, burst: 1 },
  connectionRate: null,
  idleTimeoutMs: 30_000,
  maxQueueDepth: 200,
};

test('layers override field by field, default → provider → site → domain', () => {
  assert.deepEqual(resolveLimits({ default: base }), base);
  const resolved = resolveLimits({
    default: base,
    provider: { maxConnections: 5, connectionRate: { count: 10, periodMs: 60_000, burst: 1 } },
    site: { maxConnections: 3, idleTimeoutMs: 5_000 },
    domain: { maxMessagesPerConnection: 20 },
  });
  assert.deepEqual(resolved, {
    maxConnections: 3,
    maxMessagesPerConnection: 20,
    messageRate: base.messageRate,
    connectionRate: { count: 10, periodMs: 60_000, burst: 1 },
    idleTimeoutMs: 5_000,
    maxQueueDepth: 200,
  });
});

test('an absent field inherits, a null rate lifts the limit', () => {
  const resolved = resolveLimits({
    default: base,
    provider: { messageRate: { count: 5, periodMs: 1000, burst: 1 } },
    domain: { messageRate: null, maxConnections: undefined },
  });
  assert.equal(resolved.messageRate, null);
  assert.equal(resolved.maxConnections, 10);
});

test('the config block parses rates and durations and reports bad ones', () => {
  const parsed = egressLimitsConfigSchema.parse({
    default: { maxConnections: 8, idleTimeout: '10s' },
    providers: { yahoo: { maxConnections: 5, messageRate: '300/min,burst=20' } },
    sites: { 'mx1.example.net|mx2.example.net': { connectionRate: '10/min' } },
    domains: { 'Example.ORG': { maxConnections: 1, messageRate: 'unlimited' } },
  });
  assert.deepEqual(parsed.default, { ...DEFAULT_EGRESS_LIMITS, maxConnections: 8, idleTimeoutMs: 10_000 });
  const yahooSite = limitsFromConfig(parsed, {
    provider: 'yahoo',
    site: 'mx1.example.net|mx2.example.net',
    domain: 'x.com',
  });
  assert.deepEqual(yahooSite, {
    ...DEFAULT_EGRESS_LIMITS,
    maxConnections: 5,
    idleTimeoutMs: 10_000,
    messageRate: { count: 300, periodMs: 60_000, burst: 20 },
    connectionRate: { count: 10, periodMs: 60_000, burst: 1 },
  });
  const org = limitsFromConfig(parsed, { provider: 'yahoo', site: 'other', domain: 'example.org' });
  assert.equal(org.maxConnections, 1);
  assert.equal(org.messageRate, null, 'the domain layer lifts the provider rate');
  assert.deepEqual(describeLimits(yahooSite), {
    maxConnections: 5,
    maxMessagesPerConnection: 100,
    messageRate: '300/min,burst=20',
    connectionRate: '10/min',
    idleTimeout: '10s',
    maxQueueDepth: 200,
  });
  // Inherited names such as "constructor" are not layers.
  assert.deepEqual(
    limitsFromConfig(parsed, { provider: 'constructor', site: 'toString', domain: 'x' }),
    parsed.default,
  );

  const bad = egressLimitsConfigSchema.safeParse({
    default: { messageRate: '100/m', idleTimeout: 'soon', maxConnections: 0 },
    domains: { 'a.example': { maxConections: 3 } },
  });
  assert.equal(bad.success, false);
  const messages = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  assert.ok(
    messages.some((m) => /^default\.messageRate: .*unknown unit "m"/.test(m)),
    messages.join('\n'),
  );
  assert.ok(
    messages.some((m) => /^default\.idleTimeout: /.test(m)),
    messages.join('\n'),
  );
  assert.ok(
    messages.some((m) => /^default\.maxConnections: /.test(m)),
    messages.join('\n'),
  );
  assert.ok(
    messages.some((m) => /^domains\.a\.example/.test(m) && /maxConections/.test(m)),
    messages.join('\n'),
  );
});

test('a domain with its own layer gets its own ready queue; others share the site', () => {
  const config = egressLimitsConfigSchema.parse({ domains: { 'special.example': { maxConnections: 1 } } });
  const site = siteKey(['mx.example.net']);
  assert.equal(readyQueueSite(config, site, 'a.example'), site);
  assert.equal(readyQueueSite(config, site, 'Special.Example'), 'domain:special.example');
});

test('a site is the MX host set: order, case, root dot and duplicates do not matter', () => {
  const a = siteKey(['ALT1.aspmx.l.google.com.', 'aspmx.l.google.com', 'alt2.aspmx.l.google.com']);
  const b = siteKey([
    'alt2.aspmx.l.google.com',
    'aspmx.l.google.com.',
    'alt1.aspmx.l.google.com',
    'ASPMX.l.google.com',
  ]);
  assert.equal(a, 'alt1.aspmx.l.google.com|alt2.aspmx.l.google.com|aspmx.l.google.com');
  assert.equal(a, b);
  assert.deepEqual(siteHosts(a), [
    'alt1.aspmx.l.google.com',
    'alt2.aspmx.l.google.com',
    'aspmx.l.google.com',
  ]);
  assert.notEqual(siteKey(['mx1.example.net']), siteKey(['mx1.example.net', 'mx2.example.net']));
  assert.equal(siteKey([]), '');
  assert.deepEqual(siteHosts(''), []);
});
