import { parseArgs } from 'node:util';
import type { Config } from '../config/schema.js';
import { nodeUrl, operatorToken } from './node-api.js';

interface EgressRow {
  ip: string | null;
  site: string;
  provider: string | null;
  queued: number;
  active: number;
  connections: number;
  maxConnections: number;
  concurrency: number;
  messageRate: string | null;
  currentMessageRate: string | null;
  congestionDecreases: number;
  lastCongestionAt: string | null;
}

interface LocalSuspensionRow {
  ip: string;
  provider: string;
  rule_id: string;
  since: string;
  until: string;
  reported_at: string | null;
}

interface EgressView {
  data: EgressRow[];
  local_suspensions?: LocalSuspensionRow[];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** One ready queue per line: load, connections against the adaptive and configured limits, rate. */
export function formatEgress(view: EgressView): string {
  const rows = [
    ['IP', 'PROVIDER', 'SITE', 'QUEUED', 'ACTIVE', 'CONN', 'LIMIT', 'RATE', 'DECREASES', 'LAST DECREASE'],
    ...view.data.map((q) => [
      q.ip ?? '(default)',
      q.provider ?? '-',
      q.site,
      String(q.queued),
      String(q.active),
      String(q.connections),
      // Adaptive / configured: "3/10" after rate-limit replies, "10/10" at the configured limit.
      `${q.concurrency}/${q.maxConnections}`,
      q.messageRate ? `${q.currentMessageRate} of ${q.messageRate}` : 'unlimited',
      String(q.congestionDecreases),
      q.lastCongestionAt ?? '-',
    ]),
  ];
  const out = [view.data.length > 0 ? table(rows) : 'no ready queues'];
  const suspended = view.local_suspensions ?? [];
  if (suspended.length > 0) {
    out.push(
      '',
      'suspended on this node (until the IP workflow confirms, extends or lifts):',
      table([
        ['IP', 'PROVIDER', 'RULE', 'SINCE', 'UNTIL', 'REPORTED'],
        ...suspended.map((s) => [s.ip, s.provider, s.rule_id, s.since, s.until, s.reported_at ?? 'not yet']),
      ]),
    );
  }
  return out.join('\n');
}

/**
 * `posthorn egress [--url URL] [--json]`: the running node's ready queues (GET /admin/egress),
 * with the connection limit and rate its AIMD controller allows now against the configured
 * ones, and the IP × provider suspensions the node made itself. The view lives in the node's
 * memory, so this asks the node over its API with the operator token.
 */
export async function egressCommand(args: string[], config: Config): Promise<string> {
  const { values } = parseArgs({
    args,
    options: { url: { type: 'string' }, json: { type: 'boolean', default: false } },
  });
  const token = operatorToken(config);
  if (!token) throw new Error('posthorn egress needs POSTHORN_ADMIN_TOKEN (the node’s operator token)');
  const base = (values.url ?? nodeUrl(config)).replace(/\/+$/, '');
  const res = await fetch(`${base}/admin/egress`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`GET ${base}/admin/egress: ${res.status} ${await res.text()}`);
  const view = (await res.json()) as EgressView;
  return values.json ? JSON.stringify(view, null, 2) : formatEgress(view);
}
