import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classifyIp, isPublicIp, parseIp } from '../../../core/delivery/ip-class.js';

test('IPv4 special-purpose ranges', () => {
  const cases: [string, string][] = [
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'reserved'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.5', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', 'public'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.128.0.1', 'public'],
    ['169.254.169.254', 'link_local'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['198.51.100.7', 'reserved'],
    ['203.0.113.9', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['8.8.8.8', 'public'],
    ['142.250.27.26', 'public'],
  ];
  for (const [addr, cls] of cases) assert.equal(classifyIp(addr), cls, addr);
});

test('IPv6 special-purpose ranges, including mapped and embedded IPv4', () => {
  const cases: [string, string][] = [
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:10.0.0.5', 'private'],
    ['::ffff:169.254.169.254', 'link_local'],
    ['::ffff:8.8.8.8', 'public'],
    ['64:ff9b::a9fe:a9fe', 'link_local'],
    ['2002:7f00:1::1', 'loopback'],
    ['fe80::1', 'link_local'],
    ['fe80::1%eth0', 'link_local'],
    ['fd00::1', 'private'],
    ['fc12:3456::1', 'private'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['100::1', 'reserved'],
    ['::1.2.3.4', 'reserved'],
    ['2a00:1450:4001:80b::200e', 'public'],
    ['2607:f8b0:4004:c1b::1a', 'public'],
  ];
  for (const [addr, cls] of cases) assert.equal(classifyIp(addr), cls, addr);
});

test('not addresses: invalid, never public', () => {
  for (const text of [
    '',
    'localhost',
    '0x7f000001',
    '127.1',
    '01.2.3.4',
    '256.1.1.1',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    'g::1',
    '::ffff:1.2.3',
  ]) {
    assert.equal(classifyIp(text), 'invalid', text);
    assert.equal(isPublicIp(text), false);
  }
});

test('parseIp returns bytes', () => {
  assert.deepEqual(parseIp('1.2.3.4'), { version: 4, bytes: [1, 2, 3, 4] });
  assert.deepEqual(parseIp('::1')?.bytes.length, 16);
  assert.deepEqual(parseIp('1:2:3:4:5:6:7:8')?.bytes, [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
});
