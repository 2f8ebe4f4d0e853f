import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkWireFormat, MAX_LINE_OCTETS, type WireProblem } from '../../../adapters/dkim.js';

/** The rule read byte by byte, as RFC 5321 §2.3.8 and §4.5.3.1.6 state it: the oracle. */
function byteByByte(message: Buffer): WireProblem | null {
  let lineStart = 0;
  let line = 1;
  let headerEnd = false;
  for (let i = 0; i < message.length; i++) {
    if (message[i] === 0x0d) {
      if (message[i + 1] !== 0x0a) return { kind: 'bare_cr_or_lf', offset: i };
      const octets = i - lineStart;
      if (octets > MAX_LINE_OCTETS) return { kind: 'line_too_long', line, octets };
      if (octets === 0 && !headerEnd && line > 1) headerEnd = true;
      i++;
      lineStart = i + 1;
      line++;
    } else if (message[i] === 0x0a) {
      return { kind: 'bare_cr_or_lf', offset: i };
    }
  }
  const last = message.length - lineStart;
  if (last > MAX_LINE_OCTETS) return { kind: 'line_too_long', line, octets: last };
  return headerEnd ? null : { kind: 'no_header_end' };
}

/** A deterministic generator (mulberry32), so a failure names a seed that replays it. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = [
  'From: a@b.test',
  'x',
  'y'.repeat(997),
  'z'.repeat(998),
  'w'.repeat(999),
  '\r\n',
  '\r\n',
  '\r\n',
  '\r',
  '\n',
  '\r\r\n',
  '\n\r',
  '',
];

test('checkWireFormat finds the first problem a byte-by-byte reading finds, on random messages', () => {
  for (let seed = 1; seed <= 5000; seed++) {
    const next = random(seed);
    const parts: string[] = [];
    const n = Math.floor(next() * 12);
    for (let i = 0; i < n; i++) parts.push(PIECES[Math.floor(next() * PIECES.length)]!);
    const message = Buffer.from(parts.join(''), 'latin1');
    assert.deepEqual(checkWireFormat(message), byteByByte(message), `seed ${seed}: ${JSON.stringify(parts)}`);
  }
});

test('checkWireFormat names each kind of problem where it is', () => {
  assert.equal(checkWireFormat(Buffer.from('From: a@b.test\r\n\r\nbody\r\n')), null);
  assert.deepEqual(checkWireFormat(Buffer.from('From: a@b.test\r\n\r\nbo\rdy\r\n')), {
    kind: 'bare_cr_or_lf',
    offset: 20,
  });
  assert.deepEqual(checkWireFormat(Buffer.from('From: a@b.test\r\n\r\nbody\n')), {
    kind: 'bare_cr_or_lf',
    offset: 22,
  });
  assert.deepEqual(checkWireFormat(Buffer.from('From: a@b.test\r\n\r\nbody\r')), {
    kind: 'bare_cr_or_lf',
    offset: 22,
  });
  assert.deepEqual(checkWireFormat(Buffer.from(`From: a@b.test\r\n\r\n${'w'.repeat(999)}\r\n`)), {
    kind: 'line_too_long',
    line: 3,
    octets: 999,
  });
  assert.deepEqual(checkWireFormat(Buffer.from('From: a@b.test\r\nSubject: x\r\n')), {
    kind: 'no_header_end',
  });
});
