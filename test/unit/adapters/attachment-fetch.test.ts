import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAttachmentFetcher } from '../../../adapters/attachment-fetch.js';
import type { GuardedHttp, GuardedResponse } from '../../../adapters/guarded-http.js';

/** A guarded client that answers every request with `status` and a 3-byte body; records the URLs. */
function scripted(status: number, headers: Record<string, string> = {}) {
  const urls: string[] = [];
  const http: GuardedHttp = {
    async request(url) {
      urls.push(url);
      const res: GuardedResponse = {
        ok: true,
        status,
        headers,
        discard: () => {},
        readBody: async (limit) =>
          limit < 3
            ? { ok: false, reason: 'too_large', detail: 'over' }
            : { ok: true, body: Buffer.from('abc'), truncated: false },
      };
      return res;
    },
    close: async () => {},
  };
  return { http, urls };
}

const limits = { maxBytes: 100, timeoutMs: 1_000 };

test('https only; plain http only to a loopback host, and only with the test switch', async () => {
  const s = scripted(200);
  const strict = createAttachmentFetcher({ http: s.http, allowLoopback: false });
  assert.equal((await strict.fetch('https://files.example/a', limits)).ok, true);
  for (const url of ['http://files.example/a', 'http://127.0.0.1:8080/a', 'http://localhost/a']) {
    assert.deepEqual(await strict.fetch(url, limits), { ok: false, problem: 'only https URLs are fetched' });
  }
  const tests = createAttachmentFetcher({ http: s.http, allowLoopback: true });
  assert.equal((await tests.fetch('http://127.0.0.1:8080/a', limits)).ok, true);
  assert.equal((await tests.fetch('http://[::1]:8080/a', limits)).ok, true);
  assert.equal((await tests.fetch('http://files.example/a', limits)).ok, false);
  assert.deepEqual(s.urls, ['https://files.example/a', 'http://127.0.0.1:8080/a', 'http://[::1]:8080/a']);
});

test('a redirect, another status or a body over the cap is refused; the media type is kept when well formed', async () => {
  const fetch = (status: number, headers?: Record<string, string>, maxBytes = 100) =>
    createAttachmentFetcher({ http: scripted(status, headers).http, allowLoopback: false }).fetch(
      'https://files.example/a',
      { maxBytes, timeoutMs: 1_000 },
    );
  assert.deepEqual(await fetch(302, { location: 'https://elsewhere.example/' }), {
    ok: false,
    problem: 'the server answered HTTP 302, redirects are not followed',
  });
  assert.deepEqual(await fetch(403), { ok: false, problem: 'the server answered HTTP 403' });
  assert.deepEqual(await fetch(200, {}, 2), { ok: false, problem: 'it is larger than 2 bytes' });
  const typed = await fetch(200, { 'content-type': 'application/pdf' });
  assert.ok(typed.ok && typed.contentType === 'application/pdf');
  const odd = await fetch(200, { 'content-type': 'pdf please' });
  assert.ok(odd.ok && odd.contentType === null);
});
