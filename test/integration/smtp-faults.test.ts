import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { openSmtpSession } from '../../adapters/smtp-session.js';
import { outcomesOfSession } from '../../core/delivery/attempt.js';
import { DEFAULT_EGRESS_LIMITS, type EgressLimits } from '../../core/delivery/egress-limits.js';
import { siteKey } from '../../core/delivery/site.js';
import type { SmtpSendResult } from '../../core/delivery/smtp-result.js';
import { createDispatcher, type Dispatcher } from '../../egress/dispatcher.js';
import {
  EHLO_WITH_STARTTLS,
  type PeerEvent,
  type Script,
  type ScriptedPeer,
  type Step,
  standard,
  startScriptedPeer,
} from '../support/scripted-peer.js';

/**
 * Receiver faults on real sockets: the SMTP client (adapters/smtp-session.ts) behind the
 * egress dispatcher, against a scripted peer that misbehaves on purpose. Every test checks what
 * the receiver saw (connections, commands, copies), not only what the client reported.
 */

const SOURCE_IP = '127.0.0.2';
const SITE = siteKey(['mx1.faults.test', 'mx2.faults.test']);
// Short, so the timeout cases run in seconds (ms). connectMs is below the tarpit delay on
// purpose: the greeting must be bounded by greetingMs alone.
const TIMEOUTS = { connectMs: 500, greetingMs: 1_000, socketMs: 2_000 };
const LIMITS: EgressLimits = { ...DEFAULT_EGRESS_LIMITS, maxConnections: 1 };

const peers: ScriptedPeer[] = [];
let nextHost = 31;
after(() => Promise.all(peers.map((p) => p.close())));

/** A peer on its own loopback address; MX host names follow the address. */
async function peer(script: Script = () => undefined): Promise<ScriptedPeer> {
  const p = await startScriptedPeer(`127.0.1.${nextHost++}`, script);
  peers.push(p);
  return p;
}

const mxHost = (p: ScriptedPeer) => `mx-${p.address}.faults.test`;

function dispatcherFor(all: ScriptedPeer[], opts: { plaintextFallback?: boolean } = {}): Dispatcher {
  return createDispatcher({
    openSession: (target) =>
      openSmtpSession({
        address: target.address,
        mxHost: target.mxHost,
        port: all.find((p) => p.address === target.address)!.port,
        localAddress: target.ip,
        ehloName: 'mta1.posthorn.test',
        timeouts: TIMEOUTS,
        ...opts,
      }),
  });
}

function message(n: number, bodyBytes = 0): Buffer {
  const body = bodyBytes > 0 ? `${'x'.repeat(76)}\r\n`.repeat(Math.ceil(bodyBytes / 78)) : `body ${n}\r\n`;
  return Buffer.from(
    `From: sender@posthorn.test\r\nTo: rcpt@dest.test\r\nSubject: message ${n}\r\n\r\n${body}`,
  );
}

/**
 * What activities/deliver.ts does with one lease: each MX in turn until one takes a
 * transaction (RFC 5321 §5.1), then release, unhealthy after an interrupted transaction.
 */
async function deliver(
  d: Dispatcher,
  mxs: ScriptedPeer[],
  opts: { n?: number; recipients?: string[]; bodyBytes?: number } = {},
): Promise<SmtpSendResult[]> {
  const r = await d.acquire({ ip: SOURCE_IP, site: SITE, limits: LIMITS });
  if (r.kind !== 'granted') throw new Error(`not granted: ${r.kind}`);
  const results: SmtpSendResult[] = [];
  let healthy = true;
  try {
    for (const mx of mxs) {
      const result = await r.lease.send(
        { mxHost: mxHost(mx), address: mx.address },
        { mailFrom: 'bounces@posthorn.test', recipients: opts.recipients ?? ['rcpt@dest.test'] },
        message(opts.n ?? 1, opts.bodyBytes),
      );
      results.push(result);
      if (result.kind !== 'session_failed') {
        healthy = !(result.kind === 'transaction' && result.data.kind === 'interrupted');
        break;
      }
    }
  } finally {
    r.lease.release({ sessionHealthy: healthy });
  }
  return results;
}

