import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createGuardedHttp, type GuardedHttpOptions } from '../../adapters/guarded-http.js';

// A real HTTP server on loopback; names resolve through the test's own table.
let server: Server;
let port = 0;
let connections = 0;

before(async () => {
  server = createServer((req, res) => {
    if (req.url === '/redirect') {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/ok` }).end();
      return;
    }
    if (req.url === '/big') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(5000));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

const names: Record<string, string[]> = {
  'loop.test': ['127.0.0.1'],
  'private.test': ['10.0.0.1'],
  'metadata.test': ['169.254.169.254'],
  'mixed.test': ['93.184.216.34', '127.0.0.1'],
};
function client(extra: Partial<GuardedHttpOptions> = {}) {
  return createGuardedHttp({
    timeoutMs: 5000,
    addresses: async (host) => {
      const found = names[host];
      if (!found) throw new Error(`${host}: nxdomain`);
      return found;
    },
    ...extra,
  });
}

test('non-public targets are refused before any connection, by name or by literal address', async () => {
  const http = client();
  const before = connections;
  for (const url of [
    `http://loop.test:${port}/`,
    `http://private.test:${port}/`,
    `http://metadata.test:${port}/`,
    `http://mixed.test:${port}/`,
    `http://127.0.0.1:${port}/`,
    'http://10.0.0.1/',
    'http://169.254.169.254/latest/meta-data/',
    `http://[::1]:${port}/`,
  ]) {
    const r = await http.request(url, { method: 'GET' });
    assert.equal(r.ok, false, url);
    assert.equal(r.ok ? '' : r.reason, 'egress_refused', url);
  }
  assert.equal(connections, before);
  await http.close();
});

test('loopback is allowed only when asked; private and metadata addresses never are', async () => {
  const http = client({ allowLoopback: true });
  const r = await http.request(`http://loop.test:${port}/`, { method: 'GET' });
  assert.ok(r.ok);
  const body = await r.readBody(1024);
  assert.deepEqual(body, { ok: true, body: Buffer.from('hello'), truncated: false });
  for (const host of ['private.test', 'metadata.test']) {
    const refused = await http.request(`http://${host}:${port}/`, { method: 'GET' });
    assert.equal(refused.ok ? '' : refused.reason, 'egress_refused');
  }
  await http.close();
});

test('redirects are handed back, not followed; bodies are capped or truncated', async () => {
  const http = client({ allowLoopback: true });
  const redirect = await http.request(`http://127.0.0.1:${port}/redirect`, { method: 'GET' });
  assert.ok(redirect.ok);
  assert.equal(redirect.status, 302);
  redirect.discard();

  const capped = await http.request(`http://127.0.0.1:${port}/big`, { method: 'GET' });
  assert.ok(capped.ok);
  const tooLarge = await capped.readBody(1024);
  assert.equal(tooLarge.ok ? '' : tooLarge.reason, 'too_large');

  const truncated = await http.request(`http://127.0.0.1:${port}/big`, { method: 'GET' });
  assert.ok(truncated.ok);
  const head = await truncated.readBody(1024, { truncate: true });
  assert.ok(head.ok);
  assert.equal(head.body.length, 1024);
  assert.equal(head.truncated, true);
  await http.close();
});
