import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import type { Resend } from 'resend';
import { domainWorkflowId } from '../../workflows/contract.js';
import { mxZone, type TestDnsServer, type ZoneEntry } from '../support/dns-server.js';
import { type Stack, startStack } from '../support/stack.js';
import { tenantClient } from '../support/tenant.js';
import { waitFor } from '../support/wait.js';

const MX = '127.0.1.1';
/** The give-up the node runs with: short, so that "eventually failed" happens in the test. */
const GIVE_UP = '12s';

interface WireRecord {
  record: string;
  name: string;
  type: string;
  value: string;
  status: string;
  priority?: number;
}

/** Publishes the records as a customer would paste them into their zone (quotes are zone-file syntax). */
function publish(dns: TestDnsServer, domain: string, records: readonly WireRecord[]): void {
  const zone = new Map<string, ZoneEntry>();
  for (const r of records) {
    const fqdn = `${r.name}.${domain}`;
    const entry = zone.get(fqdn) ?? {};
    if (r.type === 'MX') entry.mx = [...(entry.mx ?? []), { exchange: r.value, priority: r.priority ?? 10 }];
    else entry.txt = [...(entry.txt ?? []), r.value.replace(/^"(.*)"$/, '$1').match(/.{1,255}/g)!];
    zone.set(fqdn, entry);
  }
  for (const [name, entry] of zone) dns.set(name, entry);
}

/**
 * The Domains API through the official SDK against a running node, with a real DNS server
 * on loopback: create, verify (records served → verified; not served → pending, then failed
 * at the give-up), the actor's recheck flagging a verified domain whose records vanish,
 * update, delete, and one tenant never seeing another's domains (docs/operations.md,
 * "Sending domains").
 */
