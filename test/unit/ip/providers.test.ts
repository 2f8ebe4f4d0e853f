import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  detectProvider,
  PROVIDER_MX_SUFFIXES,
  PROVIDERS,
  providerOfHost,
} from '../../../core/delivery/providers.js';

test('MX hosts of the large providers, as published and as seen in real bounces', () => {
  const cases: [string, string][] = [
    ['aspmx.l.google.com', 'google'],
    ['ALT1.ASPMX.L.GOOGLE.COM.', 'google'],
    ['gmail-smtp-in.l.google.com', 'google'],
    ['smtp.google.com', 'google'],
    ['aspmx2.googlemail.com', 'google'],
    ['contoso-com.mail.protection.outlook.com', 'microsoft'],
    ['hotmail-com.olc.protection.outlook.com', 'microsoft'],
    ['contoso-com.a-v1.mx.microsoft', 'microsoft'],
    ['mta5.am0.yahoodns.net', 'yahoo'],
    ['mx-aol.mail.gm0.yahoodns.net', 'yahoo'],
    ['mx1.bt.mail.yahoo.com', 'yahoo'],
    ['mx02.mail.icloud.com', 'apple'],
    ['mailsec.protonmail.ch', 'proton'],
    ['mx00.gmx.net', 'gmx'],
    ['mx-ha03.web.de', 'gmx'],
    ['mx01.kundenserver.de', 'ionos'],
    ['smtp-in.orange.fr', 'orange'],
    ['mx1a1.comcast.net', 'comcast'],
    ['smtpin.zoho.com', 'zoho'],
    ['mx.zoho.eu', 'zoho'],
    ['in1-smtp.messagingengine.com', 'fastmail'],
    ['us-smtp-inbound-1.mimecast.com', 'mimecast'],
    ['mxa-0012ab01.gslb.pphosted.com', 'proofpoint'],
    ['mx1-us1.ppe-hosted.com', 'proofpoint'],
    ['d123456.a.ess.barracudanetworks.com', 'barracuda'],
    ['route1.mx.cloudflare.net', 'cloudflare'],
    ['mx.yandex.ru', 'yandex'],
    ['mxs.mail.ru', 'mailru'],
    ['mx3.qq.com', 'qq'],
    ['163mx00.mxmail.netease.com', 'netease'],
    ['mx1.naver.com', 'naver'],
    ['mail.example.com', 'other'],
  ];
  for (const [host, provider] of cases) assert.equal(providerOfHost(host), provider, host);
});

test('suffixes match on label boundaries only', () => {
  assert.equal(providerOfHost('evilgoogle.com'), 'other');
  assert.equal(providerOfHost('google.com.evil.example'), 'other');
  assert.equal(providerOfHost('notyahoodns.net'), 'other');
  assert.equal(providerOfHost('mx.gmail.com.example'), 'other');
  // "mail.com" (GMX group) is not a suffix of gmail.com or hotmail.com.
  assert.equal(providerOfHost('mx.gmail.com'), 'other');
  assert.equal(providerOfHost('mx1.hotmail.com'), 'microsoft');
  assert.equal(providerOfHost(''), 'other');
});

test('an MX set: majority of distinct hosts, named provider over "other" on a tie, order-free', () => {
  assert.equal(detectProvider([]), 'other');
  assert.equal(
    detectProvider(['aspmx.l.google.com', 'alt1.aspmx.l.google.com', 'alt2.aspmx.l.google.com']),
    'google',
  );
  assert.equal(detectProvider(['aspmx.l.google.com', 'backup-mx.example.net']), 'google');
  assert.equal(detectProvider(['backup-mx.example.net', 'aspmx.l.google.com']), 'google');
  assert.equal(detectProvider(['a.example.net', 'b.example.net', 'aspmx.l.google.com']), 'other');
  const mixed = [
    'eu-smtp-inbound-1.mimecast.com',
    'eu-smtp-inbound-2.mimecast.com',
    'contoso-com.mail.protection.outlook.com',
  ];
  assert.equal(detectProvider(mixed), 'mimecast');
  assert.equal(detectProvider([...mixed].reverse()), 'mimecast');
  // Duplicates and spelling do not add votes.
  assert.equal(
    detectProvider(['MX.EXAMPLE.NET.', 'mx.example.net', 'mx.example.net', 'mta5.am0.yahoodns.net']),
    'yahoo',
  );
});

test('PROVIDERS lists every table provider once, "other" last, and no suffix is shadowed', () => {
  assert.equal(new Set(PROVIDERS).size, PROVIDERS.length);
  assert.equal(PROVIDERS[PROVIDERS.length - 1], 'other');
  for (const entry of PROVIDER_MX_SUFFIXES) {
    assert.ok(PROVIDERS.includes(entry.provider), entry.provider);
    for (const suffix of entry.suffixes) assert.equal(providerOfHost(`mx.${suffix}`), entry.provider, suffix);
  }
});
