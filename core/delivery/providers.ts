/**
 * Provider detection (MX rollup to mailbox providers): which receiver sees our IP when we
 * deliver to a domain. Routing, warmup caps and reputation are kept per provider, because a
 * receiver judges a sending IP by everything it gets from it, whatever the recipient domain
 * (docs/architecture.md, "The routing wing"). Thousands of domains hosted at Google
 * Workspace or Microsoft 365 publish the provider's MX hosts, so the MX host names, not the
 * recipient domain, tell the provider.
 *
 * A gateway in front of a mailbox (Mimecast, Proofpoint, Barracuda in front of Microsoft 365)
 * is the provider here: it is the machine that accepts or refuses our IP.
 */

/** Every provider id detection can return, "other" last. */
export const PROVIDERS = [
  'google',
  'microsoft',
  'yahoo',
  'apple',
  'proton',
  'gmx',
  'ionos',
  'orange',
  'comcast',
  'zoho',
  'fastmail',
  'mimecast',
  'proofpoint',
  'barracuda',
  'cloudflare',
  'yandex',
  'mailru',
  'qq',
  'netease',
  'naver',
  'other',
] as const;

export type KnownProvider = (typeof PROVIDERS)[number];

/**
 * A provider id as routing and the IP workflows carry it: in signals, in the persisted IP
 * state (keys of plain JSON records) and in route states. Detection only ever gives a
 * KnownProvider, but the type stays string: a running workflow may hold an id that an older
 * or newer build listed, and warmup caps use "*" for every provider without its own line.
 */
export type ProviderId = string;

export const OTHER_PROVIDER: KnownProvider = 'other';

interface ProviderSuffixes {
  readonly provider: Exclude<KnownProvider, 'other'>;
  /** MX host suffixes, matched on label boundaries (no leading dot). */
  readonly suffixes: readonly string[];
}

/**
 * MX host suffixes per provider. Sources: KumoMTA's community shaping rules
 * (assets/policy-extras/shaping.toml, `MXSuffix` matches), sisimai's rhost table
 * (rhost/lib.go `RhostClass`), the providers' own set-up pages quoted per line, and MX hosts
 * seen in the real bounces of the development corpus (README, "Benchmarks and evaluation";
 * e.g. gmail-smtp-in.l.google.com, mta5.am0.yahoodns.net,
 * hotmail-com.olc.protection.outlook.com, mx02.mail.icloud.com).
 */
