import { parseArgs } from 'node:util';
import type { Db } from '../adapters/postgres/db.js';
import { tenantLimitsStore } from '../adapters/postgres/tenant-limits.js';
import { utcDay, utcMonth } from '../core/limits/quota.js';

export const TENANTS_USAGE = `usage: posthorn tenants set NAME [--require-tls true|false] [--daily-quota N|unlimited|default]
         [--monthly-quota N|unlimited|default] [--ramp N|off] | tenants show NAME`;

/** A quota as stored: a number, -1 for unlimited, null for the node's default. */
type QuotaSetting = number | null;

export interface TenantLimitsChange {
  readonly dailyQuota?: QuotaSetting;
  readonly monthlyQuota?: QuotaSetting;
  /** The sending ramp's cap from today; null ends the ramp. */
  readonly rampCap?: number | null;
}

export type TenantsCommand =
  | {
      readonly action: 'set';
      readonly name: string;
      readonly requireTls?: boolean;
      readonly limits: TenantLimitsChange;
    }
  | { readonly action: 'show'; readonly name: string };

function quota(flag: string, v: string | undefined): QuotaSetting | undefined | string {
  if (v === undefined) return undefined;
  if (v === 'default') return null;
  if (v === 'unlimited') return -1;
  const n = Number(v);
  return Number.isSafeInteger(n) && n >= 0 ? n : `--${flag} must be a whole number, unlimited or default`;
}

/**
 * `posthorn tenants set NAME …` changes a tenant's settings: `--require-tls true|false`, its
 * delivery TLS policy (with require-TLS every delivery needs STARTTLS, any certificate;
 * MTA-STS enforce still checks it, and a receiver without it defers as tls_failure instead of
 * getting plaintext); `--daily-quota` and `--monthly-quota`, recipients per UTC day and month
 * (`unlimited`, or `default` for the node's POSTHORN_TENANT_*_QUOTA); `--ramp N|off`, the
 * sending ramp's daily cap from today, or off. `posthorn tenants show NAME` prints the
 * settings and what the quotas counted today and this month. Returns a usage message when the
 * arguments are wrong, so nothing is opened for a typo.
 */
export function parseTenantsArgs(args: string[]): TenantsCommand | string {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    return `${(err as Error).message}\n${TENANTS_USAGE}`;
  }
  const { values, positionals } = parsed;
  const [action, name, ...extra] = positionals;
  if (!name || extra.length > 0) return TENANTS_USAGE;
  if (action === 'show') return { action, name };
  if (action !== 'set') return TENANTS_USAGE;
  const flag = values['require-tls'];
  if (flag !== undefined && flag !== 'true' && flag !== 'false')
    return `--require-tls must be true or false\n${TENANTS_USAGE}`;
  const daily = quota('daily-quota', values['daily-quota']);
  const monthly = quota('monthly-quota', values['monthly-quota']);
  for (const q of [daily, monthly]) if (typeof q === 'string') return `${q}\n${TENANTS_USAGE}`;
  let rampCap: number | null | undefined;
  const ramp = values.ramp;
  if (ramp !== undefined) {
    rampCap = ramp === 'off' ? null : Number(ramp);
    if (rampCap !== null && !(Number.isSafeInteger(rampCap) && rampCap > 0))
      return `--ramp must be a whole number above 0 or off\n${TENANTS_USAGE}`;
  }
  const limits: TenantLimitsChange = {
    ...(daily === undefined ? {} : { dailyQuota: daily as QuotaSetting }),
    ...(monthly === undefined ? {} : { monthlyQuota: monthly as QuotaSetting }),
    ...(rampCap === undefined ? {} : { rampCap }),
  };
  if (flag === undefined && Object.keys(limits).length === 0) return TENANTS_USAGE;
  return { action, name, ...(flag === undefined ? {} : { requireTls: flag === 'true' }), limits };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      'require-tls': { type: 'string' },
      'daily-quota': { type: 'string' },
      'monthly-quota': { type: 'string' },
      ramp: { type: 'string' },
    },
  });
}

const shown = (q: number | null) => (q === null ? 'default' : q < 0 ? 'unlimited' : q);

/** Runs a parsed command; writes the tenant's settings as JSON. Exit code 1: no such tenant. */
export async function runTenantsCommand(
  command: TenantsCommand,
  db: Db,
  io: { stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream } = process,
): Promise<number> {
  if (command.action === 'set' && command.requireTls !== undefined)
    await db.query(`UPDATE tenants SET require_tls = $2 WHERE name = $1`, [command.name, command.requireTls]);
  const r = await db.query<{ id: string; name: string; requireTls: boolean }>(
    `SELECT id, name, require_tls AS "requireTls" FROM tenants WHERE name = $1`,
    [command.name],
  );
  const row = r.rows[0];
  if (!row) {
    io.stderr.write(`posthorn tenants: no tenant named ${command.name}\n`);
    return 1;
  }
  const limits = tenantLimitsStore(db);
  const now = Date.now();
  if (command.action === 'set' && Object.keys(command.limits).length > 0)
    await limits.set(command.name, command.limits, utcDay(now));
  const s = await limits.settings(row.id);
  const used = await limits.usage(row.id, utcDay(now), utcMonth(now));
  io.stdout.write(
    `${JSON.stringify({
      name: row.name,
      requireTls: row.requireTls,
      dailyQuota: shown(s?.dailyQuota ?? null),
      monthlyQuota: shown(s?.monthlyQuota ?? null),
      rampCap: s?.rampCap ?? null,
      usedToday: used.day,
      usedThisMonth: used.month,
    })}\n`,
  );
  return 0;
}
