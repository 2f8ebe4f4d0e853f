import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { runClassifyReply } from '../../../bin/classify-reply.js';

async function run(args: string[], input = ''): Promise<{ code: number; out: string[]; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks: string[] = [];
  const errs: string[] = [];
  stdout.on('data', (c) => chunks.push(String(c)));
  stderr.on('data', (c) => errs.push(String(c)));
  const code = await runClassifyReply(args, { stdin: Readable.from([input]), stdout, stderr });
  const out = chunks
    .join('')
    .split('\n')
    .filter((l) => l.length > 0);
  return { code, out, err: errs.join('') };
}

describe('posthorn classify', () => {
  it('classifies one --reply', async () => {
    const r = await run(['--reply', '550 5.1.1 <a@b.example>: user unknown']);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out[0]!), {
      category: 'recipient_unknown',
      permanence: 'permanent',
      scope: 'recipient',
      action: 'suppress',
      confidence: 'medium',
      ruleId: 'generic.user-unknown',
      status: '5.1.1',
      replyCode: 550,
    });
  });

  it('uses --provider', async () => {
    const r = await run([
      '--reply',
      '421 4.7.0 [TSS04] Messages from 192.0.2.25 temporarily deferred',
      '--provider',
      'yahoo',
    ]);
    assert.equal(JSON.parse(r.out[0]!).ruleId, 'yahoo.ts04');
  });

  it('rejects a --reply without a reply code', async () => {
    const r = await run(['--reply', 'hello']);
    assert.equal(r.code, 2);
    assert.match(r.err, /not an SMTP reply/);
  });

  it('classifies --jsonl line by line and reports bad lines', async () => {
    const input = [
      JSON.stringify({ code: '421', enhanced: '4.7.0', text: '421 4.7.0 Try again later' }),
      '{not json',
      JSON.stringify({ code: 550, enhanced: null, text: '550 Your IP has been blacklisted' }),
      JSON.stringify({ code: 'abc', enhanced: null, text: 'x' }),
      '',
      JSON.stringify({ code: 552, enhanced: '5.2.2', text: 'Mailbox full', provider: 'google' }),
    ].join('\n');
    const r = await run(['--jsonl'], input);
    assert.equal(r.code, 1);
    assert.equal(r.out.length, 5);
    const rows = r.out.map((l) => JSON.parse(l));
    assert.equal(rows[0].category, 'rate_limited');
    assert.equal(rows[0].replyCode, 421);
    assert.ok(typeof rows[1].error === 'string');
    assert.equal(rows[2].category, 'ip_blocked');
    assert.equal(rows[2].action, 'suspend_ip');
    assert.ok(typeof rows[3].error === 'string');
    assert.deepEqual([rows[4].category, rows[4].status], ['mailbox_full', '5.2.2']);
  });

  it('prints usage for no mode', async () => {
    const r = await run([]);
    assert.equal(r.code, 2);
    assert.match(r.err, /usage/);
  });
});
