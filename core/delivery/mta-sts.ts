/**
 * MTA-STS (RFC 8461), the pure parts: the `_mta-sts.<domain>` TXT record (§3.1), the
 * policy file served at `https://mta-sts.<domain>/.well-known/mta-sts.txt` (§3.2), and
 * whether an MX host is allowed by a policy (§4.1). Fetching and caching live in
 * adapters/mta-sts.ts.
 */

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  readonly mode: StsMode;
  /** Lowercased patterns: `mail.example.com` or `*.example.com`. */
  readonly mx: readonly string[];
  /** Seconds the policy may be cached (§3.2), at most MAX_STS_MAX_AGE. */
  readonly maxAge: number;
}

export type StsTxtParse =
  | { ok: true; id: string }
  | { ok: false; reason: 'no_record' | 'multiple_records' | 'invalid'; detail: string };

export type StsPolicyParse = { ok: true; policy: StsPolicy } | { ok: false; detail: string };

/** RFC 8461 §3.2: max_age is at most 31557600 s (about one year). */
export const MAX_STS_MAX_AGE = 31_557_600;

const STS_START = /^v=STSv1[ \t]*;/;
// §3.1: sts-id = 1*32(ALPHA / DIGIT); extensions are name=value without ';', '=' or spaces.
const STS_ID = /^[A-Za-z0-9]{1,32}$/;
const EXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const EXT_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Parses the answer to `TXT _mta-sts.<domain>`: each record is a list of character-strings
 * to be concatenated. Records not starting with `v=STSv1;` are discarded; anything other
 * than exactly one remaining, syntactically valid record means "no policy" (§3.1).
 */
export function parseStsTxt(records: readonly (readonly string[])[]): StsTxtParse {
  const joined = records.map((r) => r.join(''));
  const sts = joined.filter((r) => STS_START.test(r));
  if (sts.length === 0)
    return { ok: false, reason: 'no_record', detail: 'no TXT record starting with v=STSv1;' };
  if (sts.length > 1) {
    return {
      ok: false,
      reason: 'multiple_records',
      detail: `${sts.length} v=STSv1 records (§3.1 needs one)`,
    };
  }
  const fields = sts[0]!.split(';').map((f) => f.replace(/^[ \t]+|[ \t]+$/g, ''));
  // A trailing separator is allowed ("[sts-sep]"); an empty field elsewhere is not.
  if (fields.length > 1 && fields[fields.length - 1] === '') fields.pop();
  if (fields[0] !== 'v=STSv1') return { ok: false, reason: 'invalid', detail: 'first field must be v=STSv1' };
  let id: string | null = null;
  for (const field of fields.slice(1)) {
    const eq = field.indexOf('=');
    if (eq <= 0) return { ok: false, reason: 'invalid', detail: `malformed field "${field}"` };
    const name = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (name === 'id') {
      if (!STS_ID.test(value))
        return { ok: false, reason: 'invalid', detail: 'id must be 1–32 letters or digits' };
      id ??= value;
    } else if (!EXT_NAME.test(name) || !EXT_VALUE.test(value)) {
      return { ok: false, reason: 'invalid', detail: `malformed extension "${field}"` };
    }
  }
  if (id === null) return { ok: false, reason: 'invalid', detail: 'no id= field' };
  return { ok: true, id };
}

function validMxPattern(pattern: string): boolean {
  const host = pattern.startsWith('*.') ? pattern.slice(2) : pattern;
  const labels = host.split('.');
  return host.length <= 253 && labels.length >= 1 && labels.every((l) => LABEL.test(l));
}

/**
 * Parses the policy file (§3.2): `key: value` lines separated by LF or CRLF. Unknown keys
 * are ignored (extensions); `mx` may repeat; for other keys the first occurrence counts.
 * A max_age over the RFC's maximum is clamped rather than refused: refusing would mean
 * "no policy", which is the weaker outcome for a domain that asked for protection.
 */
export function parseStsPolicy(text: string): StsPolicyParse {
  let version: string | null = null;
  let mode: string | null = null;
  let maxAgeText: string | null = null;
  const mx: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/[ \t]+$/, '');
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { ok: false, detail: `line ${i + 1}: expected "key: value"` };
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).replace(/^[ \t]+/, '');
    switch (key) {
      case 'version':
        version ??= value;
        break;
      case 'mode':
        mode ??= value;
        break;
      case 'max_age':
        maxAgeText ??= value;
        break;
      case 'mx':
        mx.push(value.toLowerCase());
        break;
      default:
        if (!EXT_NAME.test(key)) return { ok: false, detail: `line ${i + 1}: bad field name "${key}"` };
    }
  }
  if (version !== 'STSv1') return { ok: false, detail: `version must be STSv1 (got ${version ?? 'none'})` };
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') {
    return { ok: false, detail: `mode must be enforce, testing or none (got ${mode ?? 'none'})` };
  }
  if (maxAgeText === null || !/^[0-9]{1,10}$/.test(maxAgeText)) {
    return { ok: false, detail: 'max_age must be 1–10 digits of seconds' };
  }
  const bad = mx.find((p) => !validMxPattern(p));
  if (bad !== undefined) return { ok: false, detail: `bad mx pattern "${bad}"` };
  if (mode !== 'none' && mx.length === 0) return { ok: false, detail: `mode ${mode} needs at least one mx` };
  return { ok: true, policy: { mode, mx, maxAge: Math.min(Number(maxAgeText), MAX_STS_MAX_AGE) } };
}

/**
 * RFC 8461 §4.1: an MX host is valid when it equals a pattern, or when the pattern is
 * `*.<rest>` and the host is exactly one label followed by `.<rest>` (the wildcard covers
 * one leftmost label only: `*.example.com` matches `mx1.example.com`, not `example.com` nor
 * `a.mx1.example.com`). Comparison is case-insensitive; a trailing root dot is ignored.
 */
export function mxMatchesPolicy(host: string, patterns: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  for (const raw of patterns) {
    const p = raw.toLowerCase().replace(/\.$/, '');
    if (p.startsWith('*.')) {
      const rest = p.slice(1); // ".example.com"
      const dot = h.indexOf('.');
      if (dot > 0 && h.slice(dot) === rest) return true;
    } else if (h === p) {
      return true;
    }
  }
  return false;
}
