/**
 * Text helpers shared by the report parsers: where the returned message starts, the
 * SMTP reply inside a diagnostic, the SMTP command it answered, addresses.
 */
import type { SmtpPhase } from '../../delivery/smtp-reply.js';

// Lines MTAs put between their explanation and the returned message (or its headers).
const ORIGINAL_MARKERS: readonly RegExp[] = [
  /^-+ ?This is a copy of (?:the|your) message/im, // Exim
  /^--- Below this line is a copy of the message/im, // qmail, Yahoo
  /^-+ ?(?:Original|Returned|Unsent|Undelivered) message(?: follows| headers?)?\b.*$/im, // Gmail, Notes, Sendmail V5
  /^Message headers follow\.?$/im, // DragonFly
  /^-+ ?(?:The )?(?:header|headers) of (?:the )?original message/im,
  /^Original message(?: headers)?(?: follows)?[.:]?\s*$/im,
  /^(?:Included is a copy of the message header|The original message headers? (?:is|are) (?:included|following))/im,
  /^-{5,} ?Original Message ?-{5,}/im,
  /^\s*-+\s*(?:Message|Headers) of the original/im,
  // No marker at all: a block of three or more header fields is the returned message.
  /^(?:(?:Received|Return-Path|DKIM-Signature|X-[A-Za-z0-9-]+|Message-I[Dd]|MIME-Version|Content-Type|Date|From|To|Subject|Reply-To):[^\n]*\n(?:[ \t][^\n]*\n)*){3,}/m,
];

/** The explanation part of a text bounce: everything before the returned message. */
export function cutOriginal(text: string): string {
  let end = text.length;
  for (const re of ORIGINAL_MARKERS) {
    const m = re.exec(text);
    if (m && m.index < end && m.index > 0) end = m.index;
  }
  return text.slice(0, end);
}

/** The returned message: everything after the first marker, or ''. */
export function originalPart(text: string): string {
  const head = cutOriginal(text);
  if (head.length === text.length) return '';
  return text.slice(head.length).replace(/^[^\n]*\n/, '');
}

export interface FoundReply {
  readonly code: number | null;
  readonly enhanced: string | null;
  /** The diagnostic from the reply code on (or all of it when there is none). */
  readonly text: string;
}

