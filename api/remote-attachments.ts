import type { AttachmentFetcher, FetchedAttachment } from '../adapters/attachment-fetch.js';
import type { MimeAttachment } from '../adapters/mime.js';
import { ApiError } from './errors.js';
import type { CheckedEmail, EmailDraft } from './validate.js';

export interface AttachmentLimits {
  /** Fetches of one request in flight at once. */
  readonly concurrency: number;
  /** The whole request's fetching, ms: a fetch still running at its end fails. */
  readonly requestBudgetMs: number;
  /** One fetch, connect to last byte, ms. */
  readonly fetchTimeoutMs: number;
  /** One message's attachments after base64, bytes (Resend: 40 MB). */
  readonly maxEncodedPerMessage: number;
  /** Bytes one request may fetch in all (bounds the memory a request holds). */
  readonly maxFetchedPerRequest: number;
}

// Resend: 40 MB per email after base64 encoding (resend.com/docs/api-reference/emails/send-email).
// The rest bounds what a request costs the node: four fetches at a time, 30 s in all (an
// SDK's own request timeout is about that long), 80 MB of fetched bodies held at most.
export const DEFAULT_ATTACHMENT_LIMITS: AttachmentLimits = {
  concurrency: 4,
  requestBudgetMs: 30_000,
  fetchTimeoutMs: 20_000,
  maxEncodedPerMessage: 40 * 1024 * 1024,
  maxFetchedPerRequest: 80 * 1024 * 1024,
};

/** Size of `bytes` bytes in base64 (RFC 4648 §4), without line breaks. */
const base64Size = (bytes: number) => Math.ceil(bytes / 3) * 4;

const urlOf = (path: string) => {
  const u = new URL(path);
  return `${u.host}${u.pathname}`;
};

/** A file name from the URL's last path segment, when the request named none. */
function nameFromUrl(url: string): string | null {
  const last = new URL(url).pathname.split('/').pop() ?? '';
  try {
    const name = decodeURIComponent(last);
    return name && !/[\r\n\0]/.test(name) ? name : null;
  } catch {
    return null;
  }
}

export type Resolved = { ok: true; draft: EmailDraft } | { ok: false; error: ApiError };

/**
 * Turns checked emails into drafts: fetches each distinct attachment URL of the request
 * once, `concurrency` at a time within the request's time budget, and checks every
 * message's attachments against the size limit. Runs before anything is stored, so a URL
 * that cannot be fetched refuses its email (422 `invalid_attachment`) and stores nothing.
 */
export async function resolveAttachments(
  emails: readonly CheckedEmail[],
  deps: { fetcher: AttachmentFetcher; now: () => number; limits: AttachmentLimits },
): Promise<Resolved[]> {
  const { limits } = deps;
  const deadline = deps.now() + limits.requestBudgetMs;
  const maxBytes = Math.floor((limits.maxEncodedPerMessage / 4) * 3);
  let fetched = 0;
  let running = 0;
  const waiting: (() => void)[] = [];
  const fetches = new Map<string, Promise<FetchedAttachment>>();

  async function fetchOnce(url: string): Promise<FetchedAttachment> {
    if (running >= limits.concurrency) await new Promise<void>((r) => waiting.push(r));
    running++;
    try {
      const left = deadline - deps.now();
      if (left <= 0) return { ok: false, problem: "the request's time for fetching attachments ran out" };
      const res = await deps.fetcher.fetch(url, {
        maxBytes,
        timeoutMs: Math.min(limits.fetchTimeoutMs, left),
      });
      if (!res.ok) return res;
      fetched += res.body.length;
      if (fetched > limits.maxFetchedPerRequest) {
        return {
          ok: false,
          problem: `the request's attachment URLs fetch more than ${limits.maxFetchedPerRequest} bytes in all`,
        };
      }
      return res;
    } finally {
      running--;
      waiting.shift()?.();
    }
  }
  const fetchOf = (url: string) => {
    let p = fetches.get(url);
    if (!p) {
      p = fetchOnce(url);
      fetches.set(url, p);
    }
    return p;
  };

  return Promise.all(
    emails.map(async (email): Promise<Resolved> => {
      // Every URL of the request is asked for at once; the limiter paces them.
      const results = await Promise.all(
        email.attachments.map((a) => (a.source.kind === 'url' ? fetchOf(a.source.url) : null)),
      );
      const attachments: MimeAttachment[] = [];
      for (const [i, a] of email.attachments.entries()) {
        if (a.source.kind === 'content') {
          attachments.push({
            filename: a.filename,
            content: a.source.content,
            contentType: a.contentType,
            contentId: a.contentId,
          });
          continue;
        }
        const res = results[i]!;
        if (!res.ok) {
          const message = `Attachment ${i}: could not fetch ${urlOf(a.source.url)}: ${res.problem}.`;
          return { ok: false, error: new ApiError(422, 'invalid_attachment', message) };
        }
        attachments.push({
          filename: a.filename ?? nameFromUrl(a.source.url),
          content: res.body,
          contentType: a.contentType ?? res.contentType,
          contentId: a.contentId,
        });
      }
      const size = attachments.reduce((n, a) => n + base64Size(a.content.length), 0);
      if (size > limits.maxEncodedPerMessage) {
        const message = `Attachments may total at most ${limits.maxEncodedPerMessage / 1024 / 1024} MB after base64 encoding.`;
        return { ok: false, error: new ApiError(422, 'invalid_attachment', message) };
      }
      return { ok: true, draft: { ...email, attachments } };
    }),
  );
}