export const PROVIDER_MX_SUFFIXES: readonly ProviderSuffixes[] = [
  // Gmail and Workspace: aspmx.l.google.com, alt1-4.aspmx.l.google.com, gmail-smtp-in.l.google.com,
  // smtp.google.com (Workspace set-up, support.google.com/a/answer/174125); aspmx2-5.googlemail.com
  // for older Workspace set-ups. KumoMTA: "their MX hostnames all resolve to common IPs", one provider.
  { provider: 'google', suffixes: ['google.com', 'googlemail.com'] },
  // Microsoft 365 (<tenant>.mail.protection.outlook.com), Outlook.com/Hotmail
  // (hotmail-com.olc.protection.outlook.com), the DANE set (<tenant>.<x>.mx.microsoft, Exchange
  // team blog "Implementing Inbound SMTP DANE"), and legacy mx1-4.hotmail.com.
  { provider: 'microsoft', suffixes: ['protection.outlook.com', 'mx.microsoft', 'hotmail.com'] },
  // Yahoo and AOL: mta5.am0.yahoodns.net, mx-aol.mail.gm0.yahoodns.net (senders.yahooinc.com);
  // partner-hosted mailboxes such as BT use mx1.bt.mail.yahoo.com; older AOL hosts *.mx.aol.com.
  { provider: 'yahoo', suffixes: ['yahoodns.net', 'mail.yahoo.com', 'mx.aol.com', 'mail.aol.com'] },
  // iCloud: mx01.mail.icloud.com, mx02.mail.icloud.com (support.apple.com/en-us/102322).
  { provider: 'apple', suffixes: ['mail.icloud.com'] },
  // Proton: mail.protonmail.ch, mailsec.protonmail.ch (proton.me/support/custom-domain).
  { provider: 'proton', suffixes: ['protonmail.ch'] },
  // 1&1 Mail & Media's consumer mail: GMX (mx00.gmx.net), WEB.DE (mx-ha03.web.de), mail.com
  // (mx00.mail.com, seen in the corpus).
  { provider: 'gmx', suffixes: ['gmx.net', 'web.de', 'mail.com'] },
  // IONOS hosting (same group, different receiving platform): mx00.ionos.de, mx01.kundenserver.de,
  // mx.perfora.net (1&1 US).
  { provider: 'ionos', suffixes: ['ionos.de', 'ionos.com', 'kundenserver.de', 'perfora.net'] },
  // Orange: smtp-in.orange.fr, also for wanadoo.fr (corpus; KumoMTA cites postmaster.orange.fr).
  { provider: 'orange', suffixes: ['orange.fr', 'wanadoo.fr'] },
  // Comcast/Xfinity: mx1a1.comcast.net, mx2c1.comcast.net (spa.xfinity.com/postmaster).
  { provider: 'comcast', suffixes: ['comcast.net'] },
  // Zoho: mx.zoho.com, mx2.zoho.com, smtpin.zoho.com (corpus), regional mx.zoho.eu/.in/.com.au/.jp.
  {
    provider: 'zoho',
    suffixes: ['zoho.com', 'zoho.eu', 'zoho.in', 'zoho.com.au', 'zoho.jp', 'zohomail.com'],
  },
  // Fastmail: in1-smtp.messagingengine.com, in2-smtp.messagingengine.com.
  { provider: 'fastmail', suffixes: ['messagingengine.com'] },
  // Mimecast: us-smtp-inbound-1.mimecast.com, service222.mimecast.com (corpus); KumoMTA adds
  // mimecast.co.za and mimecast-offshore.com.
  { provider: 'mimecast', suffixes: ['mimecast.com', 'mimecast.co.za', 'mimecast-offshore.com'] },
  // Proofpoint: mxa-0012ab01.gslb.pphosted.com (enterprise), mx1-us1.ppe-hosted.com (Essentials).
  { provider: 'proofpoint', suffixes: ['pphosted.com', 'ppe-hosted.com'] },
  // Barracuda Email Security Service: d123456.a.ess.barracudanetworks.com.
  { provider: 'barracuda', suffixes: ['barracudanetworks.com'] },
  // Cloudflare Email Routing: route1.mx.cloudflare.net (sisimai rhost "Cloudflare").
  { provider: 'cloudflare', suffixes: ['mx.cloudflare.net'] },
  // Yandex: mx.yandex.ru, mx.yandex.net.
  { provider: 'yandex', suffixes: ['yandex.ru', 'yandex.net'] },
  // Mail.ru: mxs.mail.ru, emx.mail.ru.
  { provider: 'mailru', suffixes: ['mail.ru'] },
  // Tencent QQ mail: mx1.qq.com, mx3.qq.com (corpus), mxbiz1.qq.com (sisimai rhost "Tencent").
  { provider: 'qq', suffixes: ['qq.com'] },
  // NetEase 163.com/126.com: 163mx00.mxmail.netease.com, 126mx00.mxmail.netease.com.
  { provider: 'netease', suffixes: ['netease.com', '163.com', '126.com'] },
  // Naver: mx1.naver.com.
  { provider: 'naver', suffixes: ['naver.com'] },
];

function normaliseHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, '');
}

/** `host` is `suffix` or ends with `.suffix`: "evil-google.com" is not under "google.com". */
function underSuffix(host: string, suffix: string): boolean {
  return host === suffix || host.endsWith(`.${suffix}`);
}

/** The provider of one MX host, or "other". */
export function providerOfHost(host: string): KnownProvider {
  const h = normaliseHost(host);
  if (h === '') return OTHER_PROVIDER;
  for (const entry of PROVIDER_MX_SUFFIXES) {
    if (entry.suffixes.some((s) => underSuffix(h, s))) return entry.provider;
  }
  return OTHER_PROVIDER;
}

/**
 * The provider of an MX set. Mixed sets are decided by majority of the distinct hosts; a tie
 * goes to a named provider over "other" (a domain with one Google MX and one backup MX of its
 * own is mostly delivered to by Google), then to the provider listed first in PROVIDERS.
 * The answer does not depend on the order of `mxHosts`: MX order among equal preferences is
 * random per lookup (RFC 5321 §5.1), and the site key (core/delivery/site.ts) is order-free too, so
 * one site always has one provider.
 */
export function detectProvider(mxHosts: readonly string[]): KnownProvider {
  const distinct = new Set(mxHosts.map(normaliseHost).filter((h) => h !== ''));
  const votes = new Map<KnownProvider, number>();
  for (const host of distinct) {
    const p = providerOfHost(host);
    votes.set(p, (votes.get(p) ?? 0) + 1);
  }
  let best: KnownProvider = OTHER_PROVIDER;
  let bestVotes = 0;
  // PROVIDERS lists "other" last, so on a tie the earlier (named) provider is kept.
  for (const p of PROVIDERS) {
    const v = votes.get(p) ?? 0;
    if (v > bestVotes) {
      best = p;
      bestVotes = v;
    }
  }
  return best;
}