// "550 5.1.1 …", "550-5.1.1 …", "550:5.2.2", "550 #5.1.0"; not inside numbers or IPs.
const REPLY_IN_TEXT = /(?<![\w.:/-])([245][0-5]\d)(?:[ \-:]+#?([245]\.\d{1,3}\.\d{1,3}))?(?=[\s\-:]|$)/;
const STATUS_IN_TEXT = /(?<![\w.])#?([245])\.(\d{1,3})\.(\d{1,3})(?![\w.]*\.\d)/;

/** SMTP reply code and enhanced status inside a diagnostic text. */
export function findReply(diagnostic: string): FoundReply {
  // Zoho prints the remote reply's parts as "ERROR_CODE :550, ERROR_CODE :5.2.1 …".
  const text = diagnostic
    .replace(/\s+/g, ' ')
    .replace(/ERROR_CODE ?:\s*([245]\d\d|[245]\.\d{1,3}\.\d{1,3}),?/g, 'ERROR_CODE $1')
    .trim();
  const m = REPLY_IN_TEXT.exec(text);
  const s = STATUS_IN_TEXT.exec(text);
  const enhanced = m?.[2] ? normalizeStatus(m[2]) : s ? `${s[1]}.${Number(s[2])}.${Number(s[3])}` : null;
  if (m) {
    return { code: Number(m[1]), enhanced, text: text.slice(m.index) };
  }
  return { code: null, enhanced, text };
}

export function normalizeStatus(s: string | null | undefined): string | null {
  if (!s) return null;
  const m = /([245])\.(\d{1,3})\.(\d{1,3})/.exec(s);
  return m ? `${m[1]}.${Number(m[2])}.${Number(m[3])}` : null;
}

/** The SMTP command a reply answered, from the words MTAs wrap around it. */
export function phaseOf(text: string): SmtpPhase {
  const t = text.replace(/\s+/g, ' ');
  // Sendmail transcript: ">>> DATA <<< 550 …" names the command the error answered.
  const transcript = />>> ?(MAIL From|RCPT To|DATA|\.)(?:(?!<<<|>>>).)*<<< ?[45]\d\d/i.exec(t);
  if (transcript) {
    const cmd = transcript[1]!.toUpperCase();
    // With PIPELINING (RFC 2920) the client sends RCPT TO and DATA together, so the
    // recipient's refusal is printed under DATA; the server's next reply ("503 Need RCPT",
    // "554 no valid recipients") shows that the error answered RCPT TO.
    const after = t.slice(transcript.index + transcript[0].length);
    if (cmd === 'DATA' && /<<< ?5\d\d[ -](?:\d\.\d\.\d )?[^<>]*(?:RCPT|recipients?\b)/i.test(after))
      return 'rcpt';
    return cmd === 'DATA' ? 'data' : cmd === '.' ? 'dot' : cmd.startsWith('MAIL') ? 'mail' : 'rcpt';
  }
  // Trend Micro InterScan transcript, arrows the other way: "Sent <<< RCPT TO:<a@b> Received
  // >>> 550 …".
  const sent = /\bSent <<< ?(MAIL FROM|RCPT TO|DATA)\b(?:(?!<<<|>>>).)*Received >>> ?[45]\d\d/i.exec(t);
  if (sent) {
    const cmd = sent[1]!.toUpperCase();
    return cmd === 'DATA' ? 'data' : cmd.startsWith('MAIL') ? 'mail' : 'rcpt';
  }
  // Yahoo (Small Business, Aabaco) tags the relayed reply with the command: "… User Unknown
  // [RCPT_TO]", "… Sender address rejected [MAIL_FROM]".
  if (/\[RCPT_TO\]/.test(t)) return 'rcpt';
  if (/\[MAIL_FROM\]/.test(t)) return 'mail';
  // A gateway's "Technical details: SMTP:RCPT host 192.0.2.8: 553 …".
  const tagged = /\bSMTP:(RCPT|MAIL|DATA) host\b/i.exec(t);
  if (tagged) {
    const cmd = tagged[1]!.toUpperCase();
    return cmd === 'DATA' ? 'data' : cmd === 'MAIL' ? 'mail' : 'rcpt';
  }
  if (
    /\b(?:after|in reply to|response to|did not like our|for) (?:the )?RCPT(?: TO)?\b|RCPT TO (?:response|command)|most progress was RCPT/i.test(
      t,
    )
  )
    return 'rcpt';
  if (
    /\b(?:after|in reply to|did not like our) (?:the )?MAIL(?: FROM)?\b|MAIL FROM (?:response|command)|sender was rejected/i.test(
      t,
    )
  )
    return 'mail';
  if (
    /\b(?:after|in reply to) (?:the )?(?:end of data|DATA command|final DATA)|final DATA|failed after I sent the message|for TEXT command/i.test(
      t,
    )
  )
    return 'dot';
  if (/\b(?:after|in reply to) (?:the )?DATA\b/i.test(t)) return 'data';
  if (/\b(?:after|in reply to) (?:the )?(?:EHLO|HELO)\b|my name was rejected/i.test(t)) return 'ehlo';
  if (/\bafter (?:the )?STARTTLS\b/i.test(t)) return 'starttls';
  if (
    /after (?:initial connection|connection|greeting)|refused to talk to me|(?:in reply to|response to) (?:the )?(?:initial )?greeting|\bSMTP banner\b/i.test(
      t,
    )
  )
    return 'connect';
  return 'unknown';
}

const ADDRESS =
  /[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*/g;

/** Every e-mail address in a text, in order, without duplicates. */
export function addressesIn(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(ADDRESS)) {
    const a = cleanAddress(m[0]);
    if (a && !out.some((o) => o.toLowerCase() === a.toLowerCase())) out.push(a);
  }
  return out;
}

/** "rfc822; <a@b>" or "<a@b>" → "a@b". */
export function cleanAddress(raw: string): string {
  let a = raw.trim().replace(/^[a-z0-9-]+\s*;\s*/i, '');
  const angle = /<([^<>]*)>/.exec(a);
  if (angle) a = angle[1]!;
  return a.replace(/^['"(<]+|['")>.,:;]+$/g, '').trim();
}

/** Addresses no bounce is about: the reporting system's own mailboxes. */
export function isSystemAddress(a: string): boolean {
  return /^(?:mailer-daemon|postmaster|mail\.delivery\.system|mailerdaemon|no-?reply|root)@/i.test(a);
}

/** Collapses white space. */
export function squash(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}
