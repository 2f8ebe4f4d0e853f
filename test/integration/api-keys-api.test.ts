import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Resend } from 'resend';
import { mxZone } from '../support/dns-server.js';
import { freePort } from '../support/ports.js';
import type { PosthornProcess } from '../support/posthorn-process.js';
import { type Stack, startStack } from '../support/stack.js';
import { tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const MX = '127.0.1.1';

/**
 * The API keys API through the official SDK against two nodes of one deployment: a token
 * shown once and never listed, last_used_at, revocation refused at once on the node that
 * revoked and on the other, sending_access keys limited to sending (and to one domain),
 * and one tenant never seeing or revoking another's keys.
 */
describe('API keys API', () => {
  let stack: Stack;
  let nodeB: PosthornProcess;
  let admin: Resend;
  let other: Resend;
  let acmeDomainId: string;
  let shopDomainId: string;

  const on = (node: PosthornProcess, token: string) => new Resend(token, { baseUrl: node.apiUrl });
  const send = (resend: Resend, from: string) =>
    resend.emails.send({ from, to: 'r@rcpt.test', subject: 's', text: 't' });

  before(async () => {
    stack = await startStack({
      zones: mxZone('rcpt.test', MX),
      sinks: { [MX]: {} },
      env: { POSTHORN_API_RATE: 'off' },
    });
    ({ resend: admin } = await tenantClient(stack, 'acme', 'acme.test'));
    // A second verified domain of the same tenant (--verified: local use, no DNS needed).
    await tenantClient(stack, 'acme', 'shop.test');
    ({ resend: other } = await tenantClient(stack, 'other', 'other.test'));
    const { data } = await admin.domains.list();
    acmeDomainId = data!.data.find((d) => d.name === 'acme.test')!.id;
    shopDomainId = data!.data.find((d) => d.name === 'shop.test')!.id;
    const port = await freePort();
    nodeB = stack.node.sibling(
      {
        POSTHORN_NODE_ID: 'b',
        POSTHORN_API_PORT: String(port),
        POSTHORN_INBOUND_PORT: String(await freePort()),
      },
      `http://127.0.0.1:${port}`,
    );
    await nodeB.start();
  });

  after(async () => {
    await nodeB?.stop();
    await stack?.stop();
  });

  async function create(options: Parameters<Resend['apiKeys']['create']>[0]) {
    const { data, error } = await admin.apiKeys.create(options);
    assert.equal(error, null, JSON.stringify(error));
    return data!;
  }

  test('create shows the token once; list gives id, name, created_at and last_used_at, never a token', async () => {
    const key = await create({ name: 'ci' });
    assert.match(key.token, /^re_[A-Za-z0-9_-]{32}$/);
    const listed = async () => (await admin.apiKeys.list()).data!.data.find((k) => k.id === key.id);
    const before = await listed();
    assert.deepEqual(Object.keys(before!).sort(), ['created_at', 'id', 'last_used_at', 'name']);
    assert.equal(before!.name, 'ci');
    assert.equal(before!.last_used_at, null);
    assert.ok(!JSON.stringify((await admin.apiKeys.list()).data).includes(key.token));
    const stored = await stack.db.query(
      'SELECT count(*)::int AS n FROM api_keys WHERE token_prefix = $1 AND token_hash IS NOT NULL',
      [key.token.slice(0, 7)],
    );
    assert.equal(stored.rows[0].n, 1);

    // Use it; its last use shows up (written off the request path, at most once a minute).
    const used = await on(stack.node, key.token).domains.list();
    assert.equal(used.error, null);
    const after = await waitFor('last_used_at to be recorded', async () => {
      const k = await listed();
      return k?.last_used_at ? k : undefined;
    });
    assert.ok(Date.parse(after.last_used_at!) >= Date.parse(after.created_at));
  });

  test('a removed key is refused at once, on the node that removed it and on the other', async () => {
    const key = await create({ name: 'to revoke' });
    // Both nodes have it cached: each has just accepted it.
    assert.equal((await on(stack.node, key.token).domains.list()).error, null);
    assert.equal((await on(nodeB, key.token).domains.list()).error, null);

    const { data, error } = await admin.apiKeys.remove(key.id);
    assert.equal(error, null, JSON.stringify(error));
    assert.deepEqual(data, { object: 'api_key', id: key.id, deleted: true });
    const here = await on(stack.node, key.token).domains.list();
    assert.equal(here.error?.statusCode, 403);
    assert.equal(here.error?.name, 'invalid_api_key');
    // The other node hears of it by NOTIFY, well before its cache would expire (60 s).
    await waitFor(
      'node b to refuse the removed key',
      async () =>
        (await on(nodeB, key.token).domains.list()).error?.name === 'invalid_api_key' ? true : undefined,
      10_000,
    );
    assert.ok(!(await admin.apiKeys.list()).data!.data.some((k) => k.id === key.id));
    assert.equal((await admin.apiKeys.remove(key.id)).error?.statusCode, 404, 'removing twice: not found');
  });

  test('a sending_access key sends, and nothing else: 401 restricted_api_key on every other route', async () => {
    const key = await create({ name: 'sender', permission: 'sending_access' });
    const sender = on(nodeB, key.token);
    assert.equal((await send(sender, 'a@acme.test')).error, null);
    assert.equal((await send(sender, 'a@shop.test')).error, null, 'without domain_id: any verified domain');
    const batch = await sender.batch.send([
      { from: 'a@acme.test', to: 'r@rcpt.test', subject: 's', text: 't' },
    ]);
    assert.equal(batch.error, null, JSON.stringify(batch.error));

    const refusals = [
      await sender.domains.list(),
      await sender.domains.get(acmeDomainId),
      await sender.domains.create({ name: 'new.test' }),
      await sender.domains.verify(acmeDomainId),
      await sender.apiKeys.list(),
      await sender.apiKeys.create({ name: 'escalate' }),
      await sender.apiKeys.remove(key.id),
      await sender.emails.list(),
    ];
    for (const r of refusals) {
      assert.equal(r.error?.statusCode, 401, JSON.stringify(r.error));
      assert.equal(r.error?.name, 'restricted_api_key');
    }
  });

  test('a sending_access key with domain_id sends only from that domain (403 otherwise)', async () => {
    const key = await create({ name: 'shop only', permission: 'sending_access', domain_id: shopDomainId });
    const sender = on(stack.node, key.token);
    assert.equal((await send(sender, 'a@shop.test')).error, null);
    const elsewhere = await send(sender, 'a@acme.test');
    assert.equal(elsewhere.error?.statusCode, 403);
    assert.equal(elsewhere.error?.name, 'validation_error');
  });

  test("bad input: an unknown permission, no name, a domain_id not the tenant's", async () => {
    const bad = await admin.apiKeys.create({ name: 'x', permission: 'root' as 'full_access' });
    assert.equal(bad.error?.statusCode, 422);
    assert.equal(bad.error?.name, 'invalid_access');
    const unnamed = await admin.apiKeys.create({ name: '' });
    assert.equal(unnamed.error?.statusCode, 422);
    const { data: foreign } = await other.domains.list();
    const theirs = await admin.apiKeys.create({
      name: 'x',
      permission: 'sending_access',
      domain_id: foreign!.data[0]!.id,
    });
    assert.equal(theirs.error?.statusCode, 422);
  });

  test('tenant isolation: another tenant neither lists nor removes a key (404), and the key keeps working', async () => {
    const key = await create({ name: 'mine' });
    assert.ok(!(await other.apiKeys.list()).data!.data.some((k) => k.id === key.id));
    const removed = await other.apiKeys.remove(key.id);
    assert.equal(removed.error?.statusCode, 404);
    assert.equal(removed.error?.name, 'not_found');
    assert.equal((await on(stack.node, key.token).domains.list()).error, null);
    assert.equal((await on(stack.node, key.token).domains.get(acmeDomainId)).error, null);
    assert.equal((await other.domains.get(acmeDomainId)).error?.statusCode, 404);
  });
});