describe('Domains API', () => {
  let stack: Stack;
  let acme: Resend;
  let acmeKey: string;
  let other: Resend;
  let temporal: Client;

  before(async () => {
    stack = await startStack({
      zones: mxZone('rcpt.test', MX),
      sinks: { [MX]: {} },
      env: {
        POSTHORN_API_RATE: 'off',
        POSTHORN_DOMAIN_CHECK_INTERVAL: '500ms',
        POSTHORN_DOMAIN_RECHECK_INTERVAL: '1s',
        POSTHORN_DOMAIN_VERIFY_TIMEOUT: GIVE_UP,
      },
    });
    ({ resend: acme, key: acmeKey } = await tenantClient(stack, 'acme', 'acme.test'));
    ({ resend: other } = await tenantClient(stack, 'other', 'other.test'));
    temporal = new Client({ connection: await Connection.connect({ address: stack.temporalAddress }) });
  });

  after(async () => {
    await temporal?.connection.close();
    await stack?.stop();
  });

  async function create(resend: Resend, name: string) {
    const { data, error } = await resend.domains.create({ name });
    assert.equal(error, null, JSON.stringify(error));
    return data!;
  }

  async function get(resend: Resend, id: string) {
    const { data, error } = await resend.domains.get(id);
    assert.equal(error, null, JSON.stringify(error));
    return data! as unknown as {
      status: string;
      records: WireRecord[];
      click_tracking: boolean;
      tls: string;
    };
  }

  const statusBecomes = (resend: Resend, id: string, status: string) =>
    waitFor(
      `domain ${id} to be ${status}`,
      async () => {
        const d = await get(resend, id);
        return d.status === status ? d : undefined;
      },
      60_000,
    );

  const send = (resend: Resend, from: string) =>
    resend.emails.send({ from, to: 'r@rcpt.test', subject: 's', text: 't' });

  test('create returns the records to publish; once DNS serves them, verify makes the domain verified', async () => {
    const created = await create(acme, 'Mail.Shop.test');
    assert.equal(created.name, 'mail.shop.test');
    assert.equal(created.status, 'not_started');
    assert.equal(created.region, 'us-east-1');
    const records = created.records as unknown as WireRecord[];
    assert.deepEqual(
      records.map((r) => `${r.record} ${r.type} ${r.name}`),
      [
        `DKIM TXT ${records[0]!.name}`,
        `DKIM TXT ${records[1]!.name}`,
        'SPF MX send',
        'SPF TXT send',
        'DMARC TXT _dmarc',
      ],
    );
    assert.match(records[0]!.value, /^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]{300,}$/);
    assert.match(records[1]!.value, /^v=DKIM1; k=ed25519; p=/);
    assert.equal(
      records.find((r) => r.type === 'TXT' && r.record === 'SPF')!.value,
      '"v=spf1 ip4:127.0.0.2 ip4:127.0.0.3 -all"',
    );
    assert.ok(records.every((r) => r.status === 'not_started'));

    const refused = await send(acme, 'hi@mail.shop.test');
    assert.equal(refused.error?.statusCode, 403, 'an unverified domain does not send');

    publish(stack.dns, 'mail.shop.test', records);
    const { data: v, error } = await acme.domains.verify(created.id);
    assert.equal(error, null);
    assert.deepEqual(v, { object: 'domain', id: created.id });
    const verified = await statusBecomes(acme, created.id, 'verified');
    assert.ok(
      verified.records.every((r) => r.status === 'verified'),
      JSON.stringify(verified.records.map((r) => [r.record, r.type, r.status])),
    );
    const sent = await send(acme, 'hi@mail.shop.test');
    assert.equal(sent.error, null, JSON.stringify(sent.error));
  });

  test('records never served: pending at once, then failed at the give-up; a later verify starts over', async () => {
    const created = await create(acme, 'never.test');
    await acme.domains.verify(created.id);
    const pending = await get(acme, created.id);
    assert.equal(pending.status, 'pending', 'verify answers at once and the domain is pending');
    const failed = await statusBecomes(acme, created.id, 'failed');
    assert.ok(
      failed.records.filter((r) => r.record !== 'DMARC').every((r) => r.status === 'failed'),
      JSON.stringify(failed.records.map((r) => [r.record, r.type, r.status])),
    );
    assert.equal((await send(acme, 'x@never.test')).error?.statusCode, 403);
    // The actor ended with the failure: nothing more runs for this domain.
    const run = await temporal.workflow.getHandle(domainWorkflowId(created.id)).describe();
    assert.equal(run.status.name, 'COMPLETED');

    publish(stack.dns, 'never.test', failed.records);
    await acme.domains.verify(created.id);
    await statusBecomes(acme, created.id, 'verified');
  });

  test('a verified domain whose records vanish is flagged temporary_failure, sends meanwhile, and fails at the give-up', async () => {
    const created = await create(acme, 'vanish.test');
    const records = created.records as unknown as WireRecord[];
    publish(stack.dns, 'vanish.test', records);
    await acme.domains.verify(created.id);
    await statusBecomes(acme, created.id, 'verified');

    const dkim = records.find((r) => r.record === 'DKIM')!;
    stack.dns.set(`${dkim.name}.vanish.test`, { nxdomain: true });
    const flagged = await statusBecomes(acme, created.id, 'temporary_failure');
    assert.equal(flagged.records.find((r) => r.name === dkim.name)!.status, 'temporary_failure');
    assert.ok(flagged.records.filter((r) => r.name !== dkim.name).every((r) => r.status === 'verified'));
    const during = await send(acme, 'hi@vanish.test');
    assert.equal(during.error, null, 'a flagged domain still sends until the give-up');

    // Back in DNS: verified again. Gone for good: failed, and sends are refused.
    publish(stack.dns, 'vanish.test', [dkim]);
    await statusBecomes(acme, created.id, 'verified');
    stack.dns.set(`${dkim.name}.vanish.test`, { nxdomain: true });
    await statusBecomes(acme, created.id, 'temporary_failure');
    await statusBecomes(acme, created.id, 'failed');
    assert.equal((await send(acme, 'hi@vanish.test')).error?.statusCode, 403);
  });

  test('list, update (tracking flags and tls stored) and delete', async () => {
    const created = await create(acme, 'edit.test');
    const { data: list } = await acme.domains.list();
    assert.ok(list!.data.some((d) => d.id === created.id && d.name === 'edit.test'));

    const { data: updated, error } = await acme.domains.update({
      id: created.id,
      clickTracking: true,
      tls: 'enforced',
    });
    assert.equal(error, null, JSON.stringify(error));
    assert.deepEqual(updated, { object: 'domain', id: created.id });
    const after = await get(acme, created.id);
    assert.equal(after.click_tracking, true);
    assert.equal(after.tls, 'enforced');

    publish(stack.dns, 'edit.test', created.records as unknown as WireRecord[]);
    await acme.domains.verify(created.id);
    await statusBecomes(acme, created.id, 'verified');
    const { data: removed } = await acme.domains.remove(created.id);
    assert.deepEqual(removed, { object: 'domain', id: created.id, deleted: true });
    assert.equal((await acme.domains.get(created.id)).error?.statusCode, 404);
    assert.ok(!(await acme.domains.list()).data!.data.some((d) => d.id === created.id));
    assert.equal((await send(acme, 'hi@edit.test')).error?.statusCode, 403, 'a deleted domain does not send');
    // Its actor ends: the deletion woke it.
    await waitFor('the deleted domain actor to end', async () => {
      const run = await temporal.workflow.getHandle(domainWorkflowId(created.id)).describe();
      return run.status.name === 'COMPLETED' ? true : undefined;
    });
    // The name is free again.
    const again = await create(acme, 'edit.test');
    assert.notEqual(again.id, created.id);
  });

  test('bad input: missing name, not a domain, unknown region, a name already taken', async () => {
    const call = async (body: unknown) => {
      const res = await fetch(`${stack.node.apiUrl}/domains`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${acmeKey}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as { name: string } };
    };
    const missing = { statusCode: 422, name: 'missing_required_field', message: 'Missing `name` field.' };
    assert.deepEqual(await call({}), { status: 422, body: missing });
    assert.equal((await call({ name: 'not a domain' })).body.name, 'validation_error');
    assert.equal((await call({ name: 'ok.test', region: 'mars-1' })).body.name, 'invalid_region');
    assert.equal((await call({ name: 'ok.test', custom_return_path: 'bounce' })).status, 422);
    const taken = await other.domains.create({ name: 'acme.test' });
    assert.equal(taken.error?.statusCode, 422, "another tenant's domain name is taken");
  });

  test('a pending domain without an actor (its verify request met Temporal away) gets one at the next start', async () => {
    const created = await create(acme, 'orphan.test');
    publish(stack.dns, 'orphan.test', created.records as unknown as WireRecord[]);
    // What a verify request leaves when the actor's start fails after the status changed.
    await stack.db.query(`UPDATE domains SET status = 'pending', status_since = now() WHERE id = $1`, [
      created.id,
    ]);
    await stack.node.stop();
    await stack.node.start();
    await statusBecomes(acme, created.id, 'verified');
  });

  test("tenant isolation: another tenant's key gets 404 on every domain route and never lists it", async () => {
    const created = await create(acme, 'private.test');
    assert.equal((await other.domains.get(created.id)).error?.statusCode, 404);
    assert.equal((await other.domains.verify(created.id)).error?.statusCode, 404);
    assert.equal((await other.domains.update({ id: created.id, openTracking: true })).error?.statusCode, 404);
    assert.equal((await other.domains.remove(created.id)).error?.statusCode, 404);
    assert.ok(!(await other.domains.list()).data!.data.some((d) => d.id === created.id));
    const mine = await get(acme, created.id);
    assert.equal(mine.status, 'not_started', 'nothing the other tenant did reached it');
    assert.equal((mine as unknown as { open_tracking: boolean }).open_tracking, false);
  });
});