/** Closes the dispatcher and waits until the peers saw every connection end. */
async function finish(d: Dispatcher, ...all: ScriptedPeer[]): Promise<void> {
  await d.close();
  await Promise.all(all.flatMap((p) => p.connections.map((c) => c.closed)));
}

function only<T>(results: T[]): T {
  assert.equal(results.length, 1, 'one MX tried');
  return results[0]!;
}

function accepted(result: SmtpSendResult | undefined): boolean {
  return result?.kind === 'transaction' && result.data.kind === 'accepted';
}

/**
 * The invariant behind a drop during DATA (RFC 5321 §6.1): "the dot never left" must mean the
 * peer has no copy.
 */
function assertInterrupted(result: SmtpSendResult, p: ScriptedPeer): { afterDot: boolean; detail: string } {
  assert.equal(result.kind, 'transaction', JSON.stringify(result));
  if (result.kind !== 'transaction' || result.data.kind !== 'interrupted') {
    assert.fail(`expected interrupted data, got ${JSON.stringify(result)}`);
  }
  const afterDot = result.data.afterDot;
  assert.equal(typeof afterDot, 'boolean', 'the adapter always says whether the dot left');
  if (afterDot === false) assert.equal(p.copies(), 0, 'afterDot false yet the peer has a copy');
  return { afterDot: afterDot!, detail: result.data.detail };
}

/** Every reply after `delayMs` (ms). */
const slow =
  (delayMs: number): Script =>
  (event) => {
    const steps = standard(event);
    return steps.length > 0 ? [{ delayMs }, ...steps] : steps;
  };

/** On connection `index` only, `steps` when `when` matches; standard behaviour otherwise. */
const onFirst =
  (when: (e: PeerEvent) => boolean, steps: readonly Step[], index = 0): Script =>
  (event, conn) =>
    conn.index === index && when(event) ? steps : undefined;

const verb = (v: string) => (e: PeerEvent) => e.kind === 'command' && e.verb === v;

// ---- greeting (RFC 5321 §3.1, §4.5.3.2.1) ----

test('greeting 421: session_failed in phase greeting, no EHLO to that host, the next MX takes it', async () => {
  const mx1 = await peer((e) =>
    e.kind === 'connect' ? ['421 4.3.2 mx1 busy, try later\r\n', 'close'] : undefined,
  );
  const mx2 = await peer();
  const d = dispatcherFor([mx1, mx2]);
  const [first, second] = await deliver(d, [mx1, mx2]);
  await finish(d, mx1, mx2);

  assert.equal(first?.kind, 'session_failed');
  assert.equal(first?.kind === 'session_failed' && first.phase, 'greeting');
  assert.deepEqual(first?.kind === 'session_failed' && first.reply, {
    code: 421,
    enhanced: '4.3.2',
    text: 'mx1 busy, try later',
  });
  assert.ok(accepted(second));
  // RFC 5321 §3.1: a 421 greeting means "go away"; nothing more is said to that host.
  assert.equal(mx1.connections.length, 1);
  assert.equal(mx1.connections[0]!.remoteAddress, SOURCE_IP);
  assert.deepEqual(mx1.connections[0]!.commands, [], 'no EHLO/HELO after a 421 greeting');
  assert.equal(mx1.copies(), 0);
  assert.equal(mx2.copies(), 1);
});

