/**
 * Classification of resolved IP addresses for the egress guard: Posthorn must never be
 * made to connect to itself or its network because someone published a DNS record that
 * points there (an MX at 127.0.0.1, an `mta-sts.<domain>` at 169.254.169.254, …).
 * Ranges from the IANA special-purpose registries (RFC 6890, RFC 8190), RFC 1918,
 * RFC 6598, RFC 3927, RFC 4193, RFC 4291. Input is a resolved address in textual form;
 * hostnames and legacy forms such as `0x7f000001` are `invalid`.
 */

export type IpClass =
  /** Globally routable unicast: the only class the egress guard lets through. */
  | 'public'
  | 'loopback'
  /** RFC 1918, RFC 6598 shared (CGNAT), RFC 4193 unique-local, deprecated site-local. */
  | 'private'
  | 'link_local'
  | 'unspecified'
  | 'multicast'
  /** Documentation, benchmarking, broadcast, "this network", reserved for future use, … */
  | 'reserved'
  | 'invalid';

export interface ParsedIp {
  readonly version: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6. */
  readonly bytes: readonly number[];
}

export function parseIpv4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    // Decimal only, no leading zeros (which some parsers read as octal).
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

export function parseIpv6(input: string): number[] | null {
  // A zone id (fe80::1%eth0) names an interface, not part of the address.
  const text = input.split('%')[0]!;
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === '') return [];
    const groups = part.split(':');
    const out: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseIpv4(g);
        if (!v4) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        out.push(Number.parseInt(g, 16));
      }
    }
    return out;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return null;
  let groups: number[];
  if (halves.length === 2) {
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return null;
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

export function parseIp(text: string): ParsedIp | null {
  const v4 = parseIpv4(text);
  if (v4) return { version: 4, bytes: v4 };
  const v6 = text.includes(':') ? parseIpv6(text) : null;
  return v6 ? { version: 6, bytes: v6 } : null;
}

function classifyV4(b: readonly number[]): IpClass {
  const [a, c] = [b[0]!, b[1]!];
  if (a === 0) return b.every((x) => x === 0) ? 'unspecified' : 'reserved'; // 0/8 "this network"
  if (a === 127) return 'loopback';
  if (a === 10) return 'private';
  if (a === 172 && c >= 16 && c <= 31) return 'private';
  if (a === 192 && c === 168) return 'private';
  if (a === 100 && c >= 64 && c <= 127) return 'private'; // RFC 6598 shared address space
  if (a === 169 && c === 254) return 'link_local'; // RFC 3927, cloud metadata lives here
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return 'reserved'; // 240/4 and 255.255.255.255
  if (a === 192 && c === 0 && b[2] === 0) return 'reserved'; // 192.0.0/24 IETF assignments
  if (a === 192 && c === 0 && b[2] === 2) return 'reserved'; // TEST-NET-1
  if (a === 198 && c === 51 && b[2] === 100) return 'reserved'; // TEST-NET-2
  if (a === 203 && c === 0 && b[2] === 113) return 'reserved'; // TEST-NET-3
  if (a === 198 && (c === 18 || c === 19)) return 'reserved'; // RFC 2544 benchmarking
  return 'public';
}

function classifyV6(b: readonly number[]): IpClass {
  const zeroUpTo = (n: number) => b.slice(0, n).every((x) => x === 0);
  if (zeroUpTo(16)) return 'unspecified';
  if (zeroUpTo(15) && b[15] === 1) return 'loopback';
  // ::ffff:a.b.c.d (IPv4-mapped) reaches the IPv4 address on dual-stack sockets.
  if (zeroUpTo(10) && b[10] === 0xff && b[11] === 0xff) return classifyV4(b.slice(12));
  // 64:ff9b::/96 (RFC 6052 NAT64) and 2002::/16 (6to4) embed an IPv4 address that the
  // translator would reach on our behalf.
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && b.slice(4, 12).every((x) => x === 0)) {
    return classifyV4(b.slice(12));
  }
  if (b[0] === 0x20 && b[1] === 0x02) return classifyV4(b.slice(2, 6));
  if (zeroUpTo(12)) return 'reserved'; // deprecated IPv4-compatible ::a.b.c.d
  if (b[0] === 0xff) return 'multicast';
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80) return 'link_local'; // fe80::/10
  if (b[0] === 0xfe && (b[1]! & 0xc0) === 0xc0) return 'private'; // fec0::/10 site-local (deprecated)
  if ((b[0]! & 0xfe) === 0xfc) return 'private'; // fc00::/7 unique local
  if (b[0] === 0x20 && b[1] === 0x01 && b[2] === 0x0d && b[3] === 0xb8) return 'reserved'; // 2001:db8::/32 docs
  // 100::/64 discard-only (RFC 6666).
  if (b[0] === 0x01 && b[1] === 0x00 && b.slice(2, 8).every((x) => x === 0)) return 'reserved';
  // Only 2000::/3 is allocated global unicast; anything else is reserved.
  if ((b[0]! & 0xe0) !== 0x20) return 'reserved';
  return 'public';
}

export function classifyIp(address: string): IpClass {
  const ip = parseIp(address.trim());
  if (!ip) return 'invalid';
  return ip.version === 4 ? classifyV4(ip.bytes) : classifyV6(ip.bytes);
}

/** True only for globally routable unicast addresses. */
export function isPublicIp(address: string): boolean {
  return classifyIp(address) === 'public';
}
