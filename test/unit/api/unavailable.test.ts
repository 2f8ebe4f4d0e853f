import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDatabaseUnavailable } from '../../../adapters/postgres/db.js';
import { isDependencyUnavailable } from '../../../api/unavailable.js';

const err = (props: Record<string, unknown>, message = 'x') => Object.assign(new Error(message), props);

test('the database busy, restarting or out of reach is unavailable; a refused statement is not', () => {
  for (const e of [
    err({ code: 'ECONNREFUSED' }),
    err({ code: 'ENOENT', syscall: 'connect' }),
    err({ code: '57P01' }),
    err({ code: '08006' }),
    err({ code: '55P03' }),
    err({ code: '57014' }),
    err({ code: '55000' }, 'the database system is not currently accepting connections'),
    err({}, 'Connection terminated unexpectedly'),
  ])
    assert.equal(isDatabaseUnavailable(e), true, `${e.message} ${JSON.stringify(e)}`);
  for (const e of [
    err({ code: 'ENOENT', syscall: 'open' }),
    err({ code: '23505' }),
    err({ code: '55000' }, 'object not in prerequisite state'),
    new Error('a bug'),
  ])
    assert.equal(isDatabaseUnavailable(e), false, `${e.message} ${JSON.stringify(e)}`);
});

test('the API answers 503 for the database or Temporal out of reach, found through causes', () => {
  assert.equal(isDependencyUnavailable(err({ cause: err({ code: 14 }) })), true, 'gRPC UNAVAILABLE');
  assert.equal(isDependencyUnavailable(err({ cause: err({ code: '57P03' }) })), true);
  assert.equal(isDependencyUnavailable(err({ cause: err({ code: 3 }) })), false, 'gRPC INVALID_ARGUMENT');
  assert.equal(isDependencyUnavailable(new TypeError('undefined is not a function')), false);
});
