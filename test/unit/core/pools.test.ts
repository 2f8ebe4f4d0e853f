import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PoolDef, poolFor } from '../../../core/routing/pools.js';

const pools: PoolDef[] = [
  { name: 'shared', tenantId: null, messageType: null },
  { name: 'shared-marketing', tenantId: null, messageType: 'marketing' },
  { name: 'acme-tx', tenantId: 'acme', messageType: 'transactional' },
  { name: 'globex', tenantId: 'globex', messageType: null },
];

test('a tenant’s dedicated pool for the stream wins, then its pool for both streams, then shared ones', () => {
  assert.equal(poolFor(pools, 'acme', 'transactional')?.name, 'acme-tx');
  assert.equal(poolFor(pools, 'acme', 'marketing')?.name, 'shared-marketing');
  assert.equal(poolFor(pools, 'globex', 'marketing')?.name, 'globex');
  assert.equal(poolFor(pools, 'initech', 'transactional')?.name, 'shared');
  assert.equal(poolFor(pools.slice(2), 'initech', 'transactional'), null, 'no shared pool: none');
});
