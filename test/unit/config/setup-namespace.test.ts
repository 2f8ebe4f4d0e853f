import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { searchAttributeFlags } from '../../../adapters/temporal.js';

test('the namespace set-up script creates every search attribute the workflows use, with its type', () => {
  const script = readFileSync(
    new URL('../../../temporal-config/setup-namespace.sh', import.meta.url),
    'utf8',
  );
  const listed = Object.fromEntries([...script.matchAll(/\b(Posthorn\w+)=(\w+)/g)].map((m) => [m[1], m[2]]));
  assert.deepEqual(listed, searchAttributeFlags());
});
