import dns2 from 'dns2';

const { Packet } = dns2;
// RFC 1035 §4.1.1 response codes.
const RCODE_SERVFAIL = 2;
const RCODE_NXDOMAIN = 3;

/** What the test DNS server answers for one name. */
export interface ZoneEntry {
  mx?: { exchange: string; priority: number }[];
  a?: string[];
  aaaa?: string[];
  /** TXT records, each a list of character-strings of at most 255 octets (RFC 1035 §3.3.14). */
  txt?: string[][];
  /** Answer NXDOMAIN (RFC 1035 rcode 3) for every type. */
  nxdomain?: true;
  /** Answer SERVFAIL (rcode 2) for every type. */
  servfail?: true;
}

/** The zone entries of a domain whose one MX, `mx.<domain>`, has the address `ip`. */
export function mxZone(domain: string, ip: string): Record<string, ZoneEntry> {
  const exchange = `mx.${domain}`;
  return { [domain]: { mx: [{ exchange, priority: 10 }] }, [exchange]: { a: [ip] } };
}

export interface TestDnsServer {
  /** "127.0.0.1:port", the form POSTHORN_DNS_SERVERS takes. */
  readonly address: string;
  /** Number of questions asked so far. */
  queries(): number;
  /** Replace or add names while running. */
  set(name: string, entry: ZoneEntry): void;
  close(): Promise<void>;
}

/**
 * A real DNS server on loopback (UDP and TCP) serving the test zones. Unknown names are
 * NXDOMAIN; a known name without the asked type answers NOERROR with no records (NODATA).
 */
export async function startDnsServer(zones: Record<string, ZoneEntry>): Promise<TestDnsServer> {
  let asked = 0;
  const table = new Map(Object.entries(zones).map(([k, v]) => [k.toLowerCase(), v]));
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      asked++;
      const response = Packet.createResponseFromRequest(request);
      const q = request.questions[0];
      const entry = q ? table.get(q.name.toLowerCase().replace(/\.$/, '')) : undefined;
      if (!q || !entry || entry.nxdomain) {
        response.header.rcode = RCODE_NXDOMAIN;
      } else if (entry.servfail) {
        response.header.rcode = RCODE_SERVFAIL;
      } else {
        const add = (record: Record<string, unknown>) =>
          response.answers.push({
            name: q.name,
            class: Packet.CLASS.IN,
            ttl: 60,
            ...record,
          } as unknown as (typeof response.answers)[number]);
        if (q.type === Packet.TYPE.MX) {
          for (const mx of entry.mx ?? [])
            add({ type: Packet.TYPE.MX, exchange: mx.exchange, priority: mx.priority });
        } else if (q.type === Packet.TYPE.A) {
          for (const address of entry.a ?? []) add({ type: Packet.TYPE.A, address });
        } else if (q.type === Packet.TYPE.TXT) {
          for (const data of entry.txt ?? []) add({ type: Packet.TYPE.TXT, data });
        } else if (q.type === Packet.TYPE.AAAA) {
          for (const address of entry.aaaa ?? []) add({ type: Packet.TYPE.AAAA, address });
        }
      }
      send(response);
    },
  });
  // UDP only: every answer here fits in 512 octets, so resolvers never retry over TCP.
  const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
  const port = (addresses.udp as { port: number }).port;
  return {
    address: `127.0.0.1:${port}`,
    queries: () => asked,
    set: (name, entry) => table.set(name.toLowerCase(), entry),
    close: () => server.close(),
  };
}