test('greeting 554: session_failed in phase greeting with the reply; the next MX takes it', async () => {
  // RFC 5321 §3.1: a 554 server keeps the connection open and answers only QUIT.
  const mx1 = await peer((e) => (e.kind === 'connect' ? ['554 5.7.1 mx1 no service here\r\n'] : undefined));
  const mx2 = await peer();
  const d = dispatcherFor([mx1, mx2]);
  const [first, second] = await deliver(d, [mx1, mx2]);
  await finish(d, mx1, mx2);

  assert.equal(first?.kind === 'session_failed' && first.phase, 'greeting');
  assert.equal(first?.kind === 'session_failed' && first.reply?.code, 554);
  assert.ok(accepted(second));
  assert.ok(
    mx1.verbs(0).every((v) => v === 'QUIT'),
    `only QUIT may follow a 554 greeting: ${mx1.verbs(0)}`,
  );
  assert.equal(mx1.copies(), 0);
  assert.equal(mx2.copies(), 1);
});

test('TCP accepted but no banner: session_failed in phase greeting after greetingMs', async () => {
  const mx = await peer((e) => (e.kind === 'connect' ? [] : undefined));
  const d = dispatcherFor([mx]);
  const started = performance.now();
  const result = only(await deliver(d, [mx]));
  const elapsedMs = performance.now() - started;
  await finish(d, mx);

  assert.equal(result.kind === 'session_failed' && result.phase, 'greeting', JSON.stringify(result));
  assert.equal(result.kind === 'session_failed' && result.reply, null);
  assert.ok(elapsedMs >= TIMEOUTS.greetingMs - 50, `gave up after ${elapsedMs} ms`);
  assert.ok(elapsedMs < TIMEOUTS.socketMs, `bounded by the greeting timeout: ${elapsedMs} ms`);
  assert.equal(mx.connections.length, 1);
  assert.deepEqual(mx.connections[0]!.commands, []);
});

// ---- slow and broken transactions (RFC 5321 §4.5.3.2, §6.1) ----

test('tarpit: every reply 600 ms late (over connectMs, under the other timeouts) → delivered once', async () => {
  const mx = await peer(slow(600));
  const d = dispatcherFor([mx]);
  const result = only(await deliver(d, [mx]));
  await finish(d, mx);

  assert.ok(accepted(result), JSON.stringify(result));
  assert.equal(mx.connections.length, 1);
  assert.equal(mx.copies(), 1);
  assert.deepEqual(mx.verbs(0), ['EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT']);
});

for (const how of ['reset', 'close'] as const) {
  test(`disconnect (${how === 'reset' ? 'RST' : 'FIN'}) mid-DATA before the dot → interrupted, retried once → 1 copy`, async () => {
    // 16 MB: more than the loopback socket buffers hold, so the dot is still in the client
    // when the peer drops the connection after the first chunk.
    const mx = await peer(onFirst((e) => e.kind === 'data', [how]));
    const d = dispatcherFor([mx]);
    const result = only(await deliver(d, [mx], { bodyBytes: 16 * 1024 * 1024 }));
    const { afterDot } = assertInterrupted(result, mx);
    if (how === 'reset') assert.equal(afterDot, false, 'the dot never left');
    assert.equal(mx.copies(), 0, 'the peer has no complete message');
    const outcomes = outcomesOfSession(
      result as Exclude<SmtpSendResult, { kind: 'session_failed' }>,
      ['rcpt@dest.test'],
      null,
    );
    assert.equal(outcomes.get('rcpt@dest.test')?.kind, 'deferred');

    // The retry goes over a new connection (the broken one is never reused): one copy in all.
    const retry = only(await deliver(d, [mx], { n: 2 }));
    await finish(d, mx);
    assert.ok(accepted(retry));
    assert.equal(mx.connections.length, 2);
    assert.equal(mx.copies(), 1);
  });
}

