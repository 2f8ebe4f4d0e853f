import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { assertPinnedExactly } from '../../support/pinned.js';

/**
 * Contract tests for the mailauth internals adapters/dkim.ts deep-imports to sign with
 * over-signing (RFC 6376 §8.15), which mailauth's dkimSign cannot do: parseHeaders and
 * formatSignatureHeaderLine from lib/tools.js, relaxedHeaders from lib/dkim/header/relaxed.js
 * and dkimBody from lib/dkim/body/index.js. None is public API; each test feeds known input
 * and compares with the result worked out by hand from the RFC, so a release that changes
 * one fails here naming it, not as a signature that receivers reject.
 */

const DEPENDANT = 'adapters/dkim.ts';
const require = createRequire(import.meta.url);
const installed = (require('mailauth/package.json') as { version: string }).version;

function broken(internal: string, change: string): string {
  return (
    `mailauth ${installed}: ${internal} ${change}. ${DEPENDANT} deep-imports it to sign messages; ` +
    `adapt signMessage() before changing the pinned version.`
  );
}

/** Loads a module the way adapters/dkim.ts does (createRequire, same specifier). */
function load<T>(specifier: string, names: readonly (keyof T & string)[]): T {
  let mod: T;
  try {
    mod = require(specifier) as T;
  } catch (err) {
    throw new assert.AssertionError({
      message: broken(specifier, `can no longer be required (${(err as Error).message})`),
    });
  }
  for (const name of names) {
    assert.equal(
      typeof mod[name],
      'function',
      broken(`${specifier} ${name}`, 'is no longer exported as a function'),
    );
  }
  return mod;
}

// The signatures adapters/dkim.ts declares for them.
interface ParsedHeader {
  key: string | null;
  casedKey: string | undefined;
  line: Buffer;
}
interface Tools {
  parseHeaders(buf: Buffer): { parsed: ParsedHeader[] };
  formatSignatureHeaderLine(type: 'DKIM', values: Record<string, unknown>, folded: boolean): string;
}
interface Relaxed {
  relaxedHeaders(
    type: 'DKIM',
    lines: { keys: string; headers: { line: Buffer }[] },
    options: Record<string, unknown>,
  ): { canonicalizedHeader: Buffer; dkimHeaderOpts: Record<string, unknown> };
}
interface Body {
  dkimBody(
    canonicalization: 'relaxed',
    hash: 'sha256',
    maxBodyLength: false,
  ): { update(chunk: Buffer): void; digest(encoding: 'base64'): string };
}

const TOOLS = 'mailauth/lib/tools.js';
const RELAXED = 'mailauth/lib/dkim/header/relaxed.js';
const BODY = 'mailauth/lib/dkim/body/index.js';

/**
 * RFC 6376 §3.4.5, example 1: the header block (through the empty line) and the body, with
 * their relaxed canonical forms as the RFC gives them.
 */
const RFC_HEADER = 'A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n';
const RFC_HEADER_RELAXED = 'a:X\r\nb:Y Z\r\n';
const RFC_BODY = ' C \r\nD \t E\r\n\r\n\r\n';
const RFC_BODY_RELAXED = ' C\r\nD E\r\n';

/** SHA-256 of the empty string: the relaxed body hash of an empty body (RFC 6376 §3.4.4, erratum 1384). */
const EMPTY_BODY_HASH = '47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=';

const SIGN_OPTIONS = {
  algorithm: 'rsa-sha256',
  canonicalization: 'relaxed/relaxed',
  selector: 'ph202601r',
  signingDomain: 'example.test',
  bodyHash: EMPTY_BODY_HASH,
  signTime: new Date('2023-11-14T22:13:20Z'), // t=1700000000
};

/**
 * The DKIM-Signature field as signed (RFC 6376 §3.7): relaxed (§3.4.2), the b= value deleted,
 * no trailing CRLF. adapters/dkim.ts names one instance of A more than present (over-signing).
 */
