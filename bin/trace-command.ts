import { parseArgs } from 'node:util';
import type { SmtpTraceLine } from '../adapters/live-smtp-trace.js';
import type { Config } from '../config/schema.js';
import { nodeUrl, operatorToken } from './node-api.js';

const ARROW: Record<SmtpTraceLine['direction'], string> = { client: '>', server: '<', info: '*' };

/** One trace line as a person reads it: time, session, route, direction, the line itself. */
export function formatTraceLine(l: SmtpTraceLine): string {
  const time = new Date(l.atMs).toISOString().slice(11, 23);
  const who = l.tag ? ` ${l.tag.messageId.slice(0, 8)}` : '';
  return `${time} #${l.session} ${l.ip ?? 'default'} -> ${l.mxHost} [${l.mxAddress}]${who} ${ARROW[l.direction]} ${l.text}`;
}

/**
 * `posthorn trace [--domain D] [--ip A] [--tenant T] [--url URL] [--json]`: streams the SMTP
 * conversations of one node's matching deliveries as they happen, until interrupted.
 * Returns the exit code.
 */
export async function traceCommand(
  args: string[],
  config: Config,
  out: (text: string) => void,
  signal?: AbortSignal,
): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      domain: { type: 'string' },
      ip: { type: 'string' },
      tenant: { type: 'string' },
      url: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const token = operatorToken(config);
  if (!token) {
    process.stderr.write('posthorn trace needs the operator token: set POSTHORN_ADMIN_TOKEN\n');
    return 2;
  }
  const base = (values.url ?? nodeUrl(config)).replace(/\/+$/, '');
  const query = new URLSearchParams();
  for (const k of ['domain', 'ip', 'tenant'] as const) if (values[k]) query.set(k, values[k]);
  const res = await fetch(`${base}/admin/trace?${query}`, {
    headers: { authorization: `Bearer ${token}` },
    signal,
  });
  if (!res.ok || !res.body) {
    process.stderr.write(`posthorn trace: ${res.status} ${await res.text()}\n`);
    return 1;
  }
  let pending = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body) {
      pending += decoder.decode(chunk as Uint8Array, { stream: true });
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const text = pending.slice(0, nl).trim();
        pending = pending.slice(nl + 1);
        nl = pending.indexOf('\n');
        if (!text) continue;
        const record = JSON.parse(text) as SmtpTraceLine | { node: string; tracing: unknown };
        if (values.json) out(text);
        else if ('node' in record)
          out(`tracing SMTP on node ${record.node} ${JSON.stringify(record.tracing)}`);
        else out(formatTraceLine(record));
      }
    }
  } catch (err) {
    if (!signal?.aborted) throw err;
  }
  return 0;
}