for (const [name, steps] of [
  ['no reply to the dot past socketMs', []],
  ['RST right after the dot', ['reset']],
] as const) {
  test(`${name} → interrupted with afterDot: true (the peer has the message)`, async () => {
    const mx = await peer(onFirst((e) => e.kind === 'message', steps));
    const d = dispatcherFor([mx]);
    const started = performance.now();
    const result = only(await deliver(d, [mx]));
    const elapsedMs = performance.now() - started;
    await finish(d, mx);

    const { afterDot } = assertInterrupted(result, mx);
    assert.equal(afterDot, true);
    assert.equal(mx.copies(), 1, 'the peer took the message: a retry may duplicate it');
    if (steps.length === 0) assert.ok(elapsedMs >= TIMEOUTS.socketMs - 50, `waited ${elapsedMs} ms`);
    assert.deepEqual(mx.verbs(0), ['EHLO', 'MAIL', 'RCPT', 'DATA'], 'no QUIT or RSET on a broken session');
  });
}

// ---- per-recipient replies and 421 (RFC 5321 §3.3, §3.8; RFC 2920) ----

test('RCPT replies 250, 550 5.1.1, 452 4.5.3 in one transaction → delivered, bounced, deferred', async () => {
  const mx = await peer((e) => {
    if (e.kind !== 'command' || e.verb !== 'RCPT') return undefined;
    if (e.line.includes('unknown@')) return ['550 5.1.1 <unknown@dest.test>: Recipient address rejected\r\n'];
    if (e.line.includes('third@')) return ['452 4.5.3 Too many recipients\r\n'];
    return undefined;
  });
  const d = dispatcherFor([mx]);
  const recipients = ['ok@dest.test', 'unknown@dest.test', 'third@dest.test'];
  const result = only(await deliver(d, [mx], { recipients }));
  await finish(d, mx);

  assert.equal(result.kind, 'transaction');
  if (result.kind !== 'transaction') return;
  assert.equal(result.data.kind, 'accepted');
  assert.deepEqual(
    result.recipients.map((r) => [r.address, r.accepted, r.accepted ? null : r.reply?.enhanced]),
    [
      ['ok@dest.test', true, null],
      ['unknown@dest.test', false, '5.1.1'],
      ['third@dest.test', false, '4.5.3'],
    ],
  );
  const outcomes = outcomesOfSession(result, recipients, null);
  assert.deepEqual(
    recipients.map((r) => outcomes.get(r)?.kind),
    ['delivered', 'bounced', 'deferred'],
  );
  assert.equal(mx.verbs(0).filter((v) => v === 'RCPT').length, 3, 'pipelined, one RCPT each');
  assert.equal(mx.copies(), 1);
});

for (const at of ['MAIL', 'RCPT'] as const) {
  test(`421 to pipelined ${at} for message 1 → deferred; message 2 in the same queue is delivered`, async () => {
    const mx = await peer(
      onFirst(verb(at), ['421 4.7.0 Too many messages, closing connection\r\n', 'close']),
    );
    const d = dispatcherFor([mx]);
    // Both wait in the same (IP × site) ready queue, one connection at a time.
    const [r1, r2] = await Promise.all([deliver(d, [mx], { n: 1 }), deliver(d, [mx], { n: 2 })]);
    await finish(d, mx);

    const first = only(r1!);
    assert.notEqual(first.kind, 'session_failed', JSON.stringify(first));
    const outcomes = outcomesOfSession(
      first as Exclude<SmtpSendResult, { kind: 'session_failed' }>,
      ['rcpt@dest.test'],
      null,
    );
    const o = outcomes.get('rcpt@dest.test');
    assert.equal(o?.kind, 'deferred', JSON.stringify(o));
    assert.equal(o?.kind === 'deferred' && o.reply?.code, 421);
    assert.ok(accepted(only(r2!)), 'message 2 is not collateral damage');
    assert.equal(mx.connections.length, 2, 'message 2 went over a new connection');
    assert.deepEqual(mx.connections[0]!.messages, []);
    assert.ok(!mx.verbs(0).includes('RSET'), 'the 421 connection was not reused');
    assert.equal(mx.copies(), 1);
  });
}

// ---- malformed replies (RFC 5321 §4.2) ----

