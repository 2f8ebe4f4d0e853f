/**
 * An SMTP reply as Posthorn sees it: the three-digit code (RFC 5321 §4.2), the
 * enhanced status code when the server gave one (RFC 3463 / RFC 2034), and the text
 * with continuation lines joined by a space.
 */
export interface SmtpReply {
  readonly code: number;
  readonly enhanced: string | null;
  readonly text: string;
}

/** The SMTP command (or phase) a reply answered; part of the classifier's input. */
export type SmtpPhase =
  | 'connect'
  | 'greeting'
  | 'ehlo'
  | 'starttls'
  | 'mail'
  | 'rcpt'
  | 'data'
  | 'dot'
  | 'unknown';

// RFC 3463 §2: class "." subject "." detail, class is 2, 4 or 5; subject up to 3 digits,
// detail up to 3 digits.
const ENHANCED = /^([245])\.(\d{1,3})\.(\d{1,3})\b/;
const CODE = /^([2-5]\d\d)(?:[ -]|$)/;

/** Enhanced status code at the start of `text` (after any reply code), or null. */
export function enhancedStatusOf(text: string): string | null {
  const m = ENHANCED.exec(text.trimStart());
  return m ? `${m[1]}.${Number(m[2])}.${Number(m[3])}` : null;
}

/**
 * Parses the raw lines of one reply ("250-first", "250 last") into an SmtpReply, or a
 * single line such as "550 5.1.1 <a@b>: user unknown". Returns null when the first line
 * has no reply code. Continuation lines that repeat the code and enhanced status have
 * them stripped so the text reads as one sentence.
 */
export function parseSmtpReply(raw: string): SmtpReply | null {
  const lines = raw.split(/\r?\n/).filter((l) => l.length > 0);
  const first = lines[0];
  if (first === undefined) return null;
  const m = CODE.exec(first);
  if (!m) return null;
  const code = Number(m[1]);
  let enhanced: string | null = null;
  const parts: string[] = [];
  for (const line of lines) {
    let rest = CODE.test(line) ? line.slice(4) : line;
    const e = enhancedStatusOf(rest);
    if (e !== null) {
      enhanced ??= e;
      rest = rest.trimStart().replace(ENHANCED, '');
    }
    const trimmed = rest.trim();
    if (trimmed.length > 0) parts.push(trimmed);
  }
  return { code, enhanced, text: parts.join(' ') };
}

/** Formats a reply back to one line, e.g. "550 5.1.1 user unknown". */
export function formatSmtpReply(reply: SmtpReply): string {
  return [String(reply.code), reply.enhanced, reply.text].filter((p) => p !== null && p !== '').join(' ');
}
