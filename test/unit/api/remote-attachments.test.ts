import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AttachmentFetcher, FetchedAttachment } from '../../../adapters/attachment-fetch.js';
import { type AttachmentLimits, resolveAttachments } from '../../../api/remote-attachments.js';
import { type CheckedEmail, validateSend } from '../../../api/validate.js';

const NOW = Date.parse('2026-12-06T13:00:00Z');
const limits: AttachmentLimits = {
  concurrency: 2,
  requestBudgetMs: 30_000,
  fetchTimeoutMs: 20_000,
  maxEncodedPerMessage: 4_000,
  maxFetchedPerRequest: 10_000,
};

const email = (attachments: object[]): CheckedEmail =>
  validateSend({ from: 'a@acme.test', to: 'b@x.test', subject: 's', text: 't', attachments } as never, {
    nowMs: NOW,
  });

/** Answers each URL with its table entry once `release` is called; records what was asked. */
function fakeFetcher(table: Record<string, FetchedAttachment>) {
  const asked: { url: string; maxBytes: number; timeoutMs: number }[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const fetcher: AttachmentFetcher = {
    async fetch(url, l) {
      asked.push({ url, ...l });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setImmediate(r));
      inFlight--;
      return table[url] ?? { ok: false, problem: 'the server answered HTTP 404' };
    },
  };
  return { fetcher, asked, maxInFlight: () => maxInFlight };
}

const ok = (bytes: number, contentType: string | null = null): FetchedAttachment => ({
  ok: true,
  body: Buffer.alloc(bytes, 1),
  contentType,
});

test('each distinct URL of a request is fetched once, a bounded number at a time', async () => {
  const urls = ['a', 'b', 'c', 'd'].map((n) => `https://f.example/${n}.bin`);
  const f = fakeFetcher(Object.fromEntries(urls.map((u) => [u, ok(10)])));
  const emails = [email(urls.map((path) => ({ path }))), email([{ path: urls[0] }, { path: urls[1] }])];
  const resolved = await resolveAttachments(emails, { fetcher: f.fetcher, now: () => NOW, limits });
  assert.ok(resolved.every((r) => r.ok));
  assert.deepEqual(f.asked.map((a) => a.url).sort(), urls);
  assert.ok(f.maxInFlight() <= 2, `${f.maxInFlight()} fetches at once`);
  // The per-fetch cap is what 4,000 bytes of base64 hold.
  assert.equal(f.asked[0]!.maxBytes, 3_000);
});

test('a fetched attachment takes its name from the URL and its type from the server unless given', async () => {
  const f = fakeFetcher({
    'https://f.example/dir/Q3%20report.pdf': ok(5, 'application/pdf'),
    'https://f.example/x': ok(5, 'text/plain; charset=utf-8'),
  });
  const [r] = await resolveAttachments(
    [
      email([
        { path: 'https://f.example/dir/Q3%20report.pdf' },
        { path: 'https://f.example/x', filename: 'notes.txt', content_type: 'text/markdown' },
        { content: 'aGk=', filename: 'hi.txt' },
      ]),
    ],
    { fetcher: f.fetcher, now: () => NOW, limits },
  );
  assert.ok(r?.ok);
  assert.deepEqual(
    r.draft.attachments.map((a) => [a.filename, a.contentType, a.content.length]),
    [
      ['Q3 report.pdf', 'application/pdf', 5],
      ['notes.txt', 'text/markdown', 5],
      ['hi.txt', null, 2],
    ],
  );
});

test('a failed fetch refuses its email with invalid_attachment naming the attachment and why', async () => {
  const f = fakeFetcher({ 'https://f.example/ok': ok(5) });
  const resolved = await resolveAttachments(
    [
      email([{ path: 'https://f.example/ok' }]),
      email([{ content: 'aGk=' }, { path: 'https://f.example/gone' }]),
    ],
    { fetcher: f.fetcher, now: () => NOW, limits },
  );
  assert.ok(resolved[0]!.ok);
  const bad = resolved[1]!;
  assert.ok(!bad.ok);
  assert.equal(bad.error.statusCode, 422);
  assert.equal(bad.error.errorName, 'invalid_attachment');
  assert.match(
    bad.error.message,
    /^Attachment 1: could not fetch f\.example\/gone: the server answered HTTP 404\.$/,
  );
});

test('limits: 40 MB-style total per message after base64, bytes per request, the time budget', async () => {
  const f = fakeFetcher({ 'https://f.example/a': ok(2_000), 'https://f.example/b': ok(2_000) });
  const [tooBig] = await resolveAttachments(
    [email([{ path: 'https://f.example/a' }, { path: 'https://f.example/b' }])],
    { fetcher: f.fetcher, now: () => NOW, limits },
  );
  assert.ok(tooBig && !tooBig.ok);
  assert.match(tooBig.error.message, /after base64/);

  const [overRequest] = await resolveAttachments(
    [email([{ path: 'https://f.example/a' }]), email([{ path: 'https://f.example/b' }])],
    { fetcher: f.fetcher, now: () => NOW, limits: { ...limits, maxFetchedPerRequest: 3_000 } },
  ).then((rs) => rs.filter((r) => !r.ok));
  assert.ok(overRequest && !overRequest.ok);
  assert.match(overRequest.error.message, /more than 3000 bytes in all/);

  let clock = NOW;
  const slow: AttachmentFetcher = {
    async fetch(_url, l) {
      clock += l.timeoutMs;
      return { ok: false, problem: 'the fetch failed (timeout)' };
    },
  };
  const budget = await resolveAttachments(
    [
      email([
        { path: 'https://f.example/1' },
        { path: 'https://f.example/2' },
        { path: 'https://f.example/3' },
      ]),
    ],
    { fetcher: slow, now: () => clock, limits: { ...limits, concurrency: 1, fetchTimeoutMs: 20_000 } },
  );
  assert.ok(!budget[0]!.ok);
  // The first fetch had 20 s, the second the 10 s left, the third none.
  assert.equal(clock, NOW + 30_000);
});