const MALFORMED: [string, 'EHLO' | 'MAIL', string, 'ehlo' | 'mail', RegExp][] = [
  [
    'mismatched multi-line codes',
    'EHLO',
    '250-mx.peer.test\r\n220 PIPELINING\r\n',
    'ehlo',
    /codes 250 and 220/,
  ],
  [
    'mismatched multi-line codes',
    'MAIL',
    '250-2.1.0 first\r\n220 2.1.0 second\r\n',
    'mail',
    /codes 250 and 220/,
  ],
  ['a 100 KB single line', 'MAIL', `250 ${'x'.repeat(100 * 1024)}\r\n`, 'mail', /octets/],
  [
    '10,000 continuation lines',
    'EHLO',
    `${'250-XEXTENSION-PADDING\r\n'.repeat(10_000)}250 OK\r\n`,
    'ehlo',
    /size/,
  ],
  [
    '10,000 continuation lines',
    'MAIL',
    `${'250-2.1.0 Ok\r\n'.repeat(10_000)}250 2.1.0 Ok\r\n`,
    'mail',
    /size/,
  ],
  ['a line without a reply code', 'MAIL', 'Ok, go on\r\n', 'mail', /without a reply code/],
];

for (const [name, command, reply, phase, detail] of MALFORMED) {
  test(`malformed reply to ${command}: ${name} → protocol error, bounded, never reused`, async () => {
    const mx = await peer(onFirst(verb(command), [reply]));
    const d = dispatcherFor([mx]);
    const result = only(await deliver(d, [mx], { n: 1 }));
    assert.equal(result.kind, 'session_failed', JSON.stringify(result).slice(0, 300));
    if (result.kind !== 'session_failed') return;
    assert.equal(result.phase, phase);
    assert.match(result.detail, /EPROTOCOL/);
    assert.match(result.detail, detail);
    assert.ok(result.detail.length < 1024, 'the reply is not carried around');

    const second = only(await deliver(d, [mx], { n: 2 }));
    await finish(d, mx);
    assert.ok(accepted(second));
    assert.equal(mx.connections.length, 2, 'a new connection for the next message');
    assert.deepEqual(mx.connections[0]!.messages, []);
    assert.ok(!mx.verbs(0).includes('RSET') && !mx.verbs(0).includes('QUIT'), `${mx.verbs(0)}`);
    assert.equal(mx.copies(), 1);
  });
}

// ---- unsolicited replies: a reply no command waited for is never a success ----

test('an extra reply in the same segment as the reply to the dot → not success, session dropped', async () => {
  const mx = await peer(
    onFirst((e) => e.kind === 'message', ['250 2.0.0 Ok: extra\r\n250 2.0.0 Ok: queued as REAL\r\n']),
  );
  const d = dispatcherFor([mx]);
  const result = only(await deliver(d, [mx], { n: 1 }));
  const { afterDot, detail } = assertInterrupted(result, mx);
  assert.equal(afterDot, true);
  assert.match(detail, /unsolicited/);
  const second = only(await deliver(d, [mx], { n: 2 }));
  await finish(d, mx);
  assert.ok(accepted(second));
  assert.equal(mx.connections.length, 2, 'the out-of-step connection was not reused');
  assert.ok(!mx.verbs(0).includes('RSET'));
});

test('a reply before the dot was sent (250 right behind 354) → not success, session dropped', async () => {
  const mx = await peer(onFirst(verb('DATA'), ['354 go ahead\r\n250 2.0.0 Ok: early\r\n']));
  const d = dispatcherFor([mx]);
  const result = only(await deliver(d, [mx], { n: 1 }));
  const { detail } = assertInterrupted(result, mx);
  assert.match(detail, /before the final dot/);
  const second = only(await deliver(d, [mx], { n: 2 }));
  await finish(d, mx);
  assert.ok(accepted(second));
  assert.equal(mx.connections.length, 2);
  assert.ok(!mx.verbs(0).includes('RSET'));
});

