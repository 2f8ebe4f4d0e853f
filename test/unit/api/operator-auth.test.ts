import assert from 'node:assert/strict';
import { test } from 'node:test';
import { consoleSession, cookieValue, validConsoleSession } from '../../../api/operator-auth.js';

const TOKEN = 'operator-token-0123456789abcdef';

test('a console session is valid until it expires, for the token that made it only', () => {
  const s = consoleSession(TOKEN, 2_000);
  assert.equal(validConsoleSession(s, TOKEN, 1_999), true);
  assert.equal(validConsoleSession(s, TOKEN, 2_000), false, 'expired');
  assert.equal(validConsoleSession(s, `${TOKEN}x`, 1_000), false, 'the token changed');
  assert.equal(validConsoleSession(s.replace(/^2000/, '9000'), TOKEN, 1_000), false, 'expiry moved');
  assert.equal(validConsoleSession('garbage', TOKEN, 1_000), false);
});

test('cookies are read by exact name', () => {
  const header = 'a=1; posthorn_console_x=2; posthorn_console=3.abc';
  assert.equal(cookieValue(header, 'posthorn_console'), '3.abc');
  assert.equal(cookieValue(header, 'missing'), undefined);
  assert.equal(cookieValue(undefined, 'a'), undefined);
});
