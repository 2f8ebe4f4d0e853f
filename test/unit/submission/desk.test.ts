import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import type { KeyPrincipal, SendingDomain } from '../../../adapters/postgres/tenants.js';
import { readSubmittedMail } from '../../../adapters/submitted-mail.js';
import { createAccept } from '../../../api/accept.js';
import { hashApiKey } from '../../../api/api-keys.js';
import type { RateDecision } from '../../../api/rate-limit.js';
import { createSubmissionDesk } from '../../../api/submission.js';

// The desk over the real accept path, with its stores replaced: what each SMTP step
// answers, and what reaches the insert.
const principal: KeyPrincipal = {
  keyId: 'k1',
  tenantId: 't1',
  tenantName: 'acme',
  permission: 'sending_access',
  domainId: null,
};
const domains: Record<string, SendingDomain> = {
  'acme.test': { id: 'd1', tenantId: 't1', name: 'acme.test', status: 'verified' },
  'pending.test': { id: 'd2', tenantId: 't1', name: 'pending.test', status: 'pending' },
};
const KEY = 're_valid';

function setup(o: { rate?: RateDecision | null; failing?: Error } = {}) {
  const inserted: {
    message: {
      recipients: readonly { address: string }[];
      mime: Buffer;
      subject: string;
      text: string | null;
    };
  }[][] = [];
  let revoked = false;
  const tenants = {
    principalByTokenHash: async (h: Buffer) => {
      if (o.failing) throw o.failing;
      return !revoked && h.equals(hashApiKey(KEY)) ? principal : null;
    },
    domainByName: async (_t: string, name: string) => domains[name] ?? null,
  };
  const accept = createAccept({
    tenants,
    messages: {
      insert: async (batch) => {
        inserted.push(batch as never);
        return { webhooks: [], suppressed: [] };
      },
    },
    dispatch: () => {},
    admit: async () => {},
    node: 'n1',
    limits: { refuseIfPaused: () => {}, reserve: async () => ({ refund: async () => {} }) },
    compose: async () => Buffer.from(''),
    retry: { initialMs: 1, factor: 2, maxDelayMs: 1, maxAgeMs: 1, greylistMs: 1, pickupMs: 1 },
    egressTaskQueue: 'q',
    now: () => Date.parse('2026-12-06T12:00:00Z'),
  });
  const desk = createSubmissionDesk({
    tenants,
    accept,
    suppressedAmong: async (_t, addresses) => new Set(addresses.filter((a) => a.startsWith('gone@'))),
    rateBudget: async () => o.rate ?? null,
    readMail: readSubmittedMail,
    log: pino({ level: 'silent' }),
  });
  const revoke = () => {
    revoked = true;
  };
  return { desk, inserted, revoke };
}

const tokenHash = hashApiKey(KEY);
const mail = (...header: string[]) => Buffer.from([...header, '', 'body', ''].join('\r\n'));

test('AUTH takes the key as the password; anything else is a failure; database trouble is 454 to AUTH, 451 after', async () => {
  assert.deepEqual(await setup().desk.authenticate(KEY), { tokenHash });
  assert.equal(await setup().desk.authenticate('re_guess'), null);
  const down = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  assert.deepEqual(await setup({ failing: down }).desk.authenticate(KEY), {
    code: 454,
    text: '4.7.0 Temporary authentication failure, try again later',
  });
  assert.deepEqual(await setup({ failing: down }).desk.mailFrom(tokenHash), {
    code: 451,
    text: '4.3.0 Temporarily unable to accept mail, try again later',
  });
});

test('MAIL FROM: the tenant budget shared with the API, and a key revoked since AUTH', async () => {
  assert.equal(await setup().desk.mailFrom(tokenHash), null);
  const limited = setup({ rate: { allowed: false, limit: 1, remaining: 0, resetS: 3, retryAfterS: 3 } });
  assert.deepEqual(await limited.desk.mailFrom(tokenHash), {
    code: 451,
    text: '4.7.0 Too many messages for this account, try again in 3 s',
  });
  const s = setup();
  s.revoke();
  assert.equal((await s.desk.mailFrom(tokenHash))?.code, 530);
});

test('DATA: the header From decides, one From only, no NUL; a Sender must be sendable too', async () => {
  const { desk, inserted } = setup();
  const refused = async (raw: Buffer, code: number, text: RegExp) => {
    const r = await desk.data(tokenHash, ['ann@rcpt.test'], raw);
    assert.ok('code' in r, `refused: ${JSON.stringify(r)}`);
    assert.equal(r.code, code);
    assert.match(r.text, text);
  };
  await refused(mail('From: a@acme.test', 'From: b@acme.test'), 554, /exactly one From field/);
  await refused(mail('From: a@acme.test, b@acme.test'), 554, /exactly one mailbox/);
  await refused(mail('From: a@pending.test'), 550, /^5\.7\.1 The pending\.test domain is not verified/);
  await refused(
    mail('From: a@acme.test', 'Sender: b@pending.test'),
    550,
    /pending\.test domain is not verified/,
  );
  await refused(Buffer.from('From: a@acme.test\r\n\r\nnul \0 here\r\n'), 554, /NUL/);
  await refused(mail('From: a@acme.test', 'List-Unsubscribe-Post: List-Unsubscribe=One-Click'), 554, /8058/);
  await refused(Buffer.from('From: a@acme.test\r\n\r\nbare\nLF\r\n'), 554, /bare CR or LF at octet 25/);
  await refused(
    mail('From: a@acme.test', `X-Long: ${'x'.repeat(1000)}`),
    554,
    /^5\.6\.0 Line 2 is 1008 octets/,
  );
  assert.equal(inserted.length, 0, 'nothing refused is stored');
  const ok = await desk.data(
    tokenHash,
    ['ann@rcpt.test', 'bob@rcpt.test'],
    mail('From: Acme <a@acme.test>', 'To: ann@rcpt.test'),
  );
  assert.ok('id' in ok);
  assert.deepEqual(
    inserted[0]![0]!.message.recipients.map((r) => r.address),
    ['ann@rcpt.test', 'bob@rcpt.test'],
    'the envelope decides who receives it',
  );
});

test('RCPT TO: invalid and suppressed addresses are refused, valid ones taken', async () => {
  const { desk } = setup();
  assert.equal(await desk.rcptTo(tokenHash, 'ann@rcpt.test', 0), null);
  assert.equal((await desk.rcptTo(tokenHash, 'gone@rcpt.test', 0))?.code, 550);
  assert.equal((await desk.rcptTo(tokenHash, 'not an address', 0))?.code, 553);
  assert.equal((await desk.rcptTo(tokenHash, 'ann@rcpt.test', 50))?.code, 452);
});

test('text that decodes to NUL is stored without it; the message is relayed as it came', async () => {
  const { desk, inserted } = setup();
  const raw = Buffer.from(
    [
      'From: a@acme.test',
      'Subject: =?utf-8?q?nul=00here?=',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'before=00after',
      '',
    ].join('\r\n'),
  );
  const r = await desk.data(tokenHash, ['ann@rcpt.test'], raw);
  assert.ok('id' in r, JSON.stringify(r));
  const stored = inserted[0]![0]!.message;
  assert.equal(stored.subject, 'nulhere');
  assert.equal(stored.text, 'beforeafter\n');
  assert.ok(stored.mime.includes('before=00after'));
});