test('an extra reply in its own segment after the dot: taken as the reply (undetectable), session dropped', async () => {
  // Limitation, stated: "250 extra", a pause, then "250 real" is on the wire the same as a
  // normal reply to the dot followed by garbage, so the first line is taken as the dot's reply.
  // The late line answers no command: nodemailer fails the idle connection and it is closed.
  const mx = await peer(
    onFirst((e) => e.kind === 'message', ['250 2.0.0 Ok: extra\r\n', { delayMs: 100 }, '250 2.0.0 real\r\n']),
  );
  const d = dispatcherFor([mx]);
  const first = only(await deliver(d, [mx], { n: 1 }));
  assert.ok(accepted(first));
  await mx.connections[0]!.closed;
  const second = only(await deliver(d, [mx], { n: 2 }));
  await finish(d, mx);
  assert.ok(accepted(second));
  assert.equal(mx.connections.length, 2, 'not reused after the stray reply');
  assert.ok(!mx.verbs(0).includes('RSET'));
  assert.equal(mx.copies(), 2);
});

// ---- STARTTLS (RFC 3207 §4; plaintext fallback as RFC 7435 allows) ----

const starttls =
  (answer: readonly Step[]): Script =>
  (e) => {
    if (verb('EHLO')(e)) return [EHLO_WITH_STARTTLS];
    if (verb('STARTTLS')(e)) return answer;
    return undefined;
  };
const BROKEN_HANDSHAKE = ['220 2.0.0 Ready to start TLS\r\n', 'this is not a TLS record\r\n'];

test('STARTTLS offered, handshake fails → plaintext on a new connection, reported as tlsFallback', async () => {
  const mx = await peer(starttls(BROKEN_HANDSHAKE));
  const d = dispatcherFor([mx]);
  const result = only(await deliver(d, [mx]));
  await finish(d, mx);

  assert.ok(accepted(result), JSON.stringify(result));
  assert.equal(result.kind === 'transaction' && result.tls, null);
  assert.match((result.kind === 'transaction' && result.tlsFallback) || '', /handshake failed/);
  assert.equal(mx.connections.length, 2);
  assert.deepEqual(mx.verbs(0).slice(0, 2), ['EHLO', 'STARTTLS']);
  assert.ok(!mx.verbs(0).includes('MAIL'), 'nothing sent over the broken connection');
  assert.deepEqual(mx.verbs(1), ['EHLO', 'MAIL', 'RCPT', 'DATA', 'QUIT'], 'no STARTTLS the second time');
  assert.equal(mx.copies(), 1);
});

test('STARTTLS handshake fails with plaintextFallback: false → session_failed in phase starttls', async () => {
  const mx = await peer(starttls(BROKEN_HANDSHAKE));
  const d = dispatcherFor([mx], { plaintextFallback: false });
  const result = only(await deliver(d, [mx]));
  await finish(d, mx);

  assert.equal(result.kind === 'session_failed' && result.phase, 'starttls', JSON.stringify(result));
  assert.equal(mx.connections.length, 1);
  assert.ok(!mx.verbs(0).includes('MAIL'));
  assert.equal(mx.copies(), 0);
});

test('STARTTLS refused with 454 → plaintext on the same connection, reported as tlsFallback', async () => {
  const mx = await peer(starttls(['454 4.7.0 TLS not available due to temporary reason\r\n']));
  const d = dispatcherFor([mx]);
  const result = only(await deliver(d, [mx]));
  await finish(d, mx);

  assert.ok(accepted(result));
  assert.match((result.kind === 'transaction' && result.tlsFallback) || '', /STARTTLS refused.*454/);
  assert.equal(mx.connections.length, 1);
  assert.deepEqual(mx.verbs(0), ['EHLO', 'STARTTLS', 'MAIL', 'RCPT', 'DATA', 'QUIT']);
  assert.equal(mx.copies(), 1);
});