const SIGNED_FIELD =
  'dkim-signature:v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.test; h=A:B:A; q=dns/txt; ' +
  `s=ph202601r; t=1700000000; bh=${EMPTY_BODY_HASH}; b=`;

/** Relaxed header canonicalization of one field (RFC 6376 §3.4.2), without the CRLF. */
function relaxedField(field: string): string {
  const unfolded = field.replace(/\r\n(?=[ \t])/g, '');
  const colon = unfolded.indexOf(':');
  const name = unfolded
    .slice(0, colon)
    .replace(/[ \t]+$/, '')
    .toLowerCase();
  const value = unfolded
    .slice(colon + 1)
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${name}:${value}`;
}

// ---- the pin ----

test('mailauth: installed version is the one pinned exactly in package.json and package-lock.json', () => {
  assertPinnedExactly(
    'mailauth',
    installed,
    `${DEPENDANT} deep-imports its internals, which any release may change`,
  );
});

// ---- the deep imports ----

test('mailauth/lib/tools.js parseHeaders: one {key, casedKey, line} per field, line its raw bytes with folding', () => {
  const { parseHeaders } = load<Tools>(TOOLS, ['parseHeaders']);
  const internal = `${TOOLS} parseHeaders`;
  // Given as signMessage() gives it: the header block through the empty line. 8-bit bytes
  // (UTF-8 in a Subject) must come back unchanged, or the signature covers other bytes.
  const subject = Buffer.from('Subject: Grüße', 'utf8');
  const block = Buffer.concat([
    Buffer.from(RFC_HEADER.slice(0, -2), 'binary'),
    subject,
    Buffer.from('\r\n\r\n'),
  ]);
  const result = parseHeaders(block);
  assert.ok(Array.isArray(result?.parsed), broken(internal, 'no longer returns { parsed: [...] }'));
  assert.deepEqual(
    result.parsed.map((h) => ({ key: h.key, casedKey: h.casedKey, isBuffer: Buffer.isBuffer(h.line) })),
    [
      { key: 'a', casedKey: 'A', isBuffer: true },
      { key: 'b', casedKey: 'B', isBuffer: true },
      { key: 'subject', casedKey: 'Subject', isBuffer: true },
    ],
    broken(internal, 'returns other fields, keys (lower-cased name) or casedKeys (trimmed name)'),
  );
  assert.deepEqual(
    result.parsed.map((h) => h.line.toString('binary')),
    ['A: X', 'B : Y\t\r\n\tZ  ', subject.toString('binary')],
    broken(internal, 'line is no longer the raw field with its folding and without the CRLF'),
  );
});

test('mailauth/lib/dkim/header/relaxed.js relaxedHeaders: RFC 6376 §3.4.2 over the listed lines, then the DKIM-Signature field with b= empty', () => {
  const { relaxedHeaders } = load<Relaxed>(RELAXED, ['relaxedHeaders']);
  const internal = `${RELAXED} relaxedHeaders`;
  const headers = [
    { line: Buffer.from('A: X', 'binary') },
    { line: Buffer.from('B : Y\t\r\n\tZ  ', 'binary') },
  ];
  const result = relaxedHeaders('DKIM', { keys: 'A:B:A', headers }, SIGN_OPTIONS);
  assert.ok(
    Buffer.isBuffer(result?.canonicalizedHeader),
    broken(internal, 'no longer returns a Buffer canonicalizedHeader'),
  );
  assert.equal(
    result.canonicalizedHeader.toString('binary'),
    RFC_HEADER_RELAXED + SIGNED_FIELD,
    broken(internal, 'canonicalizes the header otherwise than RFC 6376 §3.4.2 and §3.7 say'),
  );
  // h= is taken as given, extra (over-signed) names included: signMessage() relies on it.
  assert.deepEqual(
    result.dkimHeaderOpts,
    {
      a: 'rsa-sha256',
      c: 'relaxed/relaxed',
      s: 'ph202601r',
      d: 'example.test',
      h: 'A:B:A',
      bh: EMPTY_BODY_HASH,
      t: 1700000000,
    },
    broken(
      internal,
      'returns other dkimHeaderOpts (the tags signMessage() passes on to the signature field)',
    ),
  );
});

test('mailauth/lib/tools.js formatSignatureHeaderLine: a folded DKIM-Signature field that canonicalizes to what relaxedHeaders signed', () => {
  const { formatSignatureHeaderLine } = load<Tools>(TOOLS, ['formatSignatureHeaderLine']);
  const { relaxedHeaders } = load<Relaxed>(RELAXED, ['relaxedHeaders']);
  const internal = `${TOOLS} formatSignatureHeaderLine`;
  const { dkimHeaderOpts } = relaxedHeaders('DKIM', { keys: 'A:B:A', headers: [] }, SIGN_OPTIONS);
  // An RSA-2048 signature is 256 octets, 344 base64 characters.
  const b = Buffer.alloc(256, 0xa5).toString('base64');
  const field = formatSignatureHeaderLine('DKIM', { ...dkimHeaderOpts, b }, true);
  assert.equal(typeof field, 'string', broken(internal, 'no longer returns a string'));
  assert.match(field, /^DKIM-Signature: /, broken(internal, 'no longer starts with the field name'));
  // signMessage() appends the CRLF itself and prepends the field to the message as is.
  assert.doesNotMatch(field, /\r\n$/, broken(internal, 'now ends with a CRLF'));
  for (const line of field.split('\r\n')) {
    assert.doesNotMatch(line, /[\r\n]/, broken(internal, 'emits a bare CR or LF'));
    assert.ok(line.length <= 998, broken(internal, 'emits a line over 998 octets (RFC 5322 §2.1.1)'));
  }
  assert.doesNotMatch(
    field,
    /\r\n(?![ \t])/,
    broken(internal, 'folds without WSP after the CRLF (RFC 5322 §2.2.3)'),
  );
  // What a verifier computes from the field (RFC 6376 §3.7) is what relaxedHeaders signed.
  const signed = relaxedField(field).replace(/(;\s*b=)[^;]*$/, '$1');
  assert.equal(
    signed,
    SIGNED_FIELD,
    broken(internal, 'emits a field other than the one relaxedHeaders signed'),
  );
  // b= carries the signature; whitespace in it is ignored (RFC 6376 §3.5).
  const bValue = /;\s*b=([^;]*)$/.exec(field.replace(/\r\n(?=[ \t])/g, ''))?.[1];
  assert.equal(bValue?.replace(/[ \t]/g, ''), b, broken(internal, 'no longer carries b= as given'));
});

test('mailauth/lib/dkim/body/index.js dkimBody: the SHA-256 of the body as RFC 6376 §3.4.4 relaxes it', () => {
  const { dkimBody } = load<Body>(BODY, ['dkimBody']);
  const internal = `${BODY} dkimBody('relaxed', 'sha256', false)`;
  const bodyHash = (body: string) => {
    const hasher = dkimBody('relaxed', 'sha256', false);
    hasher.update(Buffer.from(body, 'binary'));
    return hasher.digest('base64');
  };
  const sha256 = (s: string) => createHash('sha256').update(s, 'binary').digest('base64');
  const cases: [body: string, relaxed: string, why: string][] = [
    [RFC_BODY, RFC_BODY_RELAXED, 'RFC 6376 §3.4.5 example 1'],
    [
      '\t\tindented  text\t\r\nlast',
      ' indented text\r\nlast\r\n',
      'WSP runs to one SP, none at line end, CRLF added',
    ],
    ['', '', 'an empty body stays empty'],
    ['\r\n\r\n', '', 'a body of empty lines is empty'],
    [`${'x'.repeat(70)}\r\n`.repeat(2000), `${'x'.repeat(70)}\r\n`.repeat(2000), 'no l= limit: all of it'],
  ];
  for (const [body, relaxed, why] of cases) {
    assert.equal(bodyHash(body), sha256(relaxed), broken(internal, `hashes otherwise (${why})`));
  }
  assert.equal(bodyHash(''), EMPTY_BODY_HASH, broken(internal, 'no longer hashes an empty body as empty'));
});
